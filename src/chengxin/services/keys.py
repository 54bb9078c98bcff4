"""API keys: issue, authenticate, rotate, revoke. Only a SHA-256 of each secret is stored (secrets are random
256-bit tokens, so an unkeyed hash is safe here, unlike for ID numbers).

A rotation gives a key a new secret (same id, role and source) and keeps accepting the one it replaced until
a grace period ends, so a feed switches without a gap; one previous secret is kept, so rotating again within
the grace ends the older one at once. While the old secret is in its grace the API's answers to it say so in
their headers (`rotated_headers`); once refused, it is told it was replaced (the older one of two rotations in
a row, whose hash is no longer kept, is refused as an unknown key)."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, NamedTuple

from sqlalchemy import or_, select, update

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.resources import event_vocabulary
from chengxin.bootstrap import Chengxin
from chengxin.domain.event_fields import key_character, too_long
from chengxin.domain.events import Event, parse_line
from chengxin.domain.vocabulary import source_kind
from chengxin.exc import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from chengxin.services.credit_log import now_utc
from chengxin.services.prepare import Line, PreparedBatch, prepare
from chengxin.services.viewer import AGENCY, PLATFORM, REGULATOR, Viewer

STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # the stored times' fixed-width UTC text (tables.py)
DEFAULT_GRACE_HOURS = 24
MAX_GRACE_HOURS = 24 * 30  # an old secret that works for months is a second key nobody watches


def _now() -> datetime:
    """The clock of key rotation (tests set it)."""
    return datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def source_refused(source: str) -> str | None:
    """Why a key may not carry this source (None: it may): the checks an event's `source` passes
    (events-v1: not blank, no control character or "|", within its length), or every event it sent would be
    refused (found by review)."""
    if not source.strip() or source != source.strip():
        return "source must be a non-empty string without surrounding spaces, e.g. urn:cx:platform:P1"
    limit = event_vocabulary().lengths.get("source")
    if limit is not None and len(source) > limit:
        return too_long("source", source, limit)
    return key_character("source", source, plain=True, source=True)


def agency_source_refused(source: str | None) -> str | None:
    """Why an agency key may not carry this source (None: it may). The source names the agency in the access
    journal and in its reports' `requested_by`: `urn:cx:agency:<name>`, never a reporter's kind, whose
    events it could then be taken for."""
    parts = (source or "").split(":")
    if len(parts) < 4 or parts[0].lower() != "urn" or parts[1].lower() != "cx" or parts[2] != "agency" \
            or not all(parts[3:]):
        return "an agency key needs the `source` naming the credit agency, e.g. urn:cx:agency:ZX001"
    return source_refused(str(source))


def create_key(app: Chengxin, role: str, label: str, source: str | None = None) -> tuple[str, str]:
    """Issue a key; returns (key_id, secret). The secret is shown once and never stored."""
    if role not in (PLATFORM, REGULATOR, AGENCY):
        raise InvalidInput(f"role must be {PLATFORM!r}, {REGULATOR!r} or {AGENCY!r}")
    if role == AGENCY and (why := agency_source_refused(source)):
        raise InvalidInput(why)
    if role != AGENCY and source is not None and source.split(":")[2:3] == [AGENCY]:
        raise InvalidInput(f"source {source!r} names a credit agency: issue an agency key (--role agency)")
    if role == PLATFORM and not source:
        raise InvalidInput("a platform key needs the `source` its events carry, e.g. urn:cx:platform:P1")
    if role == PLATFORM and source_kind(str(source)) == "regulator":  # `only_from` would be void
        raise InvalidInput("a platform key cannot report as a regulator source; issue a regulator key")
    if role == PLATFORM and (why := source_refused(str(source))):  # its events could never land
        raise InvalidInput(why)
    if role == REGULATOR and source is not None and source_kind(source) != "regulator":
        # a regulator key posing as a platform or logistics firm forged its events (found by review)
        raise InvalidInput(f"source {source!r}: a regulator key is bound to an authority's source, "
                           "e.g. urn:cx:regulator:310000")
    if role == REGULATOR and source is not None and (why := source_refused(source)):
        raise InvalidInput(why)
    key_id = secrets.token_hex(6)
    secret = _secret(key_id)
    with write_transaction(app.engine) as conn:
        conn.execute(t.api_keys.insert().values(
            key_id=key_id, secret_hash=_digest(secret), role=role, source=source,
            label=label, created_at=now_utc()))
    return key_id, secret


def _secret(key_id: str) -> str:
    return f"cx_{key_id}_{secrets.token_urlsafe(32)}"


def prepare_submission(app: Chengxin, viewer: Viewer, lines: list[Line]) -> PreparedBatch:
    """The lines a key submits, prepared, with those it may not send rejected by line, naming `source`.

    A platform key, and a regulator key bound to its authority's source (`keys create --source`), send that
    source's events only, and name other sources' entities only where the vocabulary allows. A regulator key
    bound to no source (issued before keys could be bound) sends any authority's events (`urn:cx:regulator:`),
    each checked as its own source's: never a platform's or logistics firm's, which it could forge (a shop
    closed "by" a platform; found by review). A credit agency's key submits nothing."""
    if viewer.role == AGENCY:
        raise Forbidden(AGENCY_SUBMITS_NOTHING)
    if viewer.role != REGULATOR or viewer.source:
        return prepare(app, lines, viewer.source)
    refused: list[dict[str, Any]] = []
    by_source: dict[str | None, list[Line]] = {}
    for line in lines:
        parsed = parse_line(line[2], app.vocab)
        source = parsed.source if isinstance(parsed, Event) else None  # a broken line: `prepare` says why
        if source is not None and source_kind(source) != "regulator":
            refused.append({"file": line[0], "line": line[1], "reason": (
                f"source {source!r} is not a regulator's: a regulator key sends only urn:cx:regulator: sources")})
        else:
            by_source.setdefault(source, []).append(line)
    batches = [prepare(app, group, source) for source, group in by_source.items()]
    rejects = sorted([*refused, *(r for b in batches for r in b.rejects)], key=lambda r: int(r["line"]))
    items = sorted((item for b in batches for item in b.items), key=lambda item: item.where[1])
    return PreparedBatch(rejects, items)


AGENCY_SUBMITS_NOTHING = (
    "a credit agency's key reads credit reports and never submits events: credit information is reported by "
    "its providers (platforms, logistics firms, hotlines, authorities), and an agency queries it "
    "(上海市社会信用条例 第三十五条; 浙江省公共信用信息管理条例 第十九条) / 信用服务机构的密钥只能查询，不能报送事件")


# Known keys are remembered for a few seconds so a busy feed does not pay a query per request. A revocation
# takes effect at once in the process that revoked, and within CACHE_SECONDS everywhere else.
CACHE_SECONDS = 10.0
_cache: dict[str, tuple[float, Viewer, Replaced | None]] = {}  # digest: (expiry, viewer, an old secret's rotation)


class Replaced(NamedTuple):
    """A secret a rotation replaced, still accepted: when it was replaced and until when it is accepted."""

    rotated_at: str
    until: str


def authenticate(app: Chengxin, secret: str) -> Viewer:
    """The viewer a secret stands for (`authenticate_key`, without whether the secret was replaced)."""
    return authenticate_key(app, secret)[0]


def authenticate_key(app: Chengxin, secret: str) -> tuple[Viewer, Replaced | None]:
    """The viewer a secret stands for, and, for a secret a rotation replaced that is still in its grace, when
    (the API tells the client in its answer's headers, so it switches before the grace ends: found by review).
    NotAuthenticated for unknown or revoked keys, and for a replaced secret once its grace has ended (checked on
    every request, cached or not): that one says so, since only a caller who held the old secret can present
    it, where an unknown secret learns nothing."""
    digest = _digest(secret)
    hit = _cache.get(digest)
    if hit is not None and hit[0] > time.monotonic() and _in_grace(hit[2]):
        return hit[1], hit[2]
    k = t.api_keys.c
    with read_connection(app.engine) as conn:
        row = conn.execute(select(t.api_keys).where(or_(k.secret_hash == digest, k.previous_hash == digest))).first()
    old = row is not None and row.secret_hash != digest
    replaced = Replaced(row.rotated_at, row.previous_until) if row is not None and old and row.previous_until \
        else None
    if row is None or row.revoked_at is not None or (old and not _in_grace(replaced)):
        _cache.pop(digest, None)
        raise NotAuthenticated(_refusal(replaced) if row is not None and row.revoked_at is None else UNKNOWN_KEY)
    viewer = Viewer(role=row.role, source=row.source, key_id=row.key_id)
    _cache[digest] = (time.monotonic() + CACHE_SECONDS, viewer, replaced)
    return viewer, replaced


UNKNOWN_KEY = "unknown or revoked API key"


def _refusal(replaced: Replaced | None) -> str:
    """Why a replaced secret is refused: said only to a caller presenting it, who held it."""
    if replaced is None:  # a rotation before rotations kept a refused secret's hash
        return UNKNOWN_KEY
    return (f"this secret was replaced by a rotation of its API key at {replaced.rotated_at} and was accepted "
            f"until {replaced.until}: use the key's new secret / 此密钥已轮换，旧密钥的宽限期已于 {replaced.until} "
            "结束，请使用新密钥")


def _in_grace(replaced: Replaced | None) -> bool:
    """Whether a secret is accepted now: a current one always (None), a replaced one before its grace ends."""
    return replaced is None or _now().strftime(STAMP) < replaced.until


def rotated_headers(replaced: Replaced) -> dict[str, str]:
    """What an answer to a replaced secret in its grace says, so the client knows to switch: `Deprecation`
    (RFC 9745: since when, `@` epoch seconds), `Sunset` (RFC 8594: when it stops working, an HTTP date),
    `X-Chengxin-Key-Rotated` (the grace's end, as the API writes times) and a `Warning` people read."""
    since, until = (datetime.strptime(s, STAMP).replace(tzinfo=UTC) for s in replaced)
    return {"Deprecation": f"@{int(since.timestamp())}", "Sunset": format_datetime(until, usegmt=True),
            "X-Chengxin-Key-Rotated": replaced.until,
            "Warning": f'299 - "API key secret replaced by a rotation; accepted until {replaced.until}: '
                       'switch to the new secret"'}


def rotate_key(app: Chengxin, key_id: str, grace_hours: float = DEFAULT_GRACE_HOURS) -> tuple[str, str | None]:
    """A new secret for the key (same id, role and source); returns (secret, until when the old one is still
    accepted: None with a grace of 0, refused at once). A revoked key is not rotated (409): issue a new one."""
    if not 0 <= grace_hours <= MAX_GRACE_HOURS:
        raise InvalidInput(f"grace hours: from 0 (the old secret refused at once) to {MAX_GRACE_HOURS}")
    secret, now = _secret(key_id), _now()
    until = (now + timedelta(hours=grace_hours)).strftime(STAMP) if grace_hours else None
    # the old secret's hash is kept with a grace of 0 too (ended at once), so presenting it is told it was replaced
    k = t.api_keys.c
    with write_transaction(app.engine) as conn:
        row = conn.execute(select(k.secret_hash, k.revoked_at).where(k.key_id == key_id)).first()
        if row is None:
            raise NotFound(f"no API key {key_id!r}")
        if row.revoked_at is not None:
            raise Conflict(f"API key {key_id!r} was revoked: issue a new one (`chengxin keys create`)")
        conn.execute(update(t.api_keys).where(k.key_id == key_id).values(
            secret_hash=_digest(secret), previous_hash=row.secret_hash, previous_until=until or now.strftime(STAMP),
            rotated_at=now.strftime(STAMP)))
    _cache.clear()  # this process refuses an old secret at once when its grace is 0
    return secret, until


def revoke_key(app: Chengxin, key_id: str) -> None:
    with write_transaction(app.engine) as conn:
        done = conn.execute(update(t.api_keys).where(t.api_keys.c.key_id == key_id).values(revoked_at=now_utc()))
    if done.rowcount == 0:
        raise NotFound(f"no API key {key_id!r}")
    _cache.clear()


def list_keys(app: Chengxin) -> list[dict[str, str | None]]:
    """Every key, never a secret nor its hash: `rotated_at` (its latest rotation) and `previous_until` (until
    when the secret it replaced is still accepted; None once that has passed, or with no grace)."""
    now = _now().strftime(STAMP)
    with read_connection(app.engine) as conn:
        rows = conn.execute(select(t.api_keys).order_by(t.api_keys.c.created_at))
        return [{"key_id": r.key_id, "role": r.role, "source": r.source, "label": r.label,
                 "created_at": r.created_at, "revoked_at": r.revoked_at, "rotated_at": r.rotated_at,
                 "previous_until": r.previous_until if r.previous_until and r.previous_until > now else None}
                for r in rows]


def viewer_of(app: Chengxin, key_id: str, role: str) -> Viewer:
    """The viewer an issued key of `role` stands for, by its id: what the command line acts as when it serves
    a key's holder (`chengxin report --key`), journaled under that key as the API would be."""
    k = t.api_keys.c
    with read_connection(app.engine) as conn:
        row = conn.execute(select(k.role, k.source, k.revoked_at).where(k.key_id == key_id)).first()
    if row is None or row.revoked_at is not None:
        raise NotFound(f"no API key {key_id!r}, or it was revoked")
    if row.role != role:
        raise Forbidden(f"API key {key_id!r} is a {row.role} key, not a{'n' if role[0] in 'aeiou' else ''} {role} key")
    return Viewer(role=row.role, source=row.source, key_id=key_id)
