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
    assert "credit grade: " in shop and "/1000" in shop and "reason NEW_PARTY" not in shop  # licensed 2020
    assert "in business for" in shop and "since its business licence" in shop
    assert "trade: " in shop and "tenure: " in shop
    person = run(env, "party", "show", "U2", "--source", P1, "--public").stderr
    assert "credit points" not in person and "credit grade" not in person


def _standing(env: dict[str, str], entity: str) -> dict[str, object]:
    import json

    view = json.loads(run(env, "party", "show", entity, "--source", P1, "--json").stdout)
    return {k: view.get(k) for k in ("points", "level", "positive_rate", "score", "grade", "reasons")}


def test_deferred_ingest_is_settled_later_to_the_same_standing(env: dict[str, str], tmp_path: Path) -> None:
    import json

    feed = tmp_path / "standing.jsonl"
    feed.write_bytes(b"\n".join(standing_lines()) + b"\n")
    loaded = json.loads(run(env, "ingest", str(feed), "--defer", "--json").stdout)
    assert loaded["accepted"] == len(standing_lines())
    deferred = _standing(env, "S1")
    assert deferred["score"] is None and deferred["grade"] is None  # queued, not yet drawn
    done = json.loads(run(env, "settle", "--json").stdout)
    assert done["parties_scored"] > 0 and done["ratings_pairs"] > 0
    settled = _standing(env, "S1")
    assert settled["points"] == 5 and settled["grade"] is not None
    again = json.loads(run(env, "settle", "--json").stdout)  # nothing left queued: a no-op
    assert again["parties_scored"] == 0 and again["lists_evaluated"] == 0
    assert _standing(env, "S1") == settled
    # the same feed loaded the usual way into a fresh store gives the same standing
    fresh = {**env, "CHENGXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    run(fresh, "ingest", str(feed))
    assert _standing(fresh, "S1") == settled


def test_party_show_of_a_merchant_gives_its_shops_positive_rate_and_dsr(env: dict[str, str], tmp_path: Path) -> None:
    """`party show M1 --json` had points and level but no positive_rate or dsr: only a shop's view had them
    (found by review). A merchant's are its shops' together, as its points are."""
    import json

    feed = tmp_path / "standing.jsonl"
    feed.write_bytes(b"\n".join(standing_lines()) + b"\n")
    run(env, "ingest", str(feed))

    def view(entity: str) -> dict:
        return json.loads(run(env, "party", "show", entity, "--source", P1, "--json").stdout)

    shop, merchant = view("S1"), view("M1")
    for key in ("points", "positive_rate"):
        assert merchant[key] == shop[key], key
    assert merchant["dsr"] == shop["dsr"] and merchant["dsr"]["window_days"] == 180
    assert merchant["positive_rate"]["positive"] == 5
