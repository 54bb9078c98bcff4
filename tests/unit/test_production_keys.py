"""Outside demo mode a node refuses known keys and the demo's log name, as it refuses missing keys: an all-zero
seed, one key set for two purposes, and `chengxin.local/credit-log`, which every node would sign as (found by
review)."""

from __future__ import annotations

import base64

import pytest

from chengxin.adapters import crypto
from chengxin.exc import ConfigError
from chengxin.settings import DEMO_LOG_ORIGIN, Settings

FRESH = crypto.generate_key_material()


def production(**change: str) -> Settings:
    return Settings(env="production", **{"log_origin": "credit.example.gov.cn/log", **FRESH, **change})


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_fresh_keys_and_an_own_log_name_start() -> None:
    keys = crypto.load_keys(production())
    assert keys.key_id == crypto.load_keys(production()).key_id


@pytest.mark.parametrize(("change", "says"), [
    ({"signing_key": b64(bytes(32))}, "CHENGXIN_SIGNING_KEY is the byte 0x00 repeated"),
    ({"pii_key": b64(b"\xff" * 32)}, "CHENGXIN_PII_KEY is the byte 0xff repeated"),
    ({"signing_key": FRESH["pii_key"]}, "CHENGXIN_PII_KEY and CHENGXIN_SIGNING_KEY are the same key"),
    ({"signing_key": FRESH["index_key"]}, "CHENGXIN_INDEX_KEY and CHENGXIN_SIGNING_KEY are the same key"),
    ({"index_key": FRESH["pii_key"]}, "CHENGXIN_PII_KEY and CHENGXIN_INDEX_KEY are the same key"),
    ({"log_origin": DEMO_LOG_ORIGIN}, "production mode needs CHENGXIN_LOG_ORIGIN"),
])
def test_production_refuses_known_keys_and_the_demo_log_name(change: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        crypto.load_keys(production(**change))


def test_the_default_log_name_is_refused_in_production_and_named_with_missing_keys() -> None:
    with pytest.raises(ConfigError, match="CHENGXIN_LOG_ORIGIN"):
        crypto.load_keys(Settings(env="production", **FRESH))
    with pytest.raises(ConfigError, match=r"CHENGXIN_PII_KEY.*CHENGXIN_LOG_ORIGIN"):
        crypto.load_keys(Settings(env="production"))


def test_demo_mode_takes_what_it_is_given(tmp_path) -> None:
    """The demo (and the tests) keep the default name, and a key set by hand is the user's business there."""
    keys = crypto.load_keys(Settings(keys_file=tmp_path / "keys.json", signing_key=b64(bytes(32))))
    assert keys.signing.private_bytes_raw() == bytes(32)
