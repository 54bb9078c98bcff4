"""Public review finding 8 in the API and the CLI (the portal: tests/e2e/test_portal_standing.py): a shop's DSR
is compared with its category only from `trade.dsr_min_ratings` (5) ratings; below it the view says so."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from tests.e2e.cli import run
from tests.e2e.standing_feed import P1, standing_lines

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services.ingest import ingest, read_lines


def test_the_api_withholds_the_comparison_of_two_ratings(app: Chengxin) -> None:
    assert ingest(app, read_lines("standing", standing_lines()), origin="standing").rejected == 0
    with TestClient(create_app(app)) as client:
        few = client.get("/v1/parties/S2", params={"source": P1}).json()["dsr"]  # two ratings
        enough = client.get("/v1/parties/S1", params={"source": P1}).json()["dsr"]  # five
    assert few["count"] == 2 and few["compared"] is False and few["min_ratings"] == 5
    assert few["note"] == {"zh": "评分仅2条，少于5条，不与同类比较（仅供参考）",
                           "en": "only 2 rating(s), fewer than 5: not compared with the category"}
    assert enough["count"] == 5 and enough["compared"] is True and "note" not in enough


def test_the_cli_gives_the_same_view(env: dict[str, str], tmp_path: Path) -> None:
    feed = tmp_path / "standing.jsonl"
    feed.write_bytes(b"\n".join(standing_lines()) + b"\n")
    run(env, "ingest", str(feed))
    dsr = json.loads(run(env, "party", "show", "S2", "--source", P1, "--json").stdout)["dsr"]
    assert dsr["compared"] is False and dsr["note"]["en"].startswith("only 2 rating(s)")
