"""The access journal reads back whose ID number was revealed and why, whatever the reporter's source and the
party's id and the purpose hold: they were joined by "|", which ids and purposes may contain (sources could
then too), and `U|1` reported by `urn:x|p` was read back as another party and purpose (found by review). An
entry written the old way is still read."""

from __future__ import annotations

import json

from tests.conftest import ingest_text

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import write_transaction
from chengxin.services import parties
from chengxin.services.viewer import Viewer

REGULATOR = Viewer("regulator", key_id="k-officer")
SOURCE, SUBJECT, RIC = "urn:cx:platform:P2", "U|1", "31010419900307123X"  # a source holds no "|" (a URI)


def test_a_reveal_is_journaled_as_the_party_it_was_whatever_its_source_and_id_hold(app):
    person = {"specversion": "1.0", "id": "j-1", "source": SOURCE, "type": "cx.subject.registered",
              "time": "2026-01-04T09:00:00+08:00", "data": {"subject_id": SUBJECT, "kind": "person",
                                                             "name": "张三", "id_number": RIC, "region": "310104"}}
    assert ingest_text(app, json.dumps(person, ensure_ascii=False)).accepted == 1
    assert parties.reveal_id_number(app, SOURCE, SUBJECT, REGULATOR, "case 7|2026: refund fraud") == RIC
    with write_transaction(app.engine) as conn:  # one written before: joined by "|"
        conn.execute(t.access_journal.insert().values(at="2026-01-01T00:00:00.000000Z", key_id="k-old",
                                                      action="reveal_id_number", object="urn:cx:platform:P1|U1|old"))
    old, new = parties.access_journal(app, REGULATOR)["entries"][:2]  # newest (by id) first
    assert (new["party"], new["purpose"]) == ({"source": SOURCE, "id": SUBJECT}, "case 7|2026: refund fraud")
    assert (old["party"], old["purpose"]) == ({"source": "urn:cx:platform:P1", "id": "U1"}, "old")
