"""Review records on the public portal (no JavaScript): a confirmed finding is on the shop's credit file with its
evidence in brief, the reason and who decided, in zh and en; a suspicion awaiting review is nowhere public."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings
from chengxin.bootstrap import Chengxin
from chengxin.domain.quality import Finding
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web import i18n
from chengxin.entrypoints.web.present import shop_href
from chengxin.services import review
from chengxin.services.viewer import Viewer

P1 = "urn:cx:platform:P1"
S1, S2 = shop_href(P1, "S1"), shop_href(P1, "S2")
REASON = "40 g parcel for a 650 g gift box, no transit scan"


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory,
             portal_factory: Callable[..., Chengxin]) -> Iterator[tuple[TestClient, Chengxin]]:
    """The sample with two findings queued: an empty parcel of S1's order O1 (confirmed by P1) and a ring at
    S2 (still open)."""
    tmp: Path = tmp_path_factory.mktemp("portal-review")
    cx = portal_factory(tmp)
    found = (Finding("empty_parcel", 0.96, {"orders": ((P1, "O1"),)},
                     {"level": "order", "tells": {"light": {"weight_g": 40}, "no_transit": {"hours": 2}}}),
             Finding("fake_order_ring", 0.7, {"parties": ((P1, "S2"), (P1, "U2")), "orders": ((P1, "O2"),)},
                     {"density": 3.5}))
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, found, detector="portal", run_id="detect-portal")
    review.publish(cx)
    review.decide(cx, 1, "confirm", Viewer("platform", P1, "k"), REASON, "平台规则 4.2")
    with TestClient(create_app(cx)) as client:
        yield client, cx
    cx.engine.dispose()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def record_index(cx: Chengxin, kind: str) -> int:
    with read_connection(cx.engine) as conn:
        return int(conn.execute(select(t.credit_records.c.idx).where(t.credit_records.c.kind == kind)).scalars()
                   .first())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_confirmed_finding_is_on_the_shops_public_file(reviewed: tuple[TestClient, Chengxin], lang: str) -> None:
    client, _ = reviewed
    response = client.get(S1 + f"&lang={lang}")
    assert response.status_code == 200
    html, m = response.text, i18n.MESSAGES[lang]
    assert 'data-record-kind="confirmed"' in html and 'data-record-kind="points_retracted"' in html
    text = text_of(html)
    assert m["record.confirmed"] in text and m["rec.confirmed_note"] in text
    # the basis in the page's language (vocab/statutes.yaml), the reporting platform by its registered name
    assert REASON in text and ("平台规则 4.2" if lang == "zh" else "platform rules 4.2") in text
    assert "示例电商平台有限公司" in text and P1 not in text
    assert m["finding.empty_parcel"] in text and m["tell.light"] in text and m["tell.no_transit"] in text
    assert "0.96" in text
    assert m["record.suspected"] not in text  # the suspicion itself stays internal


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_suspicion_awaiting_review_is_not_public(reviewed: tuple[TestClient, Chengxin], lang: str) -> None:
    client, _ = reviewed
    html = client.get(S2 + f"&lang={lang}").text
    assert 'data-record-kind="suspected"' not in html and 'data-testid="confirmed-note"' not in html
    assert i18n.MESSAGES[lang]["record.suspected"] not in text_of(html)


def test_record_pages_prove_the_confirmation_and_hide_the_suspicion(reviewed: tuple[TestClient, Chengxin]) -> None:
    client, cx = reviewed
    confirmed = client.get(f"/records/{record_index(cx, 'confirmed')}?lang=en")
    assert confirmed.status_code == 200 and "dishonesty confirmed on review" in confirmed.text
    assert client.get(f"/records/{record_index(cx, 'suspected')}").status_code == 404


def test_every_review_record_kind_has_a_label_and_sentence_in_both_languages() -> None:
    for lang in i18n.LANGS:
        for kind in ("suspected", "confirmed", "dismissed"):
            assert f"record.{kind}" in i18n.MESSAGES[lang] and f"desc.{kind}" in i18n.MESSAGES[lang]
