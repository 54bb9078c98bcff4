"""Keys and cryptography: AES-GCM for personal data, HMAC for keyed hashes, Ed25519 for tree heads.

Keys come from settings. In demo mode missing keys are generated once into `keys_file` (mode 0600); in
production a missing key is a ConfigError: there are no built-in default secrets. Nor known ones: production
refuses a key of one repeated byte (an all-zero seed) and a key used for two purposes, and the demo's log name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chengxin.exc import ConfigError, IntegrityFailure
from chengxin.settings import DEMO_LOG_ORIGIN, Settings

_ENC_PREFIX = "cx-enc:v1:"
KEY_NAMES = ("pii_key", "index_key", "signing_key")


@dataclass(frozen=True)
class Keys:
    """The node's secrets, each for one purpose."""

    pii: bytes
    index: bytes
    signing: Ed25519PrivateKey

    @property
    def verify_key(self) -> Ed25519PublicKey:
        return self.signing.public_key()

    @property
    def key_id(self) -> str:
        """Short id of the signing key, stored with each tree head (keys can rotate)."""
        raw = self.verify_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return hashlib.sha256(raw).hexdigest()[:16]

    def public_key_b64(self) -> str:
        return base64.b64encode(public_bytes(self)).decode()

    def with_signing_key(self, seed: bytes) -> Keys:
        """These keys with another signing key (a rotation's new key): the PII and index keys do not rotate."""
        if len(seed) != 32:
            raise ConfigError("a signing key must be 32 bytes, base64-encoded")
        return Keys(pii=self.pii, index=self.index, signing=Ed25519PrivateKey.from_private_bytes(seed))


def public_bytes(keys: Keys) -> bytes:
    """The raw 32-byte public key of the node's signing key."""
    return keys.verify_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def signing_seed_b64(keys: Keys) -> str:
    """The signing key as CHENGXIN_SIGNING_KEY holds it: base64 of the 32-byte seed."""
    return base64.b64encode(keys.signing.private_bytes_raw()).decode()


def load_keys(settings: Settings) -> Keys:
    """Keys from settings; in demo mode, fill the gaps from (or into) the demo key file."""
    values = {name: getattr(settings, name) for name in KEY_NAMES}
    missing = [name for name, v in values.items() if not v]
    if settings.env == "production":
        names = ", ".join(f"CHENGXIN_{n.upper()}" for n in missing)
        if missing:
            raise ConfigError(f"production mode needs {names}; generate with `chengxin keys generate`" +
                              ("; and CHENGXIN_LOG_ORIGIN" if settings.log_origin == DEMO_LOG_ORIGIN else ""))
        if settings.log_origin == DEMO_LOG_ORIGIN:
            raise ConfigError(f"production mode needs CHENGXIN_LOG_ORIGIN, this log's own name in every signed head "
                              f"(not the demo's {DEMO_LOG_ORIGIN!r}, which other nodes sign as too), e.g. "
                              "credit.example.gov.cn/log; set it once, before the first record")
        keys = _decode(values)
        _refuse_known(keys)
        return keys
    if missing:
        stored = _demo_keys(settings.keys_file)
        values.update({n: stored[n] for n in missing})
    return _decode(values)


def _refuse_known(keys: Keys) -> None:
    """Production refuses keys anyone could guess or that serve two purposes: a key of one repeated byte (an
    all-zero seed, say, left from a template), and the same key set as two of the three. With the signing key
    also the PII or index key, anyone who learns one secret can sign heads, and the reverse."""
    raw = {"pii_key": keys.pii, "index_key": keys.index,
           "signing_key": keys.signing.private_bytes_raw()}
    for name, value in raw.items():
        if len(set(value)) == 1:
            raise ConfigError(f"CHENGXIN_{name.upper()} is the byte {value[0]:#04x} repeated, a key anyone can "
                              "guess; generate keys with `chengxin keys generate`")
    for i, a in enumerate(KEY_NAMES):
        for b in KEY_NAMES[i + 1:]:
            if raw[a] == raw[b]:
                raise ConfigError(f"CHENGXIN_{a.upper()} and CHENGXIN_{b.upper()} are the same key: each purpose "
                                  "needs its own; generate keys with `chengxin keys generate`")


def generate_key_material() -> dict[str, str]:
    """Fresh random keys, base64-encoded, for a key file or environment."""
    return {name: base64.b64encode(os.urandom(32)).decode() for name in KEY_NAMES}


def _demo_keys(path: Path) -> dict[str, str]:
    """The demo keys in `path`, made there first if missing: written whole to a file of this process, then
    linked into place (atomic: two commands starting on a new store at once made the file twice, or read it
    half written; the second now reads the first's)."""
    if path.exists():
        return dict(json.loads(path.read_text()))
    path.parent.mkdir(parents=True, exist_ok=True)
    material = generate_key_material()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(material, f)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        material = dict(json.loads(path.read_text()))
    finally:
        tmp.unlink()
    return material


def replace_demo_signing_key(path: Path, seed_b64: str) -> bool:
    """Write a rotated signing key into the demo key file, if that file holds the node's signing key (True when
    written): a demo node started after a rotation then signs with the new key, as a production node whose
    CHENGXIN_SIGNING_KEY is set to it. Written whole and renamed into place, mode 0600."""
    if not path.exists():
        return False
    material = dict(json.loads(path.read_text()))
    if "signing_key" not in material:
        return False
    material["signing_key"] = seed_b64
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(material, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return True


def _decode(values: dict[str, str | None]) -> Keys:
    try:
        raw = {n: base64.b64decode(str(values[n]), validate=True) for n in KEY_NAMES}
    except ValueError as e:
        raise ConfigError(f"a key is not valid base64: {e}") from None
    for name in KEY_NAMES:
        if len(raw[name]) != 32:
            raise ConfigError(f"CHENGXIN_{name.upper()} must be 32 bytes, base64-encoded")
    return Keys(pii=raw["pii_key"], index=raw["index_key"],
                signing=Ed25519PrivateKey.from_private_bytes(raw["signing_key"]))


@lru_cache(maxsize=64)
def _subkey(index_key: bytes, purpose: bytes) -> bytes:
    return hmac.digest(index_key, purpose, "sha256")


@lru_cache(maxsize=64)
def _hmac_pads(index_key: bytes, purpose: bytes) -> tuple[Any, Any]:
    """SHA-256 states after the inner and outer HMAC pads of a purpose's subkey (RFC 2104): an HMAC is then
    two copies, two updates and two digests, half the cost of `hmac.digest`, which sets the key up anew."""
    key = _subkey(index_key, purpose).ljust(64, b"\0")  # 32-byte subkey: shorter than the block, zero-padded
    return (hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key)))


def _hmac_hex(index_key: bytes, purpose: bytes, message: bytes) -> str:
    inner, outer = _hmac_pads(index_key, purpose)
    inner = inner.copy()
    inner.update(message)
    outer = outer.copy()
    outer.update(inner.digest())
    return outer.hexdigest()  # type: ignore[no-any-return]


def keyed_hash(keys: Keys, purpose: str, value: str) -> str:
    """HMAC-SHA256 pseudonym of `value` for one purpose (a subkey per purpose keeps uses unlinkable)."""
    return _hmac_hex(keys.index, purpose.encode(), value.encode())


def content_hash(keys: Keys, canonical_bytes: bytes) -> str:
    """Keyed hash of an event's canonical content: detects conflicts without letting anyone brute-force
    a low-entropy identifier back out of an unkeyed hash (reliability.md §6)."""
    return _hmac_hex(keys.index, b"event-content", canonical_bytes)


def encrypt(keys: Keys, plaintext: str, aad: str) -> bytes:
    """AES-256-GCM with a random nonce; `aad` binds the ciphertext to its table, column and row."""
    nonce = os.urandom(12)
    return nonce + AESGCM(keys.pii).encrypt(nonce, plaintext.encode(), aad.encode())


def decrypt(keys: Keys, blob: bytes, aad: str) -> str:
    try:
        return AESGCM(keys.pii).decrypt(blob[:12], blob[12:], aad.encode()).decode()
    except InvalidTag:
        raise IntegrityFailure(f"ciphertext for {aad.split('|')[0]} does not decrypt") from None


def encrypt_text(keys: Keys, plaintext: str, aad: str) -> str:
    """`encrypt` as a text token, for encrypting a field inside a stored JSON body."""
    return _ENC_PREFIX + base64.b64encode(encrypt(keys, plaintext, aad)).decode()


def decrypt_text(keys: Keys, token: str, aad: str) -> str:
    return decrypt(keys, base64.b64decode(token.removeprefix(_ENC_PREFIX)), aad)


def checkpoint_note(origin: str, size: int, root: bytes, signed_at: str) -> bytes:
    """The signed text of a tree head (after C2SP's checkpoint format, plus the signing time)."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n{signed_at}\n".encode()


def sign(keys: Keys, message: bytes) -> bytes:
    return keys.signing.sign(message)


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
