"""Real-name identity at ingestion (R3): check the legal identifier, link parties, protect ID numbers.

A subject whose identifier fails its check is still recorded as sent, flagged `identity_valid = false`
with the reason. Subjects with the same valid legal identifier share a `party_key` and are one party.
A resident ID number is stored only as AES-GCM ciphertext, an HMAC for linking, and a masked form.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from chengxin.adapters import crypto
from chengxin.domain import identity


def protect_subject(keys: crypto.Keys, row: dict[str, Any], *, today: date) -> dict[str, Any]:
    """Replace a projected subject row's raw identifiers by checked, linked and protected columns."""
    id_number = row.pop("id_number", None)
    uscc = row.get("uscc")
    row.update(id_cipher=None, id_hmac=None, id_masked=None, identity_scheme=None,
               identity_valid=False, identity_reason=identity.NO_IDENTIFIER)
    local_key = f"local:{row['source']}|{row['subject_id']}"
    row["party_key"] = local_key
    natural = row.get("kind") in NATURAL_PERSONS
    if uscc is not None:
        check = identity.check_uscc(uscc)
        row["uscc"] = identity.mask_ric(check.normalised) if identity.holds_ric(uscc) else check.normalised
        if not natural:
            row.update(identity_scheme="uscc", identity_valid=check.valid, identity_reason=check.reason)
        if check.valid and not natural:
            row["party_key"] = f"uscc:{check.normalised}"
    if id_number is not None:
        _protect_id_number(keys, row, id_number, today=today, keep_key=uscc is not None and not natural)
    return row


# A natural person (a buyer, a courier) is identified by the resident ID number only: a USCC sent with one is
# kept as sent but links nothing. Keyed by it, a person registered with any business's USCC joined that
# business's party, which then showed the person's report and, a person now linked, lost its public score
# (found by review).
NATURAL_PERSONS = frozenset({"person", "courier"})


def _protect_id_number(keys: crypto.Keys, row: dict[str, Any], id_number: str, *, today: date,
                       keep_key: bool) -> None:
    check = identity.check_ric(id_number, today=today)
    aad = f"subjects.id_number|{row['source']}|{row['subject_id']}"
    row.update(id_cipher=crypto.encrypt(keys, check.normalised, aad),
               id_hmac=crypto.keyed_hash(keys, "ric", check.normalised),
               id_masked=identity.mask_ric(check.normalised))
    if keep_key and row["identity_scheme"] == "uscc":
        return  # an enterprise is identified by its USCC; an ID number given too is kept, protected
    row.update(identity_scheme="ric", identity_valid=check.valid, identity_reason=check.reason)
    if check.valid:
        row["party_key"] = f"ric:{row['id_hmac']}"


def reveal_id_number(keys: crypto.Keys, subject: dict[str, Any]) -> str | None:
    """Decrypt a subject's ID number (for an authorised regulator only; callers journal the access)."""
    blob = subject.get("id_cipher")
    if blob is None:
        return None
    return crypto.decrypt(keys, blob, f"subjects.id_number|{subject['source']}|{subject['subject_id']}")


def body_needs_protection(data: Mapping[str, Any]) -> bool:
    """Whether an event's data carries an ID number: as `id_number`, or as a `uscc` that is one."""
    return "id_number" in data or (isinstance(data.get("uscc"), str) and identity.holds_ric(data["uscc"]))


def protect_body(keys: crypto.Keys, envelope: dict[str, Any]) -> dict[str, Any]:
    """The raw event as received, but with a resident ID number encrypted in place (`id_number`, or a `uscc`
    holding one)."""
    data = envelope.get("data")
    if not isinstance(data, dict):
        return envelope
    out = dict(data)
    for field in ("id_number", "uscc"):
        value = data.get(field)  # none, or null: kept as sent (encrypting null would store the text "None")
        if isinstance(value, str) and (field == "id_number" or identity.holds_ric(value)):
            aad = f"events.body.{field}|{envelope['source']}|{envelope['id']}"
            out[field] = crypto.encrypt_text(keys, value, aad)
    return {**envelope, "data": out} if out != data else envelope
