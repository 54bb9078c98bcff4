"""Scoring detection findings against a simulator truth file (`chengxin-truth/1`, docs/simulator.md).

Pure: truth and findings arrive as parsed JSON, the universe as sets (or sizes); nothing here reads a file
or a database. The positive class is *dishonest*. For every finding kind and every entity class (parties,
orders, reviews, products) the report gives:

- precision, recall and F1 of the set of entities the findings name (precision is `None` when nothing is
  predicted, recall when the truth is empty: undefined, not zero);
- ROC-AUC and average precision of the ranking the scores give: an entity's score for a kind is the
  highest score of the kind's findings naming it, and every entity of the universe no finding names
  shares the lowest score. Ties are one threshold: AUC is Mann–Whitney with average ranks, AP is
  scikit-learn's `average_precision_score` (sum over distinct thresholds of recall gain × precision).
- for parties, the same figures per truth role (see `_role_metrics`).

The universe is the set of entities of a class that could have been flagged (the store's, normally).
Without one it is the truth and the findings together, and the report says so (`"universe"`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any, NoReturn

from chengxin.domain.events import Ref
from chengxin.exc import InvalidInput

TRUTH_FORMAT = "chengxin-truth/1"
REPORT_FORMAT = "chengxin-evaluation/1"
KINDS = ("fake_order_ring", "empty_parcel", "malicious_review", "template_review", "fake_traffic",
         "price_fraud", "not_as_described", "payment_fraud")
CLASSES = ("parties", "orders", "reviews", "products")
ALL = "all"  # the kind-blind summary: any dishonest entity, flagged by any finding
# Roles also scored together: a ring's buyers are its own worker accounts plus the hijacked ones.
ROLE_GROUPS: Mapping[str, tuple[str, ...]] = {"worker+hijacked": ("worker", "hijacked")}


# --- truth ---

@dataclass(frozen=True, slots=True)
class KindTruth:
    """The planted entities of one kind: `entities` by class, `roles` maps a party role to its parties."""

    groups: int = 0
    entities: Mapping[str, frozenset[Ref]] = field(default_factory=dict)
    roles: Mapping[str, frozenset[Ref]] = field(default_factory=dict)

    def of(self, cls: str) -> frozenset[Ref]:
        return self.entities.get(cls, frozenset())


@dataclass(frozen=True, slots=True)
class Truth:
    kinds: Mapping[str, KindTruth]

    def kind(self, kind: str) -> KindTruth:
        return self.kinds.get(kind, KindTruth())

    def merged(self) -> KindTruth:
        """Every kind together (for the kind-blind summary; roles are per kind, so none)."""
        entities = {c: frozenset().union(*(k.of(c) for k in self.kinds.values())) for c in CLASSES}
        return KindTruth(sum(k.groups for k in self.kinds.values()), entities)


def parse_truth(obj: Any) -> Truth:
    """Check a parsed truth file's shape; an error names the field (`kinds.empty_parcel[2].orders[0].id`).
    A kind missing from `kinds` counts as planted nowhere."""
    doc = _object(obj, "truth file")
    if doc.get("format") != TRUTH_FORMAT:
        _fail("format", f"expected {TRUTH_FORMAT!r}, got {doc.get('format')!r}")
    kinds = _object(doc.get("kinds"), "kinds")
    for name in kinds:
        _known_kind(name, f"kinds.{name}")
    return Truth({name: _kind_truth(_list(groups, f"kinds.{name}"), f"kinds.{name}")
                  for name, groups in kinds.items()})


def _kind_truth(groups: list[Any], where: str) -> KindTruth:
    entities: dict[str, set[Ref]] = {c: set() for c in CLASSES}
    roles: dict[str, set[Ref]] = {}
    for i, raw in enumerate(groups):
        group = _object(raw, f"{where}[{i}]")
        for cls in CLASSES:
            for j, item in enumerate(_list(group.get(cls, []), f"{where}[{i}].{cls}")):
                ref, role = _ref(item, f"{where}[{i}].{cls}[{j}]")
                entities[cls].add(ref)
                if cls == "parties" and role is not None:
                    roles.setdefault(role, set()).add(ref)
    return KindTruth(len(groups), {c: frozenset(s) for c, s in entities.items()},
                     {r: frozenset(s) for r, s in roles.items()})


# --- findings ---

@dataclass(frozen=True, slots=True)
class Finding:
    """One detection result; `score` is None when the detector gives none (then no AUC/AP for its kind)."""

    kind: str
    score: float | None
    subjects: Mapping[str, tuple[Ref, ...]]
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def refs(self, cls: str) -> tuple[Ref, ...]:
        return self.subjects.get(cls, ())

    def subjects_dict(self) -> dict[str, list[dict[str, str]]]:
        return {c: [{"source": s, "id": i} for s, i in self.refs(c)] for c in CLASSES}

    def as_dict(self) -> dict[str, Any]:
        """The `chengxin detect --json` shape."""
        return {"kind": self.kind, "score": self.score, **self.subjects_dict(), "evidence": dict(self.evidence)}


def parse_findings(obj: Any) -> list[Finding]:
    """Check a parsed `{"findings": [...]}` document (what `chengxin detect --json` prints)."""
    doc = _object(obj, "findings file")
    return [parse_finding(item, f"findings[{i}]") for i, item in enumerate(_list(doc.get("findings"), "findings"))]


def parse_finding(obj: Any, where: str) -> Finding:
    raw = _object(obj, where)
    kind = raw.get("kind")
    _known_kind(kind, f"{where}.kind")
    subjects = {cls: tuple(_ref(item, f"{where}.{cls}[{j}]")[0]
                           for j, item in enumerate(_list(raw.get(cls, []), f"{where}.{cls}")))
                for cls in CLASSES}
    evidence = _object(raw.get("evidence", {}), f"{where}.evidence")
    return Finding(str(kind), _score(raw.get("score"), f"{where}.score"), subjects, evidence)


# --- metrics ---

@dataclass(frozen=True, slots=True)
class Metrics:
    """Figures for one entity class (or one role); `roles` only for parties."""

    truth: int
    predicted: int
    true_positives: int
    universe: int
    precision: float | None
    recall: float | None
    f1: float | None
    auc: float | None
    ap: float | None
    roles: Mapping[str, Metrics] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "truth": self.truth, "predicted": self.predicted, "true_positives": self.true_positives,
            "universe": self.universe, "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "auc": self.auc, "ap": self.ap,
        }
        if self.roles is not None:
            out["roles"] = {r: m.as_dict() for r, m in sorted(self.roles.items())}
        return out


def score_class(truth: AbstractSet[Ref], scores: Mapping[Ref, float], universe: int, *,
                ranked: bool = True) -> Metrics:
    """Score one class. `scores` holds every predicted entity with its score; the `universe - len(scores)`
    others are unnamed and rank together below all of them. `universe` must count truth and predictions."""
    tp = sum(1 for r in scores if r in truth)
    rest_pos = len(truth) - tp
    rest_neg = universe - len(scores) - rest_pos
    if rest_neg < 0:
        raise ValueError(f"universe of {universe} smaller than truth and predictions together")
    precision, recall = _ratio(tp, len(scores)), _ratio(tp, len(truth))
    groups = _groups(((s, r in truth) for r, s in scores.items()), (rest_pos, rest_neg)) if ranked else []
    return Metrics(len(truth), len(scores), tp, universe, precision, recall, _f1(precision, recall),
                   _auc(groups) if ranked else None, _ap(groups) if ranked else None)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """ROC-AUC of `scores` for `labels` (True = positive); None without both classes."""
    return _auc(_groups(zip(scores, labels, strict=True)))


def average_precision(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Average precision as scikit-learn defines it; None without positives."""
    return _ap(_groups(zip(scores, labels, strict=True)))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _groups(scored: Iterable[tuple[float, bool]], rest: tuple[int, int] = (0, 0)) -> list[tuple[int, int]]:
    """(positives, negatives) per distinct score, highest score first, then the unnamed `rest`."""
    ordered = sorted(scored, key=lambda x: x[0], reverse=True)
    groups = []
    for _, tied in groupby(ordered, key=lambda x: x[0]):
        labels = [label for _, label in tied]
        groups.append((sum(labels), len(labels) - sum(labels)))
    return [*groups, rest] if sum(rest) else groups


def _auc(groups: list[tuple[int, int]]) -> float | None:
    # Mann–Whitney: the share of (positive, negative) pairs ranked right, a tie counting half.
    pos, neg = sum(p for p, _ in groups), sum(n for _, n in groups)
    if not pos or not neg:
        return None
    wins, below = 0.0, neg
    for p, n in groups:
        below -= n
        wins += p * (below + n / 2)
    return wins / (pos * neg)


def _ap(groups: list[tuple[int, int]]) -> float | None:
    pos = sum(p for p, _ in groups)
    if not pos:
        return None
    ap, tp, seen = 0.0, 0, 0
    for p, n in groups:
        tp, seen = tp + p, seen + p + n
        ap += p / pos * (tp / seen)
    return ap


# --- the report ---

@dataclass(frozen=True, slots=True)
class Universe:
    """The entities of one class that could have been flagged: how many, and members enough to tell which
    of the entities the truth and the findings name belong to it (a store need not load all its ids)."""

    size: int
    members: AbstractSet[Ref]

    @classmethod
    def of(cls, refs: AbstractSet[Ref]) -> Universe:
        return cls(len(refs), refs)


@dataclass(frozen=True, slots=True)
class KindReport:
    groups: int
    findings: int
    scored: bool  # every finding carries a score, so AUC and AP are computed
    classes: Mapping[str, Metrics]

    def as_dict(self) -> dict[str, Any]:
        return {"groups": self.groups, "findings": self.findings, "scored": self.scored,
                "classes": {c: m.as_dict() for c, m in self.classes.items()}}


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The whole report. `universe` is "database" when a universe was given, else "truth+findings";
    `outside_universe` counts, per class, entities the truth or findings name that the universe lacks
    (they are scored as if it held them)."""

    universe: str
    findings: int
    kinds: Mapping[str, KindReport]
    overall: KindReport
    outside_universe: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {"format": REPORT_FORMAT, "universe": self.universe, "findings": self.findings,
                "outside_universe": dict(self.outside_universe),
                "kinds": {k: r.as_dict() for k, r in self.kinds.items()}, ALL: self.overall.as_dict()}

    def rows(self) -> list[tuple[str, str, Metrics]]:
        """(kind, class or `parties:role`, metrics) for every class with truth or predictions."""
        rows = []
        for kind, report in [*self.kinds.items(), (ALL, self.overall)]:
            for cls, m in report.classes.items():
                if m.truth or m.predicted:
                    rows.append((kind, cls, m))
                    rows += [(kind, f"{cls}:{role}", rm) for role, rm in sorted((m.roles or {}).items())]
        return rows


def evaluate(truth: Truth, findings: Sequence[Finding],
             universe: Mapping[str, Universe | AbstractSet[Ref]] | None = None) -> Evaluation:
    """Score `findings` against `truth` per kind and class, plus a kind-blind summary (`all`)."""
    sizes, outside = _universe_sizes(truth, findings, universe)
    kinds = {k: _kind_report(truth.kind(k), [f for f in findings if f.kind == k], sizes) for k in KINDS}
    overall = _kind_report(truth.merged(), findings, sizes, with_roles=False)
    return Evaluation("database" if universe is not None else "truth+findings", len(findings), kinds, overall,
                      outside)


def _universe_sizes(truth: Truth, findings: Sequence[Finding],
                    universe: Mapping[str, Universe | AbstractSet[Ref]] | None,
                    ) -> tuple[dict[str, int], dict[str, int]]:
    merged = truth.merged()
    named = {c: merged.of(c).union(*(f.refs(c) for f in findings)) for c in CLASSES}
    if universe is None:
        return {c: len(named[c]) for c in CLASSES}, dict.fromkeys(CLASSES, 0)
    sizes, outside = {}, {}
    for c in CLASSES:
        u = universe.get(c, frozenset())
        u = u if isinstance(u, Universe) else Universe.of(u)
        outside[c] = sum(1 for r in named[c] if r not in u.members)
        sizes[c] = u.size + outside[c]  # an entity named but missing still has to be ranked somewhere
    return sizes, outside


def _kind_report(truth: KindTruth, found: Sequence[Finding], sizes: Mapping[str, int], *,
                 with_roles: bool = True) -> KindReport:
    scored = all(f.score is not None for f in found)
    classes = {}
    for cls in CLASSES:
        scores = _max_scores(found, cls)
        m = score_class(truth.of(cls), scores, sizes[cls], ranked=scored)
        if cls == "parties" and with_roles:
            m = replace(m, roles=_role_metrics(truth, scores, sizes[cls], scored))
        classes[cls] = m
    return KindReport(truth.groups, len(found), scored, classes)


def _max_scores(found: Sequence[Finding], cls: str) -> dict[Ref, float]:
    best: dict[Ref, float] = {}
    for f in found:
        score = 0.0 if f.score is None else f.score  # unscored kinds are not ranked: any value will do
        for ref in f.refs(cls):
            best[ref] = max(best.get(ref, score), score)
    return best


def _role_metrics(truth: KindTruth, scores: Mapping[Ref, float], size: int, ranked: bool) -> dict[str, Metrics]:
    """Per role, the class figures with the role's parties as the truth and the kind's parties of *other*
    roles left out of the universe: flagging a ring's shop is neither a hit nor a false alarm when asking
    how well the ring's buyers are found. So recall = found role parties / role parties, and precision =
    found role parties / predicted parties that are not truth of another role only."""
    parties = truth.of("parties")
    out = {}
    for name, members in _role_sets(truth).items():
        others = parties - members
        kept = {r: s for r, s in scores.items() if r not in others}
        out[name] = score_class(members, kept, size - len(others), ranked=ranked)
    return out


def _role_sets(truth: KindTruth) -> dict[str, frozenset[Ref]]:
    sets = dict(truth.roles)
    for name, roles in ROLE_GROUPS.items():
        if any(r in truth.roles for r in roles):
            sets[name] = frozenset().union(*(truth.roles.get(r, frozenset()) for r in roles))
    return sets


# --- shape checks ---

def _fail(where: str, problem: str) -> NoReturn:
    raise InvalidInput(f"{where}: {problem}")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(where, f"expected a JSON object, got {_type(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(where, f"expected a list, got {_type(value)}")
    return value


def _known_kind(kind: Any, where: str) -> None:
    if kind not in KINDS:
        _fail(where, f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")


def _ref(value: Any, where: str) -> tuple[Ref, str | None]:
    obj = _object(value, where)
    for key in ("source", "id"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            _fail(f"{where}.{key}", "expected a non-empty string")
    role = obj.get("role")
    if role is not None and not isinstance(role, str):
        _fail(f"{where}.role", "expected a string")
    return (obj["source"], obj["id"]), role


def _score(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _fail(where, f"expected a finite number or null, got {value!r}")
    return float(value)


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(type(value), repr(value))
