"""`chengxin log rotate-key` as an operator runs it: the new key's environment line on stdout, the node then
audits and serves with the new key only (the old one refused, exit 78, naming its retirement), and a chain
tampered with is named by `audit verify` (exit 1)."""

from __future__ import annotations

import base64
import json
import os

from sqlalchemy import create_engine, update
from tests.conftest import SAMPLE
from tests.e2e.cli import run

from chengxin.adapters.db.signing_key_tables import signing_keys


def env_line(stdout: str) -> str:
    line = stdout.strip().splitlines()[-1]
    assert line.startswith("CHENGXIN_SIGNING_KEY=")
    return line.removeprefix("CHENGXIN_SIGNING_KEY=")


def test_rotate_then_only_the_new_key_runs_the_node(env):
    old = base64.b64encode(os.urandom(32)).decode()
    node = {**env, "CHENGXIN_SIGNING_KEY": old}  # as in production: the key set in the environment
    run(node, "ingest", str(SAMPLE))
    done = run(node, "log", "rotate-key")
    new = env_line(done.stdout)
    assert "handed from key" in done.stderr and base64.b64decode(new) != base64.b64decode(old)
    rotated = {**node, "CHENGXIN_SIGNING_KEY": new}
    report = json.loads(run(rotated, "audit", "verify", "--json").stdout)
    assert report["ok"] and report["tree_heads"] >= 2
    chain = json.loads(run(rotated, "log", "keys", "--json").stdout)
    assert len(chain["keys"]) == 2 and chain["keys"][1]["rotation"]["log_index"] == 25
    for command in (("audit", "verify"), ("serve", "--workers", "1", "--port", "0", "--no-scorer"),
                    ("log", "rotate-key")):
        refused = run(node, *command, check=False)
        said = " ".join(refused.stderr.split())
        assert refused.returncode == 78 and "was retired" in said and chain["current_key_id"] in said, said


def test_a_given_new_key_and_the_demo_key_file(env, tmp_path):
    run(env, "ingest", str(SAMPLE))
    given = base64.b64encode(os.urandom(32)).decode()
    (tmp_path / "new.key").write_text(f"CHENGXIN_SIGNING_KEY={given}\n")
    done = json.loads(run(env, "log", "rotate-key", "--new-key-file", str(tmp_path / "new.key"), "--json").stdout)
    assert done["env"] == f"CHENGXIN_SIGNING_KEY={given}" and done["demo_key_file_updated"]
    assert json.loads(run(env, "audit", "verify", "--json").stdout)["ok"]  # the demo key file holds the new key
    again = run(env, "log", "rotate-key", "--new-key-file", str(tmp_path / "new.key"), check=False)
    assert again.returncode == 65 and "has signed this log already" in again.stderr


def test_a_broken_endorsement_fails_the_audit(env, settings):
    run(env, "ingest", str(SAMPLE))
    new = json.loads(run(env, "log", "rotate-key", "--json").stdout)["new_key_id"]
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(update(signing_keys).where(signing_keys.c.key_id == new).values(endorsement=os.urandom(64)))
    engine.dispose()
    audited = run(env, "audit", "verify", "--json", check=False)
    bad = json.loads(audited.stdout)["first_bad"]
    assert audited.returncode == 1 and (bad["index"], bad["problem"]) == (25, "endorsement"), bad
