"""`chengxin report` (a credit agency's report, the service the API calls, journaled under the agency's key) and
`chengxin keys create --role agency`, `keys rotate`, `keys list`, run as a user runs them."""

from __future__ import annotations

import json
import os

from fastapi.testclient import TestClient
from tests.e2e.cli import run

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.exc import NotAuthenticated
from chengxin.services import keys, parties
from chengxin.services.viewer import Viewer

P1 = "urn:cx:platform:P1"
PURPOSE = "loan application 2026-88"


def env_of(app: Chengxin) -> dict[str, str]:
    return {**os.environ, "CHENGXIN_DATABASE_URL": app.settings.database_url,
            "CHENGXIN_KEYS_FILE": str(app.settings.keys_file)}


def agency_key(app: Chengxin) -> dict[str, str]:
    made = run(env_of(app), "keys", "create", "--role", "agency", "--label", "ZX", "--source", "urn:cx:agency:ZX001",
               "--json")
    return json.loads(made.stdout)  # type: ignore[no-any-return]


def test_the_cli_report_is_the_apis_and_is_journaled(sample_app: Chengxin) -> None:
    key = agency_key(sample_app)
    done = run(env_of(sample_app), "report", "S2", "--source", P1, "--key", key["key_id"], "--purpose", PURPOSE,
               "--json")
    cli = json.loads(done.stdout)
    with TestClient(create_app(sample_app)) as client:
        api = client.post(f"/v1/reports/S2?source={P1}", json={"purpose": PURPOSE},
                          headers={"Authorization": f"Bearer {key['secret']}"}).json()
    for body in (cli, api):
        body["report"].pop("generated_at")
        body["credit"]["dsr"]["category_average"].pop("as_of")  # the category's average, as of each request
    assert cli == api and [r["index"] for r in cli["records"]] == [20, 19, 18, 17, 16, 15, 2]
    human = run(env_of(sample_app), "report", "S2", "--source", P1, "--key", key["key_id"], "--purpose", PURPOSE)
    assert "#20 inspection 2026-03-05 (negative, shown until 2031-03-05)" in human.stderr
    assert "#18 complaint 2026-02-25 (alleged, shown until 2031-02-25)" in human.stderr  # a filing, no outcome
    assert "reason: 成立的投诉较多 / many complaints upheld" in human.stderr
    assert "complaints 0/150: 发货1单，被投诉1件" in human.stderr  # each dimension, with its sentence
    size = cli["log"]["tree_size"]
    assert f"log tree size {size} (give --since-size {size}" in human.stderr
    since = json.loads(run(env_of(sample_app), "report", "S2", "--source", P1, "--key", key["key_id"],
                           "--purpose", PURPOSE, "--since-size", str(size), "--json").stdout)
    assert since["records"] == [] and since["records_withdrawn"]["since"] == {"count": 0, "indexes": []}
    entries = parties.access_journal(sample_app, Viewer("regulator", key_id="k-officer"))["entries"]
    said = [(e["action"], e["key_id"], e["purpose"]) for e in entries]
    assert said == [("agency_report", key["key_id"], PURPOSE)] * 4


def test_the_cli_refuses_a_person_without_authorization_and_a_key_of_another_role(sample_app: Chengxin) -> None:
    key = agency_key(sample_app)
    refused = run(env_of(sample_app), "report", "U1", "--source", P1, "--key", key["key_id"], "--purpose", PURPOSE,
                  check=False)
    assert refused.returncode == 77 and "第十九条" in refused.stderr
    given = run(env_of(sample_app), "report", "U1", "--source", P1, "--key", key["key_id"], "--purpose", PURPOSE,
                "--authorization-sha256", "ab" * 32, "--authorization-signed-on", "2026-11-01", "--json")
    assert json.loads(given.stdout)["subject"]["identity"]["name"] == "张*"
    platform, _ = keys.create_key(sample_app, "platform", "P1", P1)
    other = run(env_of(sample_app), "report", "S2", "--source", P1, "--key", platform, "--purpose", PURPOSE,
                check=False)
    assert other.returncode == 77 and "not an agency key" in other.stderr


def test_keys_rotate_prints_a_new_secret_for_the_same_key(sample_app: Chengxin) -> None:
    key = agency_key(sample_app)
    rotated = json.loads(run(env_of(sample_app), "keys", "rotate", key["key_id"], "--grace-hours", "0",
                             "--json").stdout)
    assert rotated["key_id"] == key["key_id"] and rotated["previous_until"] is None
    assert keys.authenticate(sample_app, rotated["secret"]) == Viewer("agency", "urn:cx:agency:ZX001", key["key_id"])
    try:
        keys.authenticate(sample_app, key["secret"])
        raise AssertionError("the old secret still works")
    except NotAuthenticated:
        pass
    listed = json.loads(run(env_of(sample_app), "keys", "list", "--json").stdout)
    assert listed[0]["rotated_at"] is not None and key["secret"] not in json.dumps(listed)
    assert "old secret works" not in run(env_of(sample_app), "keys", "list").stderr  # no grace
    again = json.loads(run(env_of(sample_app), "keys", "rotate", key["key_id"], "--json").stdout)  # 24 hours
    table = run(env_of(sample_app), "keys", "list").stderr
    assert "rotated" in table and f"old secret works until {again['previous_until']}" in table
