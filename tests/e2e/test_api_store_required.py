"""The API built from the environment (`create_app()`: each worker of `chengxin serve --workers N`, or uvicorn's
factory) refuses a store that is not there, as the command line does (exit 78), and a store that holds data
without its keys file. It made a new, empty store (a SQLite file, or the schema in an empty PostgreSQL
database) and served it as the node's (found by review)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text
from tests.conftest import PG_URL, SAMPLE, ingest_file
from tests.e2e.cli import run

from chengxin.bootstrap import bootstrap
from chengxin.entrypoints.api import app as api
from chengxin.exc import ConfigError
from chengxin.settings import Settings


@pytest.fixture
def no_store(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The environment naming a store that is not there: a SQLite file that does not exist, or a PostgreSQL
    database without the schema. Yields a function that says whether a store was made there."""
    monkeypatch.setenv("CHENGXIN_KEYS_FILE", str(tmp_path / "keys.json"))
    if backend == "sqlite":
        path = tmp_path / "elsewhere" / "chengxin.db"
        monkeypatch.setenv("CHENGXIN_DATABASE_URL", f"sqlite:///{path}")
        yield path.exists
        return
    assert PG_URL
    name = f"cx_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    monkeypatch.setenv("CHENGXIN_DATABASE_URL", url)

    def made() -> bool:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                return inspect(conn).has_table("alembic_version")
        finally:
            engine.dispose()

    yield made
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_api_refuses_a_store_that_is_not_there(no_store):
    # before the fix: served, and the first request made the store
    with pytest.raises(ConfigError, match="no Chengxin store at") as refused, TestClient(api.create_app()) as client:
        client.get("/v1/health")
    assert refused.value.exit_code == 78 and "CHENGXIN_DATABASE_URL" in refused.value.detail
    assert not no_store()
    with pytest.raises(SystemExit) as stopped:  # a uvicorn worker: the start-up failure, so not started again
        api.worker_app()
    assert stopped.value.code == 3 and not no_store()


def test_the_api_serves_a_store_that_is_there(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    bootstrap(settings).engine.dispose()  # migrated, empty (a node made with `chengxin db upgrade`)
    monkeypatch.setenv("CHENGXIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHENGXIN_KEYS_FILE", str(settings.keys_file))
    with TestClient(api.create_app()) as client:
        assert client.get("/v1/health").status_code == 200


def test_the_api_refuses_a_store_without_its_keys(settings: Settings, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch):
    cx = bootstrap(settings)
    assert ingest_file(cx, SAMPLE).accepted == 48
    cx.engine.dispose()
    elsewhere = tmp_path / "other" / "keys.json"
    monkeypatch.setenv("CHENGXIN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CHENGXIN_KEYS_FILE", str(elsewhere))  # relative, run from another folder: not there
    monkeypatch.setenv("CHENGXIN_ENV", "demo")
    with pytest.raises(ConfigError, match="keys file"):
        api.create_app()
    assert not elsewhere.exists()  # no new keys, which would neither read nor sign the store as before


def test_serve_refuses_a_store_that_is_not_there(tmp_path: Path):
    """`chengxin serve` refuses before it starts anything (its workers, `worker_app`, refuse for themselves
    should the store go in between: above)."""
    path = tmp_path / "var" / "chengxin.db"
    env = {**os.environ, "CHENGXIN_DATABASE_URL": f"sqlite:///{path}", "CHENGXIN_KEYS_FILE": str(tmp_path / "k.json")}
    served = run(env, "serve", "--workers", "2", "--port", "0", check=False)
    assert served.returncode == 78 and "no Chengxin store at" in served.stderr
    assert not path.exists()
