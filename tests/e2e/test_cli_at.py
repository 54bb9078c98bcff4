"""`--at` (lists evaluate, records file, records decide) acts as of a time past or now, never ahead: a future
one recorded transitions, decisions and list entries dated ahead that took effect at once (a repair granted
"a year from now" took the party off the black list that day: found by review). Refused as a usage error (exit
2), beyond a clock skew of a few minutes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.e2e.cli import run


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S")


def _records(env) -> int:
    return int(json.loads(run(env, "audit", "verify", "--json").stdout)["records"])


def test_a_future_at_is_refused(sample_app, env):
    before = _records(env)
    for command in (["lists", "evaluate"], ["records", "file", "1", "--kind", "appeal", "--grounds", "g"],
                    ["records", "decide", "1", "--decision", "uphold", "--reason", "r"]):
        ahead = run(env, *command, "--at", _at(timedelta(days=1)), check=False)
        assert ahead.returncode == 2, (command, ahead.stderr)
        assert "--at" in ahead.stderr and "in the future" in ahead.stderr, ahead.stderr
    assert _records(env) == before  # nothing was recorded


def test_now_or_a_time_past_is_taken(sample_app, env):
    done = json.loads(run(env, "lists", "evaluate", "--at", _at(timedelta(minutes=2)), "--json").stdout)
    assert done["parties"] > 0  # a clock a little behind this one's: taken too


def test_lists_evaluate_never_goes_back_before_the_newest_list_change(sample_app, env):
    """Evaluated as of a time past, moves were applied to today's memberships: ten minutes back took parties
    off lists their records in force kept them on (found by review). The sample's load moved M1 just now."""
    back = run(env, "lists", "evaluate", "--at", _at(timedelta(days=-30)), "--json", check=False)
    assert back.returncode == 65 and "never back" in back.stderr and back.stdout == ""
