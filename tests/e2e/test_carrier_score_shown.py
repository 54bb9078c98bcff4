"""A logistics firm's complaints are shown over the parcels it carried, the same in `chengxin party show --json`,
the API and the portal (both databases): the sample's carrier LG carried two parcels (SH1, SH2)."""

from __future__ import annotations

import json
import re
from html import unescape

from fastapi.testclient import TestClient
from tests.conftest import SAMPLE, ingest_file, ingest_text
from tests.e2e.cli import run

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web.present import party_href

P1 = "urn:cx:platform:P1"
UPHELD = "\n".join(json.dumps({"specversion": "1.0", "id": f"lg-{i}", "source": P1, "type": typ,
                               "time": f"2026-03-0{i}T10:00:00+08:00", "data": data}, ensure_ascii=False)
                   for i, typ, data in (
                       (1, "cx.complaint.filed", {"complaint_id": "K-LG", "channel": "platform", "target_id": "LG",
                                                  "category": "delivery", "text": "包裹破损"}),
                       (2, "cx.complaint.resolved", {"complaint_id": "K-LG", "outcome": "upheld",
                                                     "resolved_by": "PLAT"})))


def _complaints(view: dict) -> dict:
    return next(d for d in view["credit"]["dimensions"] if d["dimension"] == "complaints")


def test_a_carriers_complaints_are_shown_over_its_parcels_everywhere(app: Chengxin, env: dict[str, str]) -> None:
    assert ingest_file(app, SAMPLE).rejected == 0
    assert ingest_text(app, UPHELD).rejected == 0
    cli = _complaints(json.loads(run(env, "party", "show", "LG", "--source", P1, "--json").stdout))
    assert cli["facts"]["carried"] == 2 and cli["value"] == 0.0  # one upheld of two parcels
    assert cli["en"] == "1 complaint, 1 upheld over 2 parcels carried (upheld rate 50.00%)"
    assert cli["zh"] == "承运包裹2件，被投诉1件，成立1件（成立率50.00%）"
    with TestClient(create_app(app)) as client:
        response = client.get(f"/v1/parties/LG?source={P1}")
        assert response.status_code == 200, response.text
        assert _complaints(response.json()) == cli
        for lang, sentence in (("zh", cli["zh"]), ("en", cli["en"])):
            page = client.get(party_href(P1, "LG") + f"&lang={lang}")
            assert page.status_code == 200, page.text
            assert sentence in re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page.text))), lang
