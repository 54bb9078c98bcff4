"""`chengxin settle` finishes review actions a crash left half done (found by review): a confirmation
interrupted before its order verdicts, an overturn interrupted before its orders were given back."""

from __future__ import annotations

from tests.e2e.cli import run
from tests.integration.test_reliability_unfinished import interrupted_confirmation, interrupted_overturn, verdict

from chengxin.services import review
from chengxin.services.viewer import Viewer


def test_settle_finishes_interrupted_review_actions(sample_app, env, monkeypatch):
    item = interrupted_confirmation(sample_app, monkeypatch)
    interrupted_overturn(sample_app, monkeypatch)
    run(env, "settle")
    assert verdict(sample_app, "O2") == "fake" and verdict(sample_app, "O1") == "genuine"
    assert review.get_item(sample_app, item, Viewer("regulator", key_id="k"))["decision"]["verdicts_at"]



def test_settle_after_a_deferred_load_scores_everyone_and_then_has_nothing_to_do(env):
    """After `ingest --defer` nobody is scored: settle scores them and says so; settling again does nothing."""
    import json

    from tests.conftest import SAMPLE

    run(env, "ingest", str(SAMPLE), "--defer")
    first = json.loads(run(env, "settle", "--json").stdout)
    assert first["parties_scored"] + first["unscored_scored"] > 0
    assert "scored 0 parties" in run(env, "settle").stderr
    again = json.loads(run(env, "settle", "--json").stdout)
    assert (again["parties_scored"], again["unscored_scored"]) == (0, 0)
