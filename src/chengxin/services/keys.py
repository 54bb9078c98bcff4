"""API keys: issue, authenticate, revoke. Only a SHA-256 of each secret is stored (secrets are random
256-bit tokens, so an unkeyed hash is safe here, unlike for ID numbers)."""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import select, update

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.resources import event_vocabulary
from chengxin.bootstrap import Chengxin
from chengxin.domain.events import key_character, too_long
from chengxin.domain.vocabulary import source_kind
from chengxin.exc import InvalidInput, NotAuthenticated, NotFound
from chengxin.services.credit_log import now_utc
from chengxin.services.viewer import PLATFORM, REGULATOR, Viewer


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def source_refused(source: str) -> str | None:
    """Why a platform key may not carry this source (None: it may): the checks an event's `source` passes
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
    if role == REGULATOR and source:  # it would not be stored, yet `keys create` reported it (found by review)
        raise InvalidInput("a regulator key has no source: it reads and decides for every source")
    key_id = secrets.token_hex(6)
    secret = f"cx_{key_id}_{secrets.token_urlsafe(32)}"
    with write_transaction(app.engine) as conn:
        conn.execute(t.api_keys.insert().values(
            key_id=key_id, secret_hash=_digest(secret), role=role, source=source if role == PLATFORM else None,
            label=label, created_at=now_utc()))
    return key_id, secret


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
