"""Credit reports for credit agencies (信用服务机构, R11, R16): what an `agency` key reads, and the one place it
reads parties and records (docs/security.md, "Credit agencies").

- A business (enterprise, individual business, platform, logistics firm, and a shop a business runs): the
  public view, plus the credit records that are not public but are about the business (complaint filings, a
  sanction withdrawn from public view, a dishonesty record's moves). Never the machine's unconfirmed
  suspicions (`suspected`) nor dismissed ones: a report carries decided facts only.
- A natural person (and a shop a person runs): only with the person's signed authorization
  (浙江省公共信用信息管理条例 第十九条), given as its reference (sha256 of the signed document, date signed).
- Either way, a negative record only while its query period runs: five years from the day the act ended
  (上海市社会信用条例 第三十五条): its dishonesty record's end (an expired one: its period's last day); one still
  in force runs no period and is provided; a record with no dishonesty record counts from its own time. The
  day of the end is not counted, so the last day is the fifth anniversary. Never a revoked or repaired record
  (第三十七条、第三十八条: deleted), nor its lifting or moves. Personal data stays
  masked: a person's name and province only, no ID number, no keyed ID hash; free text as the public reads it.
- Every report asked for is journaled (`access_journal`, action `agency_report`; refused or unknown ones too,
  `agency_report_refused`, `agency_report_not_found`), with the key, the purpose (and the authorization's
  reference) and the party (浙江 第二十条: 如实记录查询情况). The journal is never pruned.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import func, select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.domain import lifecycle as L
from chengxin.exc import Forbidden, InvalidInput, NotFound
from chengxin.services import agency_authorization, credit_log, lifecycle, parties
from chengxin.services.access_journal import JOURNAL_SEP
from chengxin.services.agency_authorization import Authorization as Authorization  # the routes and CLI build it
from chengxin.services.credit_file import public_record
from chengxin.services.parties import NATURAL_PERSONS
from chengxin.services.record_views import records_of
from chengxin.services.viewer import AGENCY, ANONYMOUS, REGULATOR, Viewer

WINDOW_YEARS = 5  # 上海市社会信用条例 第三十五条
SHANGHAI_35 = "上海市社会信用条例 第三十五条"
ZHEJIANG_19 = "浙江省公共信用信息管理条例 第十九条"
# kinds that say nothing against a party; every other kind (sanctions, confirmed findings, complaints, point
# retractions, breaches, a dishonesty record's moves, kinds added later) counts as negative
NEUTRAL_KINDS = frozenset({"identity", "licence", "commitment", "rating", "points_restored"})
UNDECIDED_KINDS = frozenset({"suspected", "dismissed"})  # the machine's, or found wrong: no credit fact
# The watch list (重点关注名单) is a supervision list, `public: false` in vocab/list_policies.yaml: "regulators and
# platforms only". A business's report is the public view plus records about the business's own conduct
# (docs/security.md); the watch list is the authority's own attention, resting on records the report already
# carries (or on suspicions it never carries), so its entries are left out as `lists` leaves the list out: the
# report carried them in `records` while `lists` said none (found by review).
NOT_DISCLOSED_KINDS = frozenset({"list_entered_private", "list_left_private"})
# said by or for the subject, or alleged, not decided against it: an objection (异议, 上海 第三十六条) and a complaint
# filing with no outcome (its outcome is a record of its own, `complaint_outcome`); both were marked negative
ALLEGED_KINDS = frozenset({"complaint"})
OBJECTION_KINDS = frozenset({"record_appealed"})
# the full view the report is cut from; never served as such
_WHOLE = Viewer(role=REGULATOR, key_id="agency-report")


def today() -> date:
    """The day the query period is judged on (China Standard Time; tests set it)."""
    return lifecycle.today()


def report(app: Chengxin, viewer: Viewer, source: str, entity_id: str, purpose: str,
           authorization: Authorization | None = None, since_size: int | None = None) -> dict[str, Any]:
    """The credit report of a party or shop for a credit agency's key, journaled whatever its outcome. With
    `since_size` (the `log.tree_size` of an earlier report): only what changed since (`_since`)."""
    if viewer.role != AGENCY:
        raise Forbidden("credit reports are for credit agencies' keys (信用服务机构); regulators and platforms read "
                        "the credit file at GET /v1/parties/{entity_id}")
    purpose = purpose.strip()
    if len(purpose) < 3:
        raise InvalidInput("purpose: say why the report is asked for; it is journaled "
                           "(浙江省公共信用信息管理条例 第二十条)")
    action = "agency_report"
    try:
        return _report(app, viewer, (source, entity_id), purpose, authorization, since_size)
    except NotFound:
        action = "agency_report_not_found"
        raise
    except (Forbidden, InvalidInput):  # no authorization, or one that cannot be the person's (found by review)
        action = "agency_report_refused"
        raise
    finally:
        _journal(app, viewer, action, (source, entity_id), purpose, authorization)


def _report(app: Chengxin, viewer: Viewer, party: tuple[str, str], purpose: str,
            authorization: Authorization | None, since_size: int | None) -> dict[str, Any]:
    source, entity_id = party
    on = today()
    if authorization is not None and (why := authorization.refused(on)):
        raise InvalidInput(why)
    public = parties.show(app, source, entity_id, ANONYMOUS, limit=1)  # 404 for an unknown party or shop
    person = _is_person(public)
    if person and authorization is None:
        raise Forbidden(f"a natural person's credit information needs the person's authorization: give "
                        f"`authorization` {{sha256, signed_on}} of the signed document ({ZHEJIANG_19}: "
                        "查询自然人公共信用信息的，应当提供被查询人的授权证明)")
    with read_connection(app.engine) as conn:  # before the records: one appended meanwhile comes again next time
        size = _log_size(conn)
    if since_size is not None and since_size > size:
        raise InvalidInput(f"since_size: {since_size} is beyond the log's size ({size}); give an earlier "
                           "report's log.tree_size")
    whole, records = _whole(app, source, entity_id)
    if person and authorization is not None:
        agency_authorization.check(app, authorization, _party_key(whole), on)
    with read_connection(app.engine) as conn:
        ends = _ends(conn, _party_key(whole))
    shown = [(r, _windowed(r, ends, on)) for r in records if _reportable(r, person)]
    kept = [v for _, v in shown if isinstance(v, dict)]
    outcomes = [v for _, v in shown if isinstance(v, str)]
    view = whole if person else public
    return {
        "report": {"kind": "agency_credit_report", "generated_at": credit_log.now_utc(), "on": on.isoformat(),
                   "requested_by": {"key_id": viewer.key_id, "agency": viewer.source}, "purpose": purpose,
                   "authorization": {"sha256": authorization.sha256, "signed_on": authorization.signed_on.isoformat()}
                   if authorization else None,
                   "basis": [SHANGHAI_35, ZHEJIANG_19, "浙江省公共信用信息管理条例 第二十条"]},
        "subject": {"entity": public["entity"], "source": source, "id": entity_id,
                    "natural_person": person, "identity": _identity(public)},
        "credit": _credit(view),
        **({} if person else {"shops": public.get("shops", []), "licences": public.get("licences", [])}),
        "lists": public.get("lists", []), "measures": public.get("measures", []),
        "commitments": whole.get("commitments", []),
        "log": {"tree_size": size, "since_size": since_size},
        "records": kept if since_size is None else [r for r in kept if r["index"] >= since_size],
        "records_withheld_past_window": outcomes.count("past_window"),
        "records_withdrawn": {"count": outcomes.count("withdrawn"), "basis": SHANGHAI_37_38,
                              "why": "revoked or repaired: deleted from what may be provided",
                              **({} if since_size is None else {"since": _withdrawn_since(shown, ends, since_size)})},
        "window": {"years": WINDOW_YEARS, "basis": SHANGHAI_35,
                   "counted_from": "the day the act ended (an expired record: its period's last day); a record "
                                   "still in force has no period running and is provided; a record with no "
                                   "dishonesty record: its own time"},
    }


# what the public view (a person's: the whole view) says of the score, as it says it: the grade before a list
# capped it and why, the dimensions each with its points, facts and sentence, credit points, positive rate and
# DSR; the report gave score, grade and reasons only (found by review)
CREDIT_KEYS = ("score", "grade", "reasons", "grade_computed", "grade_capped_by", "points", "level", "buyer_credit",
               "positive_rate", "dsr")
SCORE_KEYS = ("score_kind", "dimensions", "rules_version", "computed_at")


def _credit(view: dict[str, Any]) -> dict[str, Any]:
    score = view.get("credit") or {}
    return {"grade_computed": None, "grade_capped_by": None,  # set only when a list capped the grade
            **{k: view.get(k) for k in CREDIT_KEYS if k in view}, **{k: score.get(k) for k in SCORE_KEYS}}


def _log_size(conn: Any) -> int:
    """The credit log's size now: its highest index plus one (records not yet under a signed head included)."""
    top = conn.execute(select(func.max(t.credit_records.c.idx))).scalar()
    return 0 if top is None else int(top) + 1


def _withdrawn_since(shown: list[tuple[dict[str, Any], dict[str, Any] | str]], ends: dict[tuple[str, Any], _Act],
                     since: int) -> dict[str, Any]:
    """The records an earlier report (cut at `since`) may have carried that are withdrawn now, by a lifting or
    move appended since: the agency deletes them downstream (上海 第三十七条、第三十八条)."""
    by_act: dict[int, list[int]] = {}
    for record, outcome in shown:
        act = _act_of(record, ends)
        if outcome == "withdrawn" and act is not None:
            by_act.setdefault(act.id, []).append(int(record["index"]))
    gone = sorted(i for idx in by_act.values() if max(idx) >= since for i in idx if i < since)
    return {"count": len(gone), "indexes": gone}


def _is_person(public: dict[str, Any]) -> bool:
    """Whether the report is about a natural person: a person or courier, or a shop a person runs (or whose
    operator was never reported, who may be one)."""
    if public["entity"] == "party":
        return public["kind"] in NATURAL_PERSONS
    operator = public["operator"]
    return bool(operator.get("unknown")) or operator.get("kind") in NATURAL_PERSONS


def _identity(public: dict[str, Any]) -> dict[str, Any]:
    """Who the report is about, as the public reads it (a person: masked name, province, verification mark),
    never an ID number, even masked."""
    if public["entity"] == "shop":
        op = public["operator"]
        return {"shop": {"name": public["name"], "url": public["url"], "closed": public["closed"]},
                "operator": {k: op.get(k) for k in ("source", "id", "kind", "name", "uscc", "region", "identity")}}
    return {k: public.get(k) for k in ("kind", "name", "uscc", "region", "region_name", "identity", "flags")}


def _whole(app: Chengxin, source: str, entity_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The whole view (first page) and every credit record of the party or shop, page by page."""
    first = page = parties.show(app, source, entity_id, _WHOLE, limit=200)
    records = list(page["credit_records"])
    while page["credit_records_next_before"] is not None:
        page = parties.show(app, source, entity_id, _WHOLE, limit=200, before=page["credit_records_next_before"])
        records += page["credit_records"]
    return first, records


def _party_key(whole: dict[str, Any]) -> str | None:
    return whole.get("party_key") or (whole.get("operator") or {}).get("party_key")


def _reportable(record: dict[str, Any], person: bool) -> bool:
    """A decided record about the party; in a business's report none whose subject is a person's account."""
    if record["kind"] in UNDECIDED_KINDS or record["kind"] in NOT_DISCLOSED_KINDS:
        return False
    return person or record["payload"].get("scheme") != "ric"


class _Act(NamedTuple):
    """What the report needs of a dishonesty record: its state, when it left force, its last public day."""

    state: str
    ended_at: str | None
    disclose_until: str | None
    id: int = 0


def _ends(conn: Any, party_key: str | None) -> dict[tuple[str, Any], _Act]:
    """The dishonesty record each credit record is about, by the record's log index, by the sanction it is
    about and by dishonesty record id."""
    out: dict[tuple[str, Any], _Act] = {}
    for r in records_of(conn, party_key) if party_key else []:
        act = _Act(r.state, r.ended_at, r.disclose_until, r.id)
        out[("record", r.id)] = act
        if r.credit_idx is not None:
            out[("index", int(r.credit_idx))] = act
        parts = r.record_key.split(lifecycle.SEP)
        if r.origin == "sanction" and len(parts) == 3:  # sanction<SEP>source<SEP>sanction id
            out[("sanction", (parts[1], parts[2]))] = act
    return out


# revoked (上海 第三十七条: 撤销的，删除该信息) or repaired (第三十八条: 修复的，删除该失信信息): never provided
WITHDRAWN = frozenset({L.OVERTURNED, L.REPAIRED})
SHANGHAI_37_38 = "上海市社会信用条例 第三十七条、第三十八条"


def _act_of(record: dict[str, Any], ends: dict[tuple[str, Any], _Act]) -> _Act | None:
    subject = record["subject"]
    keys = [("index", record["index"]), ("sanction", (subject["source"], subject["id"]))
            if subject["kind"] == "sanction" else None, ("record", record["payload"].get("record"))]
    return next((ends[k] for k in keys if k is not None and k in ends), None)


def _act_ended(act: _Act) -> date | None:
    """The day the act ended (上海 第三十五条: 自失信行为或者事件终止之日起计算), None while it is in force. An
    expired record's act ended with its period (`disclose_until`), not when the node got round to expiring
    it: a 2018 penalty whose period ended in 2021, loaded today, was offered until 2031 (found by review)."""
    if act.ended_at is None:
        return None
    ended = lifecycle.day_of(lifecycle.parse_time(act.ended_at))
    if act.state == L.EXPIRED and act.disclose_until:
        return min(ended, lifecycle.day_of(lifecycle.parse_time(act.disclose_until)))
    return ended


def _windowed(record: dict[str, Any], ends: dict[tuple[str, Any], _Act], on: date) -> dict[str, Any] | str:
    """The record as the report shows it (as the public reads its payload: key ids and personal numbers in free
    text masked, no keyed ID hash), with the state of the dishonesty record it is about (`disputed` while under
    objection, 上海 第三十六条: 作出异议标注), with its query period if negative or alleged; else why it is not
    provided: `withdrawn` (revoked or repaired) or `past_window` (its period is over)."""
    act = _act_of(record, ends)
    if act is not None and act.state in WITHDRAWN:  # the penalty, its lifting, the record's moves: all of it
        return "withdrawn"
    shown = {**_unhashed(public_record(record)), "state": act.state if act else None,
             "disputed": act is not None and act.state == L.APPEALED}
    kind = record["kind"]
    if kind in NEUTRAL_KINDS or kind in OBJECTION_KINDS or _positive(record):
        return {**shown, "negative": False}
    alleged = kind in ALLEGED_KINDS  # not negative, but still credit information: the same period applies
    if act is not None and act.ended_at is None:  # in force: no period runs yet, and it is provided
        return {**shown, "negative": not alleged, "alleged": alleged, "basis": _basis(record),
                "query_period": {"from": None, "until": None, "in_force": True, "basis": SHANGHAI_35}}
    ended = _act_ended(act) if act is not None else None
    start = ended or lifecycle.day_of(lifecycle.parse_time(record["at"]))  # no dishonesty record: its own time
    last = _anniversary(start, WINDOW_YEARS)
    if on > last:
        return "past_window"
    return {**shown, "negative": not alleged, "alleged": alleged, "basis": _basis(record),
            "query_period": {"from": start.isoformat(), "until": last.isoformat(), "act_ended": ended is not None,
                             "in_force": False, "basis": SHANGHAI_35}}


def _unhashed(shown: dict[str, Any]) -> dict[str, Any]:
    """A person's keyed ID hash out of the payload, and so out of the leaf bytes."""
    payload = {k: v for k, v in shown["payload"].items() if k != "party" or not str(v).startswith("ric:")}
    if payload == shown["payload"]:
        return shown
    return {**{k: v for k, v in shown.items() if k != "leaf_bytes"}, "payload": payload,
            "masked": sorted({*shown.get("masked", []), "party"})}


def _positive(record: dict[str, Any]) -> bool:
    """A record that counts in the party's favour: joining the red list, a clean inspection, a complaint
    rejected or withdrawn."""
    p = record["payload"]
    return (record["kind"] == "list_entered" and p.get("list") == "red") or \
        (record["kind"] == "inspection" and p.get("result") == "pass") or \
        (record["kind"] == "complaint_outcome" and p.get("outcome") in ("rejected", "withdrawn"))


def _basis(record: dict[str, Any]) -> str | None:
    p = record["payload"]
    return p.get("legal_basis") or p.get("basis") or None


def _anniversary(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February: the period ends on the 28th
        return day.replace(year=day.year + years, day=28)


def _journal(app: Chengxin, viewer: Viewer, action: str, party: tuple[str, str], purpose: str,
             authorization: Authorization | None) -> None:
    said = f"{purpose} [authorization {authorization}]" if authorization else purpose
    with write_transaction(app.engine) as conn:
        conn.execute(t.access_journal.insert().values(
            at=credit_log.now_utc(), key_id=viewer.key_id or "?", action=action,
            object=JOURNAL_SEP.join((party[0], party[1], said[:300]))))
