"""`chengxin journal` (agency review, finding 9): the access journal with the API's filters, as the operator (every
entry) or as a platform's key reads it (`--as-key`), run as a user runs it."""

from __future__ import annotations

import json
import os

from tests.e2e.cli import run

from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.services import keys, parties

P1, REG, ZX = "urn:cx:platform:P1", "urn:cx:regulator:310000", "urn:cx:agency:ZX001"


def test_the_journal_command_filters_as_the_api_and_reads_as_a_platform(sample_app: Chengxin) -> None:
    env = {**os.environ, "CHENGXIN_DATABASE_URL": sample_app.settings.database_url,
           "CHENGXIN_KEYS_FILE": str(sample_app.settings.keys_file)}
    agency_id, agency = keys.create_key(sample_app, "agency", "ZX", ZX)
    p1_id, _ = keys.create_key(sample_app, "platform", "P1", P1)
    with write_transaction(sample_app.engine) as conn:
        for party, purpose in (((P1, "S2"), "loan S2"), ((REG, "E-M2"), "loan E-M2"), ((P1, "S1"), "loan S1")):
            parties._journal(conn, keys.authenticate(sample_app, agency), "agency_report", [party], purpose)
    as_operator = json.loads(run(env, "journal", "--party", "M2", "--source", P1, "--json").stdout)
    assert [e["purpose"] for e in as_operator["entries"]] == ["loan E-M2", "loan S2"]
    assert as_operator["entries"][0]["by"] == {"role": "agency", "source": ZX}
    assert as_operator["entries"][0]["key_id"] == agency_id
    only = json.loads(run(env, "journal", "--party", "M2", "--source", P1, "--no-linked", "--json").stdout)
    assert only["entries"] == []
    as_p1 = json.loads(run(env, "journal", "--as-key", p1_id, "--action", "agency_report", "--json").stdout)
    assert [(e["purpose"], e["key_id"]) for e in as_p1["entries"]] == [("loan S1", None), ("loan S2", None)]
    table = run(env, "journal", "--key", agency_id, "--limit", "1")
    assert "loan S1" in table.stderr and "urn:cx:agency:ZX001" in table.stderr and "--before" in table.stderr
    half = run(env, "journal", "--party", "M2", check=False)
    assert half.returncode == 2 and "--source" in half.stderr
    refused = run(env, "journal", "--as-key", p1_id, "--party", "E-M2", "--source", REG, check=False)
    assert refused.returncode == 77
