"""Checks of a natural person's authorization of a credit agency's report (浙江省公共信用信息管理条例 第十九条):
the node never sees the signed document, only its reference (SHA-256, day signed), so it refuses what is plainly
not an authorization (found by review: an all-zero hash "signed 1900-01-01" gave full reports of two persons):

- a degenerate digest (one hex digit 64 times): no document hashes to it;
- a signing day after today, or older than the validity period of `vocab/agency_authorization.yaml` (one year);
- a signing day before the person was born (by the ID number on file; never shown or journaled);
- a reference already used for a report of another person: the journal holds every report's reference and
  party (`agency_report` entries), so one document cannot authorize reports of two persons.

A refusal is `InvalidInput` (422) for the reference itself, `Forbidden` (403) for one that does not fit the
person; the report journals either as `agency_report_refused`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import yaml
from sqlalchemy import select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.adapters.resources import vocab_text
from chengxin.bootstrap import Chengxin
from chengxin.exc import Forbidden, InvalidInput
from chengxin.services.access_journal import JOURNAL_SEP
from chengxin.services.identity import reveal_id_number

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Rule:
    validity_days: int
    reason_zh: str
    reason_en: str


@cache
def rule() -> Rule:
    doc = yaml.safe_load(vocab_text("agency_authorization.yaml"))
    days = doc["validity_days"]
    if not isinstance(days, int) or not 1 <= days <= 3650:
        raise ValueError("vocab/agency_authorization.yaml: validity_days, a whole number of days from 1 to 3650")
    return Rule(days, doc["reason"]["zh"], doc["reason"]["en"])


@dataclass(frozen=True)
class Authorization:
    """The reference to a natural person's signed authorization of this query: the document's SHA-256 and the
    day it was signed. The document stays with the agency; the journal keeps the reference."""

    sha256: str
    signed_on: date

    def refused(self, on: date) -> str | None:
        """Why the reference itself cannot be an authorization, or None."""
        if not _SHA256.fullmatch(self.sha256):
            return "authorization.sha256: the signed document's SHA-256, 64 lower-case hex digits"
        if len(set(self.sha256)) == 1:
            return "authorization.sha256: one digit repeated is no document's SHA-256; give the signed document's"
        if self.signed_on > on:
            return f"authorization.signed_on: {self.signed_on} is after today ({on})"
        r = rule()
        if self.signed_on < on - timedelta(days=r.validity_days):
            return (f"authorization.signed_on: {self.signed_on} is more than {r.validity_days} days ago; a new "
                    f"authorization is needed ({r.reason_en} / {r.reason_zh})")
        return None

    def __str__(self) -> str:
        return f"sha256:{self.sha256} signed {self.signed_on.isoformat()}"


def check(app: Chengxin, auth: Authorization, party_key: str | None, on: date) -> None:
    """InvalidInput or Forbidden if the authorization cannot be the person's (see the module's docstring)."""
    why = auth.refused(on)
    if why:
        raise InvalidInput(why)
    if party_key is None:
        return
    s = t.subjects.c
    with read_connection(app.engine) as conn:
        linked = list(conn.execute(select(t.subjects).where(s.party_key == party_key)))
        used = _parties_of(conn, auth)
    births = [b for b in (_birth(app, r) for r in linked) if b is not None]
    if births and auth.signed_on < min(births):
        raise Forbidden("authorization.signed_on: before the person was born (by the ID number on file); not this "
                        "person's authorization (浙江省公共信用信息管理条例 第十九条)")
    mine = {(r.source, r.subject_id) for r in linked}
    if used - mine and _other_person(app, used - mine, party_key):
        raise Forbidden("authorization: this signed document was already given for a report of another person; an "
                        "authorization is one person's (个人信息保护法 第十四条, 浙江省公共信用信息管理条例 第十九条)")


def _parties_of(conn: Any, auth: Authorization) -> set[tuple[str, str]]:
    """The parties (source, id) of the reports journaled with this document's SHA-256."""
    j = t.access_journal.c
    rows = conn.execute(select(j.object).where(j.action == "agency_report",
                                               j.object.contains(f"[authorization sha256:{auth.sha256} ")))
    out = set()
    for (obj,) in rows:
        source, _, rest = obj.partition(JOURNAL_SEP)
        subject, _, _ = rest.partition(JOURNAL_SEP)
        out.add((source, subject))
    return out


def _other_person(app: Chengxin, refs: set[tuple[str, str]], party_key: str) -> bool:
    """Whether any of these parties or shops is of another party than `party_key` (a shop: its operator's)."""
    s, sh = t.subjects.c, t.shops.c
    with read_connection(app.engine) as conn:
        for source, entity in refs:
            key = conn.execute(select(s.party_key).where(s.source == source, s.subject_id == entity)).scalar()
            if key is None:
                op = conn.execute(select(sh.operator_source, sh.operator_id).where(
                    sh.source == source, sh.shop_id == entity)).first()
                key = conn.execute(select(s.party_key).where(
                    s.source == op[0], s.subject_id == op[1])).scalar() if op else None
            if key is not None and key != party_key:
                return True
    return False


def _birth(app: Chengxin, subject: Any) -> date | None:
    """The birth date in the person's ID number (decrypted here only to compare; never returned to a caller)."""
    from stdnum.cn import ric

    number = reveal_id_number(app.keys, subject._asdict())
    if not number or len(number) != 18:
        return None
    try:
        return ric.get_birth_date(number)
    except Exception:  # a number that does not parse gives no birth date to compare with
        return None
