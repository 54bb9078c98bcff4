"""A node started with another signing key than the one that signed its log's newest head: `audit verify` says
so as a setting (exit 78, both key ids, what to do), not as record 0 `bad_signature`, and `chengxin serve`
refuses to start, rather than serve the new public key beside heads the old key signed (found by review)."""

from __future__ import annotations

import base64
import json
import os

from tests.conftest import SAMPLE
from tests.e2e.cli import run


def test_another_signing_key_is_refused_as_a_setting(env):
    run(env, "ingest", str(SAMPLE))
    own = json.loads(run(env, "audit", "verify", "--json").stdout)
    assert own["ok"]
    # the store's own PII and index keys (its keys file), and a new CHENGXIN_SIGNING_KEY
    other = {**env, "CHENGXIN_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode()}
    audited = run(other, "audit", "verify", "--json", check=False)
    said = " ".join(audited.stderr.split())
    assert audited.returncode == 78 and "signed by key" in said and "Use the log's own key" in said, said
    assert "bad_signature" not in audited.stdout
    served = run(other, "serve", "--workers", "1", "--port", "0", "--no-scorer", check=False)
    said = " ".join(served.stderr.split())
    assert served.returncode == 78 and "signed by key" in said and "CHENGXIN_SIGNING_KEY" in said, said


def test_an_api_worker_built_from_the_environment_refuses_another_signing_key(env, monkeypatch):
    """`create_app()` (each worker of `chengxin serve --workers N`, uvicorn's factory) checks the key as
    `chengxin serve` does."""
    import pytest

    from chengxin.entrypoints.api.app import create_app
    from chengxin.exc import ConfigError

    run(env, "ingest", str(SAMPLE))
    for name, value in env.items():
        if name.startswith("CHENGXIN_"):
            monkeypatch.setenv(name, value)
    create_app().state.chengxin.engine.dispose()  # its own key: built
    monkeypatch.setenv("CHENGXIN_SIGNING_KEY", base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(ConfigError, match="signed by key"):
        create_app()
