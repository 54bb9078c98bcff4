"""docs/api.md lists every route the API serves (`/openapi.json`), and each route is named in the documents
its row links. Found by review: `/reveal`, `/ratings` and `/commitments/templates` were served and named in no
document, as the settings were before `test_docs.py` held them to docs/settings.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chengxin.bootstrap import bootstrap
from chengxin.entrypoints.api.app import create_app
from chengxin.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ROW = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| [^|]+ \| (.+) \|$", re.M)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    """(method, path) of every operation of the app's OpenAPI document."""
    tmp = tmp_path_factory.mktemp("routes")
    cx = bootstrap(Settings(database_url=f"sqlite:///{tmp}/x.db", keys_file=tmp / "keys.json"))
    paths = create_app(cx).openapi()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def _rows() -> list[tuple[str, str, str]]:
    return ROW.findall((DOCS / "api.md").read_text(encoding="utf-8"))


def test_the_route_index_is_what_the_api_serves(served: set[tuple[str, str]]):
    listed = [(method, path) for method, path, _ in _rows()]
    assert len(listed) == len(set(listed)), "a route listed twice"
    assert {r for r in served if r[1].startswith("/v1")} - set(listed) == set(), "served, missing in docs/api.md"
    assert set(listed) - served == set(), "in docs/api.md, not served"
    assert len(listed) > 25


def _named(path: str) -> re.Pattern[str]:
    """The path as docs write it: each `{param}` any one segment (`{id}`, `S1`), then the path's end (a space,
    a backtick, a query, punctuation), not more of a longer path."""
    parts = (re.escape(p) if not p.startswith("{") else r"[^\s`/?]+" for p in path.split("/"))
    return re.compile("/".join(parts) + r"(?=[\s`?)\],.;:'\"<]|$)")


@pytest.mark.parametrize("row", _rows(), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_route_is_named_in_the_documents_its_row_links(row: tuple[str, str, str]):
    _, path, described = row
    docs = re.findall(r"\]\(([a-z-]+\.md)\)", described)
    assert docs, f"{path}: links no document"
    for doc in docs:
        assert _named(path).search((DOCS / doc).read_text(encoding="utf-8")), f"{path} not named in {doc}"


def test_the_index_is_linked_from_the_readme():
    assert "(docs/api.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
