"""The access journal, filtered and read by the party's platform (agency review, finding 9): a `party` filter
was silently ignored, and no one but a regulator could learn who queried a party. A regulator filters by party
(with its linked reports: the same `party_key`, a shop's operator, the shops they run), key and action; an
unknown parameter is 422. A platform reads the credit agencies' queries about the parties it reports and its own
keys' entries, never another platform's party, another key's id, nor a regulator's reads."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import keys, parties
from chengxin.services.viewer import Viewer

P1, P2, REG, L1 = "urn:cx:platform:P1", "urn:cx:platform:P2", "urn:cx:regulator:310000", "urn:cx:logistics:L1"
ZX = "urn:cx:agency:ZX001"


class Node:
    def __init__(self, app: Chengxin) -> None:
        self.app = app
        self.secret: dict[str, str] = {}
        self.key: dict[str, str] = {}
        for name, role, source in (("agency", "agency", ZX), ("regulator", "regulator", REG),
                                   ("p1", "platform", P1), ("p2", "platform", P2)):
            self.key[name], self.secret[name] = keys.create_key(app, role, name, source)
        self.viewer = {n: keys.authenticate(app, s) for n, s in self.secret.items()}

    def journal(self, who: str, action: str, party: tuple[str, str], purpose: str) -> None:
        with write_transaction(self.app.engine) as conn:  # as a reveal, a lookup or a report writes it
            parties._journal(conn, self.viewer[who], action, [party], purpose)


@pytest.fixture
def node(sample_app: Chengxin) -> Node:
    n = Node(sample_app)
    n.journal("agency", "agency_report", (P1, "S2"), "loan S2")  # the shop M2 runs
    n.journal("agency", "agency_report", (REG, "E-M2"), "loan E-M2")  # M2 as the regulator reports it
    n.journal("agency", "agency_report", (L1, "LG"), "loan LG")
    n.journal("regulator", "reveal_id_number", (P1, "U1"), "case 7")
    n.journal("p2", "lookup_id_number", (P2, "X9"), "p2 support")
    n.journal("p1", "lookup_id_number", (P1, "U2"), "p1 support")
    n.journal("agency", "agency_report", (P1, "M2"), "loan M2")
    return n


def purposes(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [e["purpose"] for e in answer.json()["entries"]]


def get(client: TestClient, node: Node, who: str, query: str) -> Any:
    return client.get(f"/v1/access-journal?{query}", headers={"X-API-Key": node.secret[who]})


def test_a_regulator_filters_by_party_with_its_linked_reports_key_and_action(node: Node) -> None:
    with TestClient(create_app(node.app)) as client:
        assert purposes(get(client, node, "regulator", f"party=M2&source={P1}")) == ["loan M2", "loan E-M2", "loan S2"]
        assert purposes(get(client, node, "regulator", f"party=M2&source={P1}&linked=false")) == ["loan M2"]
        assert purposes(get(client, node, "regulator", f"party=S2&source={P1}")) == ["loan M2", "loan E-M2", "loan S2"]
        assert purposes(get(client, node, "regulator", f"party=S2&source={P1}&linked=false")) == ["loan S2"]
        assert purposes(get(client, node, "regulator", f"party=u1&source={P1}")) == []  # exact, not LIKE
        assert purposes(get(client, node, "regulator", f"key={node.key['p1']}")) == ["p1 support"]
        assert purposes(get(client, node, "regulator", "action=reveal_id_number")) == ["case 7"]
        assert purposes(get(client, node, "regulator", f"action=agency_report&party=LG&source={L1}")) == ["loan LG"]
        first = get(client, node, "regulator", f"party=M2&source={P1}&limit=2").json()
        assert get(client, node, "regulator", f"party=M2&source={P1}&before={first['next_before']}").json()[
            "entries"][0]["purpose"] == "loan S2"  # the next page, still filtered
        whole = get(client, node, "regulator", "limit=1").json()["entries"][0]
        assert (whole["key_id"], whole["by"]) == (node.key["agency"], {"role": "agency", "source": ZX})
        for query in (f"subject=U1&source={P1}", "party=U1", f"source={P1}"):  # ignored before: now refused
            refused = get(client, node, "regulator", query)
            assert refused.status_code == 422, query
        documented = client.get("/openapi.json").json()["paths"]["/v1/access-journal"]["get"]["parameters"]
        assert {p["name"] for p in documented} == {"source", "party", "linked", "key", "action", "before", "limit"}


def test_a_platform_reads_the_agencies_queries_about_its_parties_only(node: Node) -> None:
    with TestClient(create_app(node.app)) as client:
        mine = get(client, node, "p1", "")
        assert purposes(mine) == ["loan M2", "p1 support", "loan S2"]  # no regulator's read, no other source's
        agency, own = mine.json()["entries"][0], mine.json()["entries"][1]
        assert (agency["key_id"], agency["by"]) == (None, {"role": "agency", "source": ZX})  # who, not its key
        assert own["key_id"] == node.key["p1"]
        assert purposes(get(client, node, "p1", f"party=M2&source={P1}")) == ["loan M2", "loan S2"]  # not E-M2
        assert purposes(get(client, node, "p1", f"key={node.key['p1']}")) == ["p1 support"]
        assert get(client, node, "p1", f"party=E-M2&source={REG}").status_code == 403  # would tell the link
        assert get(client, node, "p1", f"key={node.key['agency']}").status_code == 403
        assert purposes(get(client, node, "p2", "")) == ["p2 support"]
        assert get(client, node, "agency", "").status_code == 403
        assert client.get("/v1/access-journal").status_code == 401


def test_an_agency_report_through_the_api_reaches_the_platforms_journal(node: Node) -> None:
    with TestClient(create_app(node.app)) as client:
        client.post(f"/v1/reports/M1?source={P1}", json={"purpose": "贷前审查 M1"},
                    headers={"X-API-Key": node.secret["agency"]})
        (entry,) = get(client, node, "p1", f"party=M1&source={P1}").json()["entries"]
    assert (entry["action"], entry["purpose"], entry["by"]) == ("agency_report", "贷前审查 M1",
                                                                {"role": "agency", "source": ZX})
    assert entry["party"] == {"source": P1, "id": "M1"}


def test_an_entry_written_the_old_way_is_found_by_its_party(node: Node) -> None:
    from chengxin.adapters.db import tables as t

    with write_transaction(node.app.engine) as conn:
        conn.execute(t.access_journal.insert().values(at="2026-01-01T00:00:00.000000Z", key_id=node.key["agency"],
                                                      action="agency_report", object=f"{P1}|U2|old"))
    assert [e["purpose"] for e in parties.access_journal(node.app, Viewer("regulator", key_id="k"),
                                                         party=(P1, "U2"))["entries"]] == ["old", "p1 support"]
