"""Shared fixtures. Storage fixtures run every test on SQLite and, when CHENGXIN_TEST_DATABASE_URL is set
(CI sets it), on PostgreSQL too: one fresh database per test, cloned from a migrated template."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chengxin.adapters.db.engine import make_engine, migrate
from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.services.ingest import IngestReport, ingest, read_lines
from chengxin.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec"  # the input format events-v1 and its sample files
SAMPLE = SPEC / "sample-v1.jsonl"
SAMPLE_BAD = SPEC / "sample-v1-bad.jsonl"
VECTORS = ROOT / "tests" / "data" / "vectors" / "rfc6962"  # transparency-dev's RFC 6962 vectors (Apache-2.0)
# The project's shared material beside the checkout (statute texts, data sets, the contract checker): not in
# the repository, so the tests that read it skip without it (`shared_path`). README, "Material outside".
SHARED = ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A file of ../shared, or skip the calling test saying what is missing and where it comes from."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared/{'/'.join(parts)} is the project's shared material outside "
                    "the repository (README.md, 'Material outside the repository')")
    return path
PG_URL = os.environ.get("CHENGXIN_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    name = f"cx_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_with_db(PG_URL, name))
    migrate(engine)
    engine.dispose()
    yield name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def make_database(backend: str, tmp: Path, sqlite_template: Path, pg_template: str | None) -> tuple[str, object]:
    """A fresh migrated database; returns (url, cleanup)."""
    if backend == "sqlite":
        path = tmp / f"cx-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}", lambda: None
    assert PG_URL and pg_template
    name = f"cx_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return _with_db(PG_URL, name), drop


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, sqlite_template: Path, pg_template: str | None) -> Iterator[Settings]:
    url, cleanup = make_database(backend, tmp_path, sqlite_template, pg_template)
    yield Settings(database_url=url, keys_file=tmp_path / "keys.json", batch_size=1000)
    cleanup()  # type: ignore[operator]


@pytest.fixture
def app(settings: Settings) -> Iterator[Chengxin]:
    cx = bootstrap(settings)
    yield cx
    if "engine" in cx.__dict__:
        cx.engine.dispose()


def ingest_file(cx: Chengxin, path: Path) -> IngestReport:
    with path.open("rb") as fh:
        return ingest(cx, read_lines(path.name, fh), origin=path.name)


def ingest_text(cx: Chengxin, text_: str, name: str = "test") -> IngestReport:
    return ingest(cx, read_lines(name, text_.encode().splitlines()), origin=name)


@pytest.fixture
def sample_app(app: Chengxin) -> Chengxin:
    report = ingest_file(app, SAMPLE)
    assert report.accepted == 48
    return app


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Debian's chromium, browser tests are skipped on a developer machine (say so loudly), and fail in
    CI, where `.ci/run` installs it and sets CHENGXIN_REQUIRE_BROWSER=1."""
    if Path("/usr/bin/chromium").exists() or os.environ.get("CHENGXIN_REQUIRE_BROWSER"):
        return
    skip = pytest.mark.skip(reason="/usr/bin/chromium missing: `apt-get install chromium` (CI installs it)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)
