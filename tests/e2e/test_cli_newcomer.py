"""What a newcomer met first (found by review): a repository that did not stand alone without ../shared, and
the `chengxin` command as a newcomer runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from tests.conftest import SAMPLE, SAMPLE_BAD, SHARED, SPEC, VECTORS
from tests.e2e.cli import run

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "spec").glob("*.md"))]


# --- the repository stands alone -------------------------------------------------------------------------------
def test_the_tests_inputs_are_in_the_repository():
    """The sample files and the Merkle vectors lay in ../shared: a clone elsewhere failed `make test`."""
    for path in (SAMPLE, SAMPLE_BAD, SPEC / "sample-v1-bad.expected.json", SPEC / "events-v1.md"):
        assert path.is_file() and path.is_relative_to(ROOT), path
    assert VECTORS.is_relative_to(ROOT) and len(list(VECTORS.rglob("*.json"))) > 100


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_local_link_of_the_docs_is_a_file_of_the_repository(doc: Path):
    """README's events-v1 link and docs/ingestion.md's pointed at ../shared, dead in a clone elsewhere."""
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.M | re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), f"{doc.name}: {target}"


@pytest.mark.parametrize("name", ["spec", "vectors/rfc6962"])
def test_the_copies_are_the_shared_originals(name: str):
    """The repository's copies stay byte for byte those of the project's shared material (when it is there)."""
    original = SHARED / name
    if not original.is_dir():
        pytest.skip(f"{original} is absent: nothing to compare the copy with")
    copy = SPEC if name == "spec" else VECTORS
    files = {p.relative_to(original).as_posix() for p in original.rglob("*") if p.is_file()}
    assert files and files <= {p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()}
    for rel in sorted(files):
        assert (copy / rel).read_bytes() == (original / rel).read_bytes(), rel


# --- the store a command opens ----------------------------------------------------------------------------------
@pytest.fixture
def elsewhere(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A folder holding no store, and an environment with no CHENGXIN_ setting: the defaults apply."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return {k: v for k, v in os.environ.items() if not k.startswith("CHENGXIN_")}, folder


@pytest.mark.parametrize("argv", [("audit", "verify"), ("audit", "verify", "--json"), ("lists", "show", "black"),
                                  ("party", "show", "M1", "--source", "urn:cx:platform:P1"), ("detect",),
                                  ("keys", "list")])
def test_a_command_run_elsewhere_refuses_the_store_that_is_not_there(elsewhere, argv):
    """`audit verify` from another folder printed `ok: 0 records` about a new, empty store it made in ./var."""
    env, folder = elsewhere
    done = run(env, *argv, check=False, cwd=folder)
    said = " ".join(done.stderr.split())
    assert (done.returncode, "Traceback" in said, done.stdout) == (78, False, ""), said
    assert f"no Chengxin store at sqlite:///{folder}/var/chengxin.db" in said
    assert "CHENGXIN_DATABASE_URL" in said and "chengxin db upgrade" in said
    assert not (folder / "var").exists()  # neither the store, its folder nor a keys file was made


def test_ingest_makes_the_store_and_every_command_names_its_database(elsewhere):
    env, folder = elsewhere
    made = run(env, "ingest", str(SAMPLE), cwd=folder)
    db = f"sqlite:///{folder}/var/chengxin.db"
    assert f"database: {db}" in made.stderr and "no store there yet" in made.stderr
    audit = run(env, "audit", "verify", cwd=folder)
    assert audit.stderr.splitlines()[0] == f"database: {db}" and "ok: 25 records" in audit.stderr
    assert "no store there yet" not in audit.stderr
    as_json = run(env, "audit", "verify", "--json", cwd=folder)
    assert json.loads(as_json.stdout)["records"] == 25  # stdout stays the JSON alone


def test_db_upgrade_makes_an_empty_store_on_purpose(elsewhere):
    env, folder = elsewhere
    run(env, "db", "upgrade", cwd=folder)
    assert not (folder / "var" / "demo-keys.json").exists()  # a schema needs no keys
    assert "ok: 0 records" in run(env, "audit", "verify", cwd=folder).stderr


def test_a_store_with_data_refuses_new_keys(elsewhere):
    """With CHENGXIN_DATABASE_URL set but the keys file relative, another folder had new demo keys made for an
    existing store: its ID numbers unreadable, its log signed with another key."""
    env, folder = elsewhere
    run(env, "ingest", str(SAMPLE), cwd=folder)
    other = folder.parent / "other"
    other.mkdir()
    env = {**env, "CHENGXIN_DATABASE_URL": f"sqlite:///{folder}/var/chengxin.db"}
    done = run(env, "audit", "verify", check=False, cwd=other)
    said = " ".join(done.stderr.split())
    assert done.returncode == 78 and f"{other}/var/demo-keys.json does not exist" in said, said
    assert "CHENGXIN_KEYS_FILE" in said and not (other / "var").exists()
    shutil.copytree(folder / "var", other / "var")  # the store's own keys: fine
    assert run({**env, "CHENGXIN_KEYS_FILE": str(folder / "var" / "demo-keys.json")}, "audit", "verify",
               cwd=other).returncode == 0


def test_the_database_line_masks_a_password(elsewhere):
    env, folder = elsewhere
    env = {**env, "CHENGXIN_DATABASE_URL": "postgresql+psycopg://cx:hunter2@127.0.0.1:9/none"}
    done = run(env, "audit", "verify", check=False, cwd=folder)
    assert done.returncode == 69 and "database: postgresql+psycopg://cx:***@127.0.0.1:9/none" in done.stderr
    assert "hunter2" not in done.stderr


# --- party show, to read ----------------------------------------------------------------------------------------
P1 = "urn:cx:platform:P1"


def test_party_show_says_lists_capped_grade_measures_commitments_and_pages_the_records(env):
    """`party show` printed the grade (capped by the black list, without saying so), then every credit record as
    raw JSON, and nothing of lists, measures, dishonesty records or commitments."""
    run(env, "ingest", str(SAMPLE))
    run(env, "lists", "override", "black", "--source", P1, "--id", "M1", "--add", "--reason", "counterfeit goods",
        "--basis", "电子商务法 第十七条")
    full = json.loads(run(env, "party", "show", "S1", "--source", P1, "--json").stdout)
    assert (full["grade"], full["grade_computed"]) == ("D", "A")
    said = run(env, "party", "show", "S1", "--source", P1).stderr
    lines = said.splitlines()
    assert '{"' not in said and "{'" not in said  # no JSON, no Python dicts
    assert "capped at D from A by black list (manual; 电子商务法 第十七条)" in said
    assert any(x.startswith("  black (") and "counterfeit goods" in x for x in lines)
    assert "  grade capped = D on the account, for the public (black list;" in said
    assert "  K1: e-commerce merchant credit commitment (voluntary), published 2026-01-08" in said
    assert "dishonesty records in force: none" in said
    records = [x for x in lines if x.startswith("  #")]
    assert len(records) == min(10, full["credit_records_total"]) and records[0].startswith("  #27 ")
    paged = run(env, "party", "show", "S1", "--source", P1, "--limit", "2").stderr
    assert len([x for x in paged.splitlines() if x.startswith("  #")]) == 2
    nxt = full["credit_records"][1]["index"]
    assert f"{full['credit_records_total'] - 2} more: --limit N shows more, --before {nxt} the next" in paged
    assert "--json prints them whole" in paged
    older = run(env, "party", "show", "S1", "--source", P1, "--limit", "2", "--before", str(nxt)).stderr
    assert [x.split()[0] for x in older.splitlines() if x.startswith("  #")] == \
        [f"#{r['index']}" for r in full["credit_records"][2:4]]
    repaired = run(env, "party", "show", "S2", "--source", P1).stderr
    assert "dishonesty records in force: none" in repaired and "  not in force: 1 repaired" in repaired
    assert "licence gap: operates a shop but holds no valid business licence" in " ".join(repaired.split())


# --- smaller things ---------------------------------------------------------------------------------------------
def test_ingest_exits_0_on_a_partial_success_and_65_with_strict(env):
    """Rejected lines left the exit code 0 with no way to make a script notice: --strict exits 65."""
    partial = run(env, "ingest", str(SAMPLE_BAD), "--json")
    assert json.loads(partial.stdout)["rejected"] == 10  # exit 0: the good lines landed (documented)
    strict = run(env, "ingest", str(SAMPLE_BAD), "--strict", "--json", check=False)
    report = json.loads(strict.stdout)  # the report is printed all the same
    assert (strict.returncode, report["rejected"], report["duplicates"]) == (65, 10, 12)
    assert "--strict: 10 lines rejected" in " ".join(strict.stderr.split())
    assert run(env, "ingest", str(SAMPLE), "--strict").returncode == 0


@pytest.mark.parametrize("argv", [("ingest",), ("measures", "feed"), ("records", "show"), ("party", "show"),
                                  ("lists", "override"), ("review", "decide")])
def test_flags_read_as_flags_in_help(argv):
    """`--json <bool>` read as if it took a value, and `--json [default: True]` on measures feed and records show
    could not be turned off."""
    shown = run(dict(os.environ, COLUMNS="200"), *argv, "--help").stdout
    rows = [x for x in shown.splitlines() if re.search(r"--(json|strict|defer|public|add|remove|confirm|dismiss)\b",
                                                       x)]
    assert rows and all("<bool>" not in x and "default: True" not in x for x in rows), rows


def test_measures_feed_and_records_show_read_by_people_unless_json(env):
    run(env, "ingest", str(SAMPLE))
    run(env, "lists", "evaluate")
    feed = run(env, "measures", "feed")
    assert feed.stdout == "" and "urn:cx:platform:P1 M1 (USCC 91310104MA1FL8XQ36): " in feed.stderr
    assert json.loads(run(env, "measures", "feed", "--json").stdout)["changes"]
    record = run(env, "records", "show", "1")
    assert record.stdout == "" and "record 1: price fraud / 价格欺诈, minor, repaired" in record.stderr
    # the source that lifted it decides who may act; the authority's name it gave is shown beside it
    assert "repaired by urn:cx:regulator:310000 (杭州市西湖区市场监督管理局)" in record.stderr
    assert json.loads(run(env, "records", "show", "1", "--json").stdout)["state"] == "repaired"


def test_readme_examples_give_what_the_commands_require():
    """README's `lists override` example left out the required --reason and --basis; it never said to activate
    .venv, nor what `make bench` takes."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    override = next(x for x in readme.splitlines() if x.startswith("chengxin lists override"))
    assert "--reason" in override and "--basis" in override
    assert ". .venv/bin/activate" in readme and "25 minutes" in readme and "needs PostgreSQL" in readme
    for code in ("| 0 |", "| 65 |", "| 78 |", "--strict"):
        assert code in readme


# --- docs/credit-log.md's check of a masked public record -------------------------------------------------------
def test_the_docs_check_takes_a_masked_public_record_as_far_as_its_leaf(sample_app):
    """docs/credit-log.md said every served record carries its leaf bytes, and its check read `leaf_bytes`: a
    public read of a record with masked fields has none (KeyError). It now checks the leaf's hash there."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from fastapi.testclient import TestClient
    from tests.unit.test_leaf_doc import run_block

    from chengxin.entrypoints.api.app import create_app
    from chengxin.services import keys, list_views
    from chengxin.services.viewer import REGULATOR, Viewer

    cx = sample_app
    check = run_block("python leaf-reference", "python leaf-check")["check_served"]
    pinned = cx.keys.verify_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    list_views.override(cx, "black", (P1, "M1"), "add", Viewer(REGULATOR, key_id="k-reg"), "counterfeit goods",
                        "电子商务法 第十七条")
    _, secret = keys.create_key(cx, "regulator", "auditor")
    with TestClient(create_app(cx)) as api:
        size = api.get("/v1/log/head").json()["size"]
        answers = [api.get(f"/v1/log/records/{i}") for i in range(size)]
        public = [a.json() for a in answers if a.status_code == 200]  # records not public answer 404
        masked = [r for r in public if r["record"].get("masked")]
        assert masked and all("leaf_bytes" not in r["record"] for r in masked)
        assert {check(r, pinned, cx.settings.log_origin) for r in public} == {"record", "leaf"}
        whole = api.get(f"/v1/log/records/{masked[0]['record']['index']}",
                        headers={"Authorization": f"Bearer {secret}"}).json()
    assert "leaf_bytes" in whole["record"] and check(whole, pinned, cx.settings.log_origin) == "record"
    forged = {**masked[0], "proof": {**masked[0]["proof"], "leaf_hash": whole["proof"]["proof"][0]}}
    with pytest.raises(ValueError, match="not in the signed tree"):
        check(forged, pinned, cx.settings.log_origin)


# --- the demo's keys ---------------------------------------------------------------------------------------------
def test_the_demo_issues_a_key_for_each_platform_that_holds_its_data(app, tmp_path):
    """The demo printed P1's key only (the 48-event showcase): the simulated marketplace and its findings are
    M1's and M2's, and `GET /v1/review` with the printed key returned nothing."""
    from fastapi.testclient import TestClient

    from chengxin.entrypoints.api.app import create_app
    from chengxin.services.demo import demo_params, load_demo

    done = load_demo(app, params=demo_params(days=5, shops=20, buyers=100, orders_per_day=40))
    platforms = ["urn:cx:platform:P1", "urn:cx:platform:M1", "urn:cx:platform:M2"]
    assert list(done["keys"]) == [f"platform ({p})" for p in platforms] + ["regulator", "credit agency"]
    assert done["simulated"]["platforms"] == platforms[1:]
    seen = {}
    with TestClient(create_app(app)) as api:
        agency = {"Authorization": f"Bearer {done['keys'].pop('credit agency')}"}
        for label, secret in done["keys"].items():
            items = api.get("/v1/review", params={"limit": 500}, headers={"Authorization": f"Bearer {secret}"})
            seen[label] = {p["source"] for i in items.json()["items"] for p in i["parties"]}
        # the agency's key reads credit reports (and no review queue)
        assert api.get("/v1/review", headers=agency).status_code == 403
        report = api.post(f"/v1/reports/S1?source={platforms[0]}", headers=agency,
                          json={"purpose": "credit check before a supply contract"})
        assert report.status_code == 200, report.text
    p1, m1, m2 = (f"platform ({p})" for p in platforms)
    assert seen[p1] == set()  # the showcase has nothing to review
    assert seen[m1] == {platforms[1]} and seen[m2] <= {platforms[2]}  # each its own items
    assert seen["regulator"] >= seen[m1] | seen[m2]
    events = app.settings.keys_file.parent / "demo-events.jsonl"
    assert events.stat().st_mode & 0o777 == 0o600  # simulated names and ID numbers: the owner's only


def test_the_demo_events_stay_the_owners_when_rewritten(app):
    """docs/security.md: the demo's events hold names and ID numbers shaped like real ones, to be kept 0600;
    `chengxin demo` wrote them 0644, and a rewrite keeps whatever mode the file had."""
    from chengxin.services.demo import demo_params, load_demo

    events = app.settings.keys_file.parent / "demo-events.jsonl"
    events.parent.mkdir(parents=True, exist_ok=True)
    events.write_text("")
    events.chmod(0o644)
    load_demo(app, params=demo_params(days=5, shops=20, buyers=100, orders_per_day=40))
    assert events.stat().st_mode & 0o777 == 0o600 and events.stat().st_size > 0
