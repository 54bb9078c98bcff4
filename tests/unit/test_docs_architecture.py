"""docs/architecture.md's module map names every module of `services/`, `domain/`, `adapters/` and `simulate/`.
Found by review: splits and new subsystems (the signing-key chain, agency reports, the public search, the fast
path) were named in no document, and the map named files that do not exist (`lists_facts`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "chengxin"
LAYERS = ("services", "domain", "adapters", "simulate")


def _modules() -> list[Path]:
    """Every module of the mapped layers; not migrations, nor the detectors (docs/detection.md names those)."""
    found = [p for layer in LAYERS for p in (PACKAGE / layer).rglob("*.py")
             if p.name != "__init__.py" and "migrations" not in p.parts and "detection" not in p.parts]
    return sorted(found)


def test_every_module_is_named_in_the_architecture():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = _modules()
    assert len(modules) > 100 and any(p.stem == "key_rotation" for p in modules)
    missing = [p.relative_to(PACKAGE).as_posix() for p in modules if not re.search(rf"\b{p.stem}\b", doc)]
    assert missing == [], "name these in docs/architecture.md's map"


def test_the_map_names_no_module_that_does_not_exist():
    """Each `services/x`-style name of the map's services box is a module (a split's old name does not linger)."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    box = doc[doc.index("│ services/"):doc.index("│ domain/")]
    named = set(re.findall(r"\b([a-z][a-z_]*[a-z])\b", box)) - {
        "use", "cases", "a", "write", "is", "one", "serialised", "transaction", "ingestion", "second", "process",
        "group", "commit", "reading", "who", "sees", "what", "public", "query", "credit", "agencies", "log",
        "keys", "issue", "authenticate", "rotate", "revoke", "standing", "scores", "detection", "consequences",
        "demo", "chengxin", "services", "s"}
    services = {p.stem for p in (PACKAGE / "services").glob("*.py")}
    assert named - services == set()
