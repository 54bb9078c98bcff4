"""The command line as a user runs it: a real `chengxin` process on a fresh store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLE, SAMPLE_BAD, shared_path
from tests.e2e.cli import CLI, run


def test_ingest_json_rejects_file_and_rerun(env, tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    out = json.loads(run(env, "ingest", str(SAMPLE_BAD), "--rejects", str(rejects), "--json").stdout)
    assert (out["accepted"], out["rejected"]) == (12, 10)
    lines = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [x["line"] for x in lines] == [2, 4, 6, 9, 11, 13, 15, 17, 19, 21]
    again = json.loads(run(env, "ingest", str(SAMPLE_BAD), "--json").stdout)
    assert (again["accepted"], again["duplicates"]) == (0, 12)


def test_ingest_from_stdin(env):
    done = subprocess.run([CLI, "ingest", "-", "--json"], env=env, input=SAMPLE.read_text(encoding="utf-8"),
                          capture_output=True, text=True, timeout=120)
    assert json.loads(done.stdout)["accepted"] == 48


def test_party_show_and_audit(env):
    run(env, "ingest", str(SAMPLE))
    shop = json.loads(run(env, "party", "show", "S2", "--source", "urn:cx:platform:P1", "--json").stdout)
    assert shop["entity"] == "shop" and shop["flags"] == ["licence_missing"]
    text = run(env, "party", "show", "U1", "--source", "urn:cx:platform:P1").stderr
    assert "31010419900307123X" not in text
    person = json.loads(run(env, "party", "show", "U1", "--source", "urn:cx:platform:P1", "--public", "--json")
                        .stdout)
    assert person["name"] == "张*" and person["credit_records"] == []
    audit = json.loads(run(env, "audit", "verify", "--json").stdout)
    assert audit["ok"] is True and audit["records"] == 25


def test_errors_have_exit_codes(env):
    missing = run(env, "party", "show", "NOPE", "--source", "urn:cx:platform:P1", check=False)
    assert missing.returncode == 66 and "NOPE" in missing.stderr and "Traceback" not in missing.stderr
    bad_key = run(env, "keys", "create", "--role", "platform", "--label", "x", check=False)
    assert bad_key.returncode == 65 and "source" in bad_key.stderr
    # a regulator key is bound to an authority's source, never a platform's (it forged P1's events: found by review)
    sourced = run(env, "keys", "create", "--role", "regulator", "--label", "x", "--source", "urn:cx:platform:P1",
                  check=False)
    assert sourced.returncode == 65 and "an authority's source" in sourced.stderr
    posing = run(env, "keys", "create", "--role", "platform", "--label", "x", "--source", "urn:cx:regulator:310000",
                 check=False)  # a platform key reporting as a regulator would void `only_from`
    assert posing.returncode == 65 and "cannot report as a regulator" in posing.stderr
    piped = run(env, "keys", "create", "--role", "platform", "--label", "x", "--source", "urn:cx:platform:P|1",
                check=False)  # every event it sent would be refused: a source is a URI, which has no "|"
    assert piped.returncode == 65 and "source: '|' at position 18" in piped.stderr


def test_keys_list_as_a_table_or_json_never_with_secrets(env):
    made = run(env, "keys", "create", "--role", "platform", "--label", "shop team", "--source", "urn:cx:platform:P1")
    secret = made.stdout.strip().split()[-1]
    listed = json.loads(run(env, "keys", "list", "--json").stdout)
    assert [(k["role"], k["label"]) for k in listed] == [("platform", "shop team")]
    table = run(env, "keys", "list")  # it printed JSON whether asked or not
    assert table.stdout == "" and "shop team" in table.stderr and "platform" in table.stderr
    assert secret not in table.stderr + json.dumps(listed)



def test_ordinary_mistakes_are_one_line_and_an_exit_code_not_a_traceback(env, tmp_path):
    """A missing file, a policy file that is not YAML, a setting out of range, an unreachable or unmigrated
    database: each ended in a traceback and exit 1, the exit code of a credit log that does not verify
    (found by review)."""
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("a: [\n")
    cases = [
        ((env, "ingest", str(SAMPLE), str(tmp_path / "missing.jsonl")), 65, "missing.jsonl: no such file"),
        ((env, "ingest", str(SAMPLE), "--rejects", str(tmp_path / "no" / "r.jsonl")), 65, "no folder"),
        ((env, "policy", "check", str(tmp_path / "nope.yaml")), 65, "nope.yaml"),
        ((env, "policy", "check", str(bad_yaml)), 65, "not YAML"),
        (({**env, "CHENGXIN_BATCH_SIZE": "0"}, "audit", "verify"), 78, "CHENGXIN_BATCH_SIZE"),
        (({**env, "CHENGXIN_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"}, "audit", "verify"),
         69, "the database cannot be used"),
        (({**env, "CHENGXIN_AUTO_MIGRATE": "false", "CHENGXIN_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"},
          "audit", "verify"), 78, "chengxin db upgrade"),
    ]
    for (e, *argv), code, text in cases:
        done = run(e, *argv, check=False)
        assert (done.returncode, "Traceback" in done.stderr) == (code, False), (argv, done.stderr[-500:])
        assert text in " ".join(done.stderr.split()), (argv, done.stderr)
    # nothing was stored by the refused loads: the first file of a list with a missing one waits for the fix
    assert json.loads(run(env, "audit", "verify", "--json").stdout)["records"] == 0

def test_a_number_too_large_is_a_usage_error_not_a_traceback(env):
    """Beyond the store's integers, `records show 99999999999999999999999` (and --limit, --before, --after) ended
    in an OverflowError traceback and exit 1, the code of a log that does not verify (found by review)."""
    from chengxin.exc import InvalidInput, from_foreign

    run(env, "ingest", str(SAMPLE))
    big = "99999999999999999999999"
    for argv in (("records", "show", big), ("party", "show", "M1", "--source", "urn:cx:platform:P1", "--before", big),
                 ("review", "list", "--after", big), ("lists", "show", "black", "--limit", big),
                 ("measures", "feed", "--limit", big)):
        done = run(env, *argv, "--json", check=False)
        assert (done.returncode, "Traceback" in done.stderr, done.stdout) == (2, False, ""), (argv, done.stderr)
    assert isinstance(from_foreign(OverflowError("Python int too large to convert to SQLite INTEGER")),
                      InvalidInput)


def test_production_mode_refuses_missing_keys(env):
    done = run({**env, "CHENGXIN_ENV": "production"}, "audit", "verify", check=False)
    assert done.returncode == 78 and "CHENGXIN_PII_KEY" in done.stderr


def _audit_after_editing_record_5(env, settings, payload: str):
    """Ingest the sample, set record 5's payload to `payload` behind the node's back, run `audit verify --json`."""
    from sqlalchemy import create_engine, text

    run(env, "ingest", str(SAMPLE))
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE credit_records SET payload = :p WHERE idx = 5"), {"p": payload})
    engine.dispose()
    return run(env, "audit", "verify", "--json", check=False)


def test_audit_exits_nonzero_naming_the_first_bad_record(env, settings):
    done = _audit_after_editing_record_5(env, settings, "{}")
    assert done.returncode == 1
    assert json.loads(done.stdout)["first_bad"]["index"] == 5


def test_audit_reports_a_payload_that_is_not_json_and_does_not_crash(env, settings):
    """`audit verify --json` printed a traceback, not JSON, for a payload that is not JSON (found by review)."""
    done = _audit_after_editing_record_5(env, settings, "x")
    assert (done.returncode, "Traceback" in done.stderr) == (1, False), done.stderr[-500:]
    report = json.loads(done.stdout)
    assert report["ok"] is False and report["first_bad"] == {**report["first_bad"], "index": 5, "problem": "altered"}


def test_audit_holds_the_log_to_a_checkpoint_saved_from_the_api(env, settings, app, tmp_path):
    """A tail cut off cleanly at a signed head verifies on its own; not against the head an auditor saved."""
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text

    from chengxin.entrypoints.api.app import create_app

    run(env, "ingest", str(SAMPLE))
    with TestClient(create_app(app)) as client:
        saved = tmp_path / "head.json"
        saved.write_text(client.get("/v1/log/head").text)
    ok = json.loads(run(env, "audit", "verify", "--checkpoint", str(saved), "--json").stdout)
    assert ok["ok"] is True and ok["records"] == 25
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        m = conn.execute(text("SELECT min(size) FROM tree_heads")).scalar_one()
        conn.execute(text("DELETE FROM credit_records WHERE idx >= :m"), {"m": m})
        conn.execute(text("DELETE FROM tree_heads WHERE size > :m"), {"m": m})
        for level in range(6):
            conn.execute(text("DELETE FROM merkle_nodes WHERE level = :l AND idx >= :i"), {"l": level, "i": m >> level})
        conn.execute(text("UPDATE log_state SET size = :m"), {"m": m})
        # what the cut records stated goes too (kept, the audit names it: the log no longer says it)
        for table in ("record_transitions", "list_memberships", "dishonesty_records"):
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    run(env, "audit", "verify")
    done = run(env, "audit", "verify", "--checkpoint", str(saved), "--json", check=False)
    assert done.returncode == 1
    assert json.loads(done.stdout)["first_bad"] == {**json.loads(done.stdout)["first_bad"], "index": m,
                                                    "problem": "truncated"}
    saved.write_text(saved.read_text().replace('"size":25', '"size":26'))
    forged = run(env, "audit", "verify", "--checkpoint", str(saved), check=False)
    assert forged.returncode == 65 and "signature does not verify" in forged.stderr


def test_the_shared_contract_checker_passes():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(shared_path("tools", "check-contract"))], cwd=root,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout
    assert "0 failed" in done.stdout


def test_two_loads_creating_one_new_store_at_once_both_land(env, tmp_path):
    """The second of two `chengxin ingest` starting on a store not made yet failed "database is locked" while
    the first made the schema (found by review). Each now waits its turn; both use the one keys file made."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    halves = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    halves[0].write_text("\n".join(lines[:24]) + "\n", encoding="utf-8")
    halves[1].write_text("\n".join(lines[24:]) + "\n", encoding="utf-8")
    fresh = {**env, "CHENGXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'new' / 'store.db'}",
             "CHENGXIN_KEYS_FILE": str(tmp_path / "keys.json")}
    procs = [subprocess.Popen([CLI, "ingest", str(h), "--json"], env=fresh, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for h in halves]
    done = [(p.wait(timeout=120), p.stdout.read() if p.stdout else "", p.stderr.read() if p.stderr else "")
            for p in procs]
    assert [code for code, _, _ in done] == [0, 0], [err[-400:] for _, _, err in done]
    assert sum(json.loads(out)["accepted"] for _, out, _ in done) == len(lines)
    assert json.loads(run(fresh, "audit", "verify", "--json").stdout)["ok"]
