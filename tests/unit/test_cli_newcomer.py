"""What a newcomer met first (found by review): a repository that does not stand alone without ../shared."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import SAMPLE, SAMPLE_BAD, SHARED, SPEC, VECTORS

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "spec").glob("*.md"))]


def test_the_tests_inputs_are_in_the_repository():
    """The sample files and the Merkle vectors lay in ../shared: a clone elsewhere failed `make test`."""
    for path in (SAMPLE, SAMPLE_BAD, SPEC / "sample-v1-bad.expected.json", SPEC / "events-v1.md"):
        assert path.is_file() and path.is_relative_to(ROOT), path
    assert VECTORS.is_relative_to(ROOT) and len(list(VECTORS.rglob("*.json"))) > 100


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_local_link_of_the_docs_is_a_file_of_the_repository(doc: Path):
    """README's events-v1 link and docs/ingestion.md's pointed at ../shared, dead in a clone elsewhere."""
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.M | re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), f"{doc.name}: {target}"


@pytest.mark.parametrize("name", ["spec", "vectors/rfc6962"])
def test_the_copies_are_the_shared_originals(name: str):
    """The repository's copies stay byte for byte those of the project's shared material (when it is there)."""
    original = SHARED / name
    if not original.is_dir():
        pytest.skip(f"{original} is absent: nothing to compare the copy with")
    copy = SPEC if name == "spec" else VECTORS
    files = {p.relative_to(original).as_posix() for p in original.rglob("*") if p.is_file()}
    assert files and files <= {p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()}
    for rel in sorted(files):
        assert (copy / rel).read_bytes() == (original / rel).read_bytes(), rel
