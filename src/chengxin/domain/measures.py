"""Joint measures (联合奖惩措施): the catalog, and the measures in force on a party from its list memberships.

Pure. A list and each of its policies name measures with values (`vocab/list_policies.yaml`); the catalog
(`vocab/measures.yaml`) says what each measure is, who may see it, what a platform applies it to and how two
values combine when a party is on several lists. Every measure in force carries the memberships behind it:
SHSC art. 32 requires a measure to state its basis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from chengxin.domain.vocabulary import VocabularyError

AUDIENCES = ("public", "platforms", "regulators")
KINDS = ("number", "flag", "level")
COMBINES = {"number": ("min", "max"), "flag": ("any",), "level": ("strictest",)}


@dataclass(frozen=True)
class MeasureDef:
    name: str
    kind: str
    combine: str
    audience: str
    applies_to: str
    zh: str
    en: str
    basis: str
    neutral: Any = None
    levels: tuple[str, ...] = ()

    def check(self, value: Any) -> bool:
        if self.kind == "number":
            return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        if self.kind == "flag":
            return value is True
        return value in self.levels

    def merge(self, a: Any, b: Any) -> Any:
        if self.kind == "flag":
            return True
        if self.kind == "level":
            return max(a, b, key=self.levels.index)
        return min(a, b) if self.combine == "min" else max(a, b)


def load_catalog(text: str, source: str = "<string>") -> dict[str, MeasureDef]:
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or set(doc) != {"version", "measures"}:
        raise VocabularyError(source, "top level: expected exactly the keys version, measures")
    out = {}
    for name, m in doc["measures"].items():
        try:
            d = MeasureDef(name, m["kind"], m["combine"], m["audience"], m["applies_to"], m["zh"], m["en"],
                           m["basis"], m.get("neutral"), tuple(m.get("levels") or ()))
        except (KeyError, TypeError) as e:
            raise VocabularyError(source, f"measures.{name}: missing {e}") from e
        if d.kind not in KINDS or d.combine not in COMBINES[d.kind] or d.audience not in AUDIENCES:
            raise VocabularyError(source, f"measures.{name}: kind/combine/audience must be one of {COMBINES}, "
                                          f"{AUDIENCES}")
        if d.kind == "level" and (not d.levels or d.neutral not in d.levels):
            raise VocabularyError(source, f"measures.{name}: a level measure needs levels including its neutral")
        out[name] = d
    return out


def check_values(catalog: Mapping[str, MeasureDef], where: str, values: Mapping[str, Any], source: str) -> None:
    """Each value a list or policy gives must suit its measure (a factor ≥ 0, true, or a known level)."""
    for name, value in values.items():
        if name not in catalog:
            raise VocabularyError(source, f"{where}: unknown measure {name!r}")
        if not catalog[name].check(value):
            raise VocabularyError(source, f"{where}.{name}: {value!r} does not suit a {catalog[name].kind} measure")


@dataclass(frozen=True)
class Because:
    """One membership that imposes measures: the list, the policy and its legal basis."""

    list: str
    policy: str
    basis: str
    values: Mapping[str, Any]


def in_force(catalog: Mapping[str, MeasureDef], memberships: Iterable[Because]) -> dict[str, dict[str, Any]]:
    """The measures in force, each with its merged value and the memberships behind it, by catalog order."""
    found: dict[str, dict[str, Any]] = {}
    for b in memberships:
        for name, value in b.values.items():
            m = catalog[name]
            entry = found.setdefault(name, {"value": value, "because": []})
            entry["value"] = m.merge(entry["value"], value)
            entry["because"].append({"list": b.list, "policy": b.policy, "basis": b.basis})
    return {name: {"measure": name, "zh": catalog[name].zh, "en": catalog[name].en,
                   "value": found[name]["value"], "applies_to": catalog[name].applies_to,
                   "audience": catalog[name].audience, "basis": catalog[name].basis,
                   "because": found[name]["because"]}
            for name in catalog if name in found}


def visible(measures: Mapping[str, dict[str, Any]], audiences: Iterable[str]) -> dict[str, dict[str, Any]]:
    allowed = set(audiences)
    return {k: v for k, v in measures.items() if v["audience"] in allowed}
