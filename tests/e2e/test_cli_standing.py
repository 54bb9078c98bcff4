"""`chengxin party show` in human form: points and level, positive rate, grade, score and reasons."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cli import run
from tests.e2e.standing_feed import P1, standing_lines


def test_party_show_prints_standing_and_grade(env: dict[str, str], tmp_path: Path) -> None:
    feed = tmp_path / "standing.jsonl"
    feed.write_bytes(b"\n".join(standing_lines()) + b"\n")
    run(env, "ingest", str(feed))
    shop = run(env, "party", "show", "S1", "--source", P1).stderr
    assert "credit points: 5 (level: 1 heart, next level at 11)" in shop
    assert "positive rate: 100.00% over 180 days" in shop
    assert "credit grade: " in shop and "/1000" in shop and "reason NEW_PARTY: known for less than 90 days" in shop
    assert "trade: " in shop and "tenure: " in shop
    person = run(env, "party", "show", "U2", "--source", P1, "--public").stderr
    assert "credit points" not in person and "credit grade" not in person
