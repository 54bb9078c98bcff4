"""A platform never learns what another platform knows about a natural person (found by review): not through a
shop of its own that names that person as its operator, not through the other platform's account id asked for
its measures, not through a list's members. Regulators see all; the reporting platform sees its own."""

from __future__ import annotations

import json

from tests.conftest import ingest_text

from chengxin.services import list_views, parties
from chengxin.services.viewer import PLATFORM, REGULATOR, Viewer

P1, P2 = "urn:cx:platform:P1", "urn:cx:platform:P2"
ID_NUMBER = "410105199001012660"  # a valid resident ID (check digit), P2's customer
P1_VIEW, P2_VIEW, REG_VIEW = Viewer(PLATFORM, P1, "k1"), Viewer(PLATFORM, P2, "k2"), Viewer(REGULATOR, None, "kr")


def _line(n: int, source: str, type_: str, data: dict) -> str:
    return json.dumps({"specversion": "1.0", "id": f"o{n}", "source": source, "type": type_,
                       "time": "2026-03-01T10:00:00+08:00", "data": data}, ensure_ascii=False)


EVENTS = "\n".join([
    _line(1, P2, "cx.subject.registered", {"subject_id": "U1003", "kind": "person", "name": "黄怡国",
                                          "id_number": ID_NUMBER, "region": "410105",
                                          "verified_at": "2026-01-01T00:00:00+08:00"}),
    # reported by the operator's file ingestion (no key): a P1 shop run by P2's account
    _line(2, P1, "cx.shop.opened", {"shop_id": "SX", "operator_id": {"source": P2, "id": "U1003"}, "name": "探店",
                                   "url": "https://p1.example/sx", "categories": ["daily_goods"]}),
]) + "\n"


def test_a_shop_run_by_another_platforms_person_shows_that_person_masked(app) -> None:
    ingest_text(app, EVENTS)
    seen = parties.show(app, P1, "SX", P1_VIEW)["operator"]
    assert seen["name"] == "黄**" and "party_key" not in seen and "id_number" not in seen
    assert seen["region"] == "410000"
    own = parties.show(app, P2, "U1003", P2_VIEW)  # P2, which reported the person, sees its own account
    assert own["name"] == "黄怡国" and own["id_number"].endswith("2660")
    regulator = parties.show(app, P1, "SX", REG_VIEW)["operator"]
    assert regulator["name"] == "黄怡国" and "party_key" in regulator
    assert parties.show(app, P1, "SX", P1_VIEW)["score"] is None  # a person's score is personal data


def test_another_platforms_person_on_the_watch_list_stays_with_that_platform(app) -> None:
    ingest_text(app, EVENTS)
    list_views.override(app, "watch", (P2, "U1003"), "add", REG_VIEW, "suspected fraud ring buyer", "case 2026-77")
    assert [x["list"] for x in list_views.measures_of(app, (P2, "U1003"), REG_VIEW)["lists"]] == ["watch"]
    assert [x["list"] for x in list_views.measures_of(app, (P2, "U1003"), P2_VIEW)["lists"]] == ["watch"]
    assert list_views.measures_of(app, (P2, "U1003"), P1_VIEW)["lists"] == []
    members = {viewer.key_id: [(m["party"]["source"], m["party"]["id"]) if "party" in m else m
                               for m in list_views.members(app, "watch", viewer)["members"]]
               for viewer in (P1_VIEW, P2_VIEW, REG_VIEW)}
    assert members["k1"] == [] and len(members["k2"]) == len(members["kr"]) == 1


COMPANY = "\n".join([
    _line(10, P2, "cx.subject.registered", {"subject_id": "B2", "kind": "enterprise", "name": "上海示例食品有限公司",
                                           "uscc": "91310104MA1FL8XQ36", "region": "310104"}),
    _line(11, P2, "cx.shop.opened", {"shop_id": "T2", "operator_id": "B2", "name": "示例食品P2店",
                                    "url": "https://p2.example/t2", "categories": ["daily_goods"]}),
    _line(12, P2, "cx.complaint.filed", {"complaint_id": "K2", "channel": "platform", "target_id": "T2",
                                        "category": "delivery", "text": "P2 的内部投诉"}),
]) + "\n"


def test_a_platforms_full_view_of_a_business_keeps_other_platforms_complaints_to_them(sample_app) -> None:
    """P1's M1 and P2's B2 are one company (same USCC). A complaint filed with P2 against P2's shop is a
    non-public record: P1's full view of its own M1 does not show it; P2 and the regulator see it; P1's own
    non-public records and the public ones stay (found by review)."""
    ingest_text(sample_app, COMPANY)

    def records(viewer: Viewer, source: str = P1, entity: str = "M1") -> set[tuple[str, str, str]]:
        view = parties.show(sample_app, source, entity, viewer, limit=500)
        return {(r["kind"], r["subject"]["source"], r["subject"]["id"]) for r in view["credit_records"]}

    p1, regulator, p2 = records(P1_VIEW), records(REG_VIEW), records(P2_VIEW, P2, "B2")
    filed_with_p2 = ("complaint", P2, "T2")
    assert filed_with_p2 in regulator and filed_with_p2 in p2 and filed_with_p2 not in p1
    assert p1 == regulator - {filed_with_p2}  # nothing else lost: P1's own records, and P2's public ones
    assert ("identity", P2, "B2") in p1



LINKED_ID = "440305199208157893"  # a valid resident ID: links the two platforms' accounts below as one party


def _person(n: int, source: str, subject_id: str, name: str) -> str:
    return _line(n, source, "cx.subject.registered", {"subject_id": subject_id, "kind": "person", "name": name,
                                                      "id_number": LINKED_ID, "region": "440305"}) + "\n"


def test_a_persons_score_is_withheld_from_a_platform_that_sees_only_some_of_the_persons_accounts(app) -> None:
    """A person's score is computed over every account linked by the ID number. A platform that reported one
    of two such accounts would learn the other platform's orders, complaints and sanctions from its grade,
    reasons, dimensions and history (found by review): it gets no score while another platform's account is
    linked; the regulator gets it, and so does the platform while the account is its alone."""
    ingest_text(app, _person(20, P1, "U2", "李雷") + _line(22, P1, "cx.shop.opened", {
        "shop_id": "SL", "operator_id": "U2", "name": "李记小店", "url": "https://p1.example/sl",
        "categories": ["daily_goods"]}) + "\n")
    for alone in (parties.show(app, P1, "U2", P1_VIEW), parties.show(app, P1, "SL", P1_VIEW)):
        assert alone["score"] is not None and alone["credit"] is not None and "score_withheld" not in alone
    ingest_text(app, _person(21, P2, "V2", "李雷"))
    shop = parties.show(app, P1, "SL", P1_VIEW)  # its operator's score: the person's, over both accounts
    assert (shop["score"], shop["credit"], shop["score_withheld"]) == (None, None, "other_reporters")
    for viewer, source, entity in ((P1_VIEW, P1, "U2"), (P2_VIEW, P2, "V2")):
        seen = parties.show(app, source, entity, viewer)
        assert [r["id"] for r in seen["reports"]] == [entity]
        assert (seen["score"], seen["grade"], seen["reasons"], seen["credit"]) == (None, None, [], None)
        assert seen["score_withheld"] == "other_reporters"
    regulator = parties.show(app, P2, "V2", REG_VIEW)
    assert len(regulator["reports"]) == 2 and regulator["score"] is not None



def test_an_individual_business_shows_no_id_number_to_the_public(app) -> None:
    """An individual business (个体工商户) is a natural person's: the public saw its operator's masked ID number
    (found by review). The platform that reported it and the regulator see it masked."""
    from chengxin.services.viewer import ANONYMOUS

    ingest_text(app, _line(30, P1, "cx.subject.registered", {
        "subject_id": "IB1", "kind": "individual_business", "name": "李记商行", "uscc": "92330106MA2B7C4D1W",
        "id_number": LINKED_ID, "region": "330106"}) + "\n")
    public = parties.show(app, P1, "IB1", ANONYMOUS)
    assert public["id_number"] is None and public["uscc"] == "92330106MA2B7C4D1W"
    for viewer in (P1_VIEW, REG_VIEW):
        assert parties.show(app, P1, "IB1", viewer)["id_number"] == "4403**********7893"
