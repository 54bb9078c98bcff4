"""The documentation keeps up with the code."""

from __future__ import annotations

from pathlib import Path

from chengxin.adapters.resources import event_vocabulary
from chengxin.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented():
    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    missing = [n for n in Settings.model_fields if f"`CHENGXIN_{n.upper()}`" not in doc]
    assert not missing


def test_every_setting_has_a_comment():
    src = (ROOT / "src" / "chengxin" / "settings.py").read_text(encoding="utf-8").splitlines()
    for name in Settings.model_fields:
        i = next(i for i, line in enumerate(src) if line.startswith(f"    {name}:"))
        assert src[i - 1].strip().startswith("#"), name


def test_every_spec_type_is_in_the_vocabulary():
    spec = (ROOT / "spec" / "events-v1.md").read_text(encoding="utf-8")
    import re

    types = set(re.findall(r"`(cx\.[a-z_]+\.[a-z_]+)`", spec))
    assert types and types <= set(event_vocabulary().types)


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme


def test_every_command_is_in_the_readme():
    """Each of `chengxin`'s commands and groups appears in the README's list as `chengxin NAME` (a group with a
    subcommand after it)."""
    import typer

    from chengxin.entrypoints.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert "scoring" in names and "ingest" in names
    assert [n for n in names if f"chengxin {n}" not in readme] == []


def test_every_simulator_parameter_is_documented_with_its_default():
    import dataclasses
    import re
    from datetime import date

    from chengxin.simulate.params import Params

    doc = (ROOT / "docs" / "simulator.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z_0-9]+)` \| ([^|]+?) \|", doc, re.M))
    for f in dataclasses.fields(Params):
        assert f.name in rows, f.name
        default, text = f.default, rows[f.name]
        if isinstance(default, tuple):
            assert tuple(int(x) for x in text.split(",")) == default, f.name
        elif isinstance(default, date):
            assert date.fromisoformat(text) == default, f.name
        elif isinstance(default, str):
            assert text == default, f.name
        else:
            assert float(text) == default, f.name


def test_the_foreign_reference_table_is_the_vocabularys():
    """docs/security.md tables who may name another source's entity, field by field, as vocab/events-v1.yaml
    says (`foreign`, `foreign_to`, `foreign_when`)."""
    import re

    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    table = doc[doc.index("| fields | submitted by |"):].split("\n\n")[0].splitlines()[2:]
    documented: dict[str, dict[str, tuple[frozenset[str], dict[str, str]]]] = {}
    for row in table:
        fields, by, to, when = (c.strip() for c in row.strip("|").split("|"))
        for name in re.findall(r"`(cx\.[a-z_]+\.[a-z_]+\.[a-z_]+)`", fields):
            for kind in (k.strip() for k in by.split(",")):  # a field may have a row per kind it differs by
                documented.setdefault(name, {})[kind] = (
                    frozenset() if to == "any" else frozenset({to}), dict(re.findall(r"`([a-z_]+): ([a-z_]+)`", when)))
    vocab = {f"{t.name}.{f.name}": {k: (f.foreign_to.get(k, frozenset()),
                                        {w: next(iter(v)) for w, v in f.foreign_when.items()}) for k in f.foreign}
             for t in event_vocabulary().types.values() for f in t.fields if f.foreign}
    assert documented == vocab


def test_security_doc_gives_how_long_a_revoked_key_keeps_working():
    """Each API process caches a known key (`keys.CACHE_SECONDS`): a key revoked by another process keeps working
    there that long, which docs/security.md said never happens ("always 401"; found by review)."""
    from chengxin.services.keys import CACHE_SECONDS

    doc = " ".join((ROOT / "docs" / "security.md").read_text(encoding="utf-8").split())
    assert f"keeps working in it for up to {CACHE_SECONDS:g} seconds" in doc
    assert "always 401" not in doc


# --- the code the docs name exists ------------------------------------------------------------------------------
_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_PACKAGE = ROOT / "src" / "chengxin"
# `x.y` in the docs that is not Python: a `job_runs` row's name (`detect.full`, `detect.claimed`), a JSON field
_NOT_CODE = {"detect.full", "detect.claimed", "checks.inclusion"}


def _module_names() -> dict[str, list[str]]:
    """Module stem -> its dotted names (a stem may be in two layers: `scoring`, `lists`, `identity`)."""
    stems: dict[str, list[str]] = {}
    for p in _PACKAGE.rglob("*.py"):
        if "migrations" not in p.parts and p.name != "__init__.py":
            stems.setdefault(p.stem, []).append("chengxin." + ".".join(p.relative_to(_PACKAGE).with_suffix("").parts))
    return stems


def _vocab_key_paths() -> set[str]:
    """`section.key` of the packaged YAML (`trade.dsr_min_ratings` in credit_score.yaml): docs name rules so,
    and a section may share a module's name."""
    import yaml

    paths = set()
    for f in (_PACKAGE / "vocab").glob("*.yaml"):
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            paths |= {f"{k}.{sub}" for k, v in data.items() if isinstance(v, dict) for sub in v}
    return paths


def test_every_path_of_the_package_the_docs_name_exists():
    """`services/x.py`, `adapters/db/`, `vocab/y.yaml` and the like: a module split or renamed leaves no dead name
    (the newcomer review checked this by script once; now it is checked at every test run)."""
    import re

    dead = []
    for doc in _DOCS:
        for path in re.findall(r"`(?:src/chengxin/)?((?:services|domain|adapters|entrypoints|simulate|demo|vocab)"
                               r"(?:/[\w.-]+)+)/?`", doc.read_text(encoding="utf-8")):
            parts = path.split("/")
            stem, _, attr = parts[-1].partition(".")
            if (_PACKAGE / path).exists() or (attr and not attr.startswith(("py", "yaml"))
                                             and (_PACKAGE.joinpath(*parts[:-1], stem + ".py")).exists()):
                continue
            dead.append(f"{doc.name}: {path}")
    assert dead == []


def test_every_function_the_docs_name_exists():
    """`module.name` (with or without its path, `services/ingest.commit`, `standing.drain`, `deps.AGENCY_ROUTES`)
    names something that module has: a function moved by a split is named where it now lives."""
    import importlib
    import re

    stems, checked, dead = _module_names(), 0, []
    settings = _vocab_key_paths()
    for doc in _DOCS:
        for mod, attr in re.findall(r"`(?:[\w/]+/)?([a-z_]+)\.([A-Za-z_]\w*)(?:\.\w+)?(?:\([^`]*\))?`",
                                    doc.read_text(encoding="utf-8")):
            if mod not in stems or attr in ("py", "yaml", "json", "md", "html", "db", "jsonl", "lock") \
                    or f"{mod}.{attr}" in _NOT_CODE | settings:
                continue
            checked += 1
            if not any(hasattr(importlib.import_module(name), attr) for name in stems[mod]):
                dead.append(f"{doc.name}: {mod}.{attr} ({', '.join(stems[mod])})")
    assert checked > 50 and dead == []
