"""Credit commitments (信用承诺, R9): standard templates and breaches. Pure.

A template (`vocab/commitments.yaml`) lists clauses; each clause covers record categories (`areas`) and names
the penalty the committing party agrees to. A confirmed record in a covered area while the commitment is in
force is a breach: a record of its own, carrying the clause and the penalty (上海市社会信用条例 art. 30(1)
counts a broken commitment as dishonesty).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from chengxin.domain.lifecycle import SEVERITIES
from chengxin.domain.lists import PARTY_KINDS
from chengxin.domain.vocabulary import VocabularyError

TYPES = ("voluntary", "self_regulation", "repair", "approval")


@dataclass(frozen=True)
class Clause:
    areas: tuple[str, ...]
    penalty: str
    zh: str
    en: str


@dataclass(frozen=True)
class Template:
    id: str
    parties: tuple[str, ...]
    type: str
    zh: str
    en: str
    basis: str
    clauses: tuple[Clause, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "for": list(self.parties), "type": self.type, "zh": self.zh, "en": self.en,
                "basis": self.basis, "clauses": [{"areas": list(c.areas), "penalty": c.penalty, "zh": c.zh,
                                                  "en": c.en} for c in self.clauses]}


@dataclass(frozen=True)
class Penalty:
    name: str
    zh: str
    en: str
    severity: str


@dataclass(frozen=True)
class Templates:
    version: int
    templates: Mapping[str, Template]
    penalties: Mapping[str, Penalty]


def load_templates(text: str, source: str, categories: Iterable[str]) -> Templates:
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or set(doc) != {"version", "templates", "penalties"}:
        raise VocabularyError(source, "top level: expected exactly the keys version, templates, penalties")
    known = set(categories)
    _exact_keys(doc, source)
    try:
        penalties = {n: Penalty(n, p["zh"], p["en"], p["severity"]) for n, p in doc["penalties"].items()}
        templates = {n: Template(n, tuple(t["for"]), t["type"], t["zh"], t["en"], t["basis"],
                                 tuple(Clause(tuple(c["areas"]), c["penalty"], c["zh"], c["en"]) for c in t["clauses"]))
                     for n, t in doc["templates"].items()}
    except (KeyError, TypeError) as e:
        raise VocabularyError(source, f"missing or malformed entry: {e}") from e
    for p in penalties.values():  # a typo raised KeyError inside every review decision breaking a commitment
        if p.severity not in SEVERITIES:
            raise VocabularyError(source, f"penalties.{p.name}.severity: unknown severity {p.severity!r}; "
                                          f"expected one of {', '.join(SEVERITIES)} (lifecycle.yaml)")
    for t in templates.values():
        if set(t.parties) - set(PARTY_KINDS) or not t.parties:
            unknown = sorted(set(t.parties) - set(PARTY_KINDS))
            raise VocabularyError(source, f"templates.{t.id}.for: expected party kinds among "
                                          f"{', '.join(PARTY_KINDS)}; unknown: {unknown}")
        if t.type not in TYPES:
            raise VocabularyError(source, f"templates.{t.id}.type: expected one of {', '.join(TYPES)}")
        for i, c in enumerate(t.clauses):
            if set(c.areas) - known or c.penalty not in penalties:
                raise VocabularyError(source, f"templates.{t.id}.clauses[{i}]: unknown areas "
                                              f"{sorted(set(c.areas) - known)} or penalty {c.penalty!r}")
    return Templates(int(doc["version"]), templates, penalties)


_CLAUSE_KEYS, _PENALTY_KEYS = {"areas", "penalty", "zh", "en"}, {"zh", "en", "severity"}


def _exact_keys(doc: dict[str, Any], source: str) -> None:
    """Every clause and penalty has exactly its keys, texts non-empty: an unquoted comma in a flow mapping
    (`{en: We do not fake orders, nor ...}`) cut a clause's English short and made the rest a key of its own
    (found by review)."""
    places = [(f"penalties.{n}", p, _PENALTY_KEYS) for n, p in (doc.get("penalties") or {}).items()]
    for n, t in (doc.get("templates") or {}).items():
        clauses = t.get("clauses") if isinstance(t, dict) else None
        places += [(f"templates.{n}.clauses[{i}]", c, _CLAUSE_KEYS) for i, c in enumerate(clauses or [])]
    for where, entry, keys in places:
        if not isinstance(entry, dict) or set(entry) != keys:
            found = sorted(map(str, entry)) if isinstance(entry, dict) else type(entry).__name__
            raise VocabularyError(source, f"{where}: expected exactly the keys {', '.join(sorted(keys))}; found "
                                          f"{found} (quote a text holding a comma)")
        if not all(isinstance(entry[k], str) and entry[k].strip() for k in ("zh", "en")):
            raise VocabularyError(source, f"{where}: zh and en must be non-empty texts")


@dataclass(frozen=True)
class Commitment:
    """A published commitment of one party (its template may be one this node does not know)."""

    key: tuple[str, str]
    template: str
    published: datetime
    until: datetime | None

    def in_force(self, t: datetime) -> bool:
        return self.published <= t and (self.until is None or t <= self.until)

    def in_force_during(self, first: datetime, last: datetime) -> bool:
        """In force at some moment of [first, last]."""
        return self.published <= last and (self.until is None or first <= self.until)


def breaches(templates: Templates, commitments: Iterable[Commitment], category: str,
             at: datetime, until: datetime | None = None) -> list[tuple[Commitment, int, Clause]]:
    """The clauses an act of `category` breaks: (commitment, clause number, clause) for each commitment in
    force at some moment of the act (from `at` to `until`; a moment when `until` is None) whose template
    covers the category. The act's time, not its confirmation's: a commitment published after the act but
    before its confirmation was counted broken by it (found by review)."""
    out = []
    for c in commitments:
        template = templates.templates.get(c.template)
        if template is None or not c.in_force_during(at, until or at):
            continue
        out += [(c, i, clause) for i, clause in enumerate(template.clauses) if category in clause.areas]
    return _one_per_commitment(out)


def own_number(clause: Clause, own: Iterable[str]) -> int | None:
    """The number (from 1) of the template clause `clause` in the commitment's own published text, when that text
    carries it word for word (spaces and punctuation aside); None when it does not. A breach was cited as "第 2 条"
    by the template's numbering while the merchant's own clause 2 was its 7-day-return promise (public review
    finding 5): a citation names the merchant's number when there is one, else says it is the template's."""
    want = _bare(clause.zh)
    return next((i for i, text in enumerate(own, 1) if _bare(str(text)) == want), None)


def _bare(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _one_per_commitment(found: list[tuple[Commitment, int, Clause]]) -> list[tuple[Commitment, int, Clause]]:
    """One breach per commitment: the first clause it breaks."""
    seen: set[tuple[str, str]] = set()
    out = []
    for c, i, clause in found:
        if c.key not in seen:
            seen.add(c.key)
            out.append((c, i, clause))
    return out
