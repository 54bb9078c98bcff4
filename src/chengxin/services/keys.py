"""API keys: issue, authenticate, revoke. Only a SHA-256 of each secret is stored (secrets are random
256-bit tokens, so an unkeyed hash is safe here, unlike for ID numbers)."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from sqlalchemy import select, update

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.resources import event_vocabulary
from chengxin.bootstrap import Chengxin
from chengxin.domain.events import Event, key_character, parse_line, too_long
from chengxin.domain.vocabulary import source_kind
from chengxin.exc import InvalidInput, NotAuthenticated, NotFound
from chengxin.services.credit_log import now_utc
from chengxin.services.prepare import Line, PreparedBatch, prepare
from chengxin.services.viewer import PLATFORM, REGULATOR, Viewer


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


def create_key(app: Chengxin, role: str, label: str, source: str | None = None) -> tuple[str, str]:
    """Issue a key; returns (key_id, secret). The secret is shown once and never stored."""
    if role not in (PLATFORM, REGULATOR):
        raise InvalidInput(f"role must be {PLATFORM!r} or {REGULATOR!r}")
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
    secret = f"cx_{key_id}_{secrets.token_urlsafe(32)}"
    with write_transaction(app.engine) as conn:
        conn.execute(t.api_keys.insert().values(
            key_id=key_id, secret_hash=_digest(secret), role=role, source=source,
            label=label, created_at=now_utc()))
    return key_id, secret


def prepare_submission(app: Chengxin, viewer: Viewer, lines: list[Line]) -> PreparedBatch:
    """The lines a key submits, prepared, with those it may not send rejected by line, naming `source`.

    A platform key, and a regulator key bound to its authority's source (`keys create --source`), send that
    source's events only, and name other sources' entities only where the vocabulary allows. A regulator key
    bound to no source (issued before keys could be bound) sends any authority's events (`urn:cx:regulator:`),
    each checked as its own source's: never a platform's or logistics firm's, which it could forge (a shop
    closed "by" a platform; found by review)."""
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


# Known keys are remembered for a few seconds so a busy feed does not pay a query per request. A revocation
# takes effect at once in the process that revoked, and within CACHE_SECONDS everywhere else.
CACHE_SECONDS = 10.0
_cache: dict[str, tuple[float, Viewer]] = {}


def authenticate(app: Chengxin, secret: str) -> Viewer:
    """The viewer a secret stands for; NotAuthenticated for unknown or revoked keys."""
    digest = _digest(secret)
    hit = _cache.get(digest)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    with read_connection(app.engine) as conn:
        row = conn.execute(select(t.api_keys).where(t.api_keys.c.secret_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        _cache.pop(digest, None)
        raise NotAuthenticated("unknown or revoked API key")
    viewer = Viewer(role=row.role, source=row.source, key_id=row.key_id)
    _cache[digest] = (time.monotonic() + CACHE_SECONDS, viewer)
    return viewer


def revoke_key(app: Chengxin, key_id: str) -> None:
    with write_transaction(app.engine) as conn:
        done = conn.execute(update(t.api_keys).where(t.api_keys.c.key_id == key_id).values(revoked_at=now_utc()))
    if done.rowcount == 0:
        raise NotFound(f"no API key {key_id!r}")
    _cache.clear()


def list_keys(app: Chengxin) -> list[dict[str, str | None]]:
    with read_connection(app.engine) as conn:
        rows = conn.execute(select(t.api_keys).order_by(t.api_keys.c.created_at))
        return [{"key_id": r.key_id, "role": r.role, "source": r.source, "label": r.label,
                 "created_at": r.created_at, "revoked_at": r.revoked_at} for r in rows]
