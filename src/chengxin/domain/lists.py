"""Red, black and watch lists: policies as CEL conditions over a party's list profile. Pure.

`ListFacts` is what bears on lists for one party, each fact with the time span it holds in (records in force,
grades, commitments); `profile_at(facts, t)` is the profile at time t, the variables the policies see;
`evaluate` says which policies hold; `replay` runs a policy set over a party's history, which is how both
`chengxin policy backtest` and shadow reports work. The rules are `vocab/list_policies.yaml`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import cel
import yaml

from chengxin.domain.lifecycle import iso_day
from chengxin.domain.vocabulary import VocabularyError

ENFORCE, SHADOW = "enforce", "shadow"
NEVER = 36500.0  # days_since_record when the party has no record in force
GRID_DAYS = 30   # replay also looks at the profile every this many days (time-based conditions)


# --- facts and profiles ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """A record in force from `start` until `end` (None: still in force)."""

    category: str
    severity: str
    start: datetime
    end: datetime | None = None
    sanction: str | None = None   # the sanction kind, for records an authority imposed
    breach: bool = False          # a broken commitment
    record_id: int | None = None
    of: int | None = None         # a breach: the record whose act broke the commitment (it ends with it)
    by_platform: bool = False     # confirmed by a platform, not by an authority (a regulator or its sanction)

    def holds(self, t: datetime) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass(frozen=True)
class ListFacts:
    """Everything about one party that list policies read, with when each fact held."""

    kind: str
    first_seen: datetime
    records: tuple[Span, ...] = ()
    grades: tuple[tuple[datetime, str, int], ...] = ()          # (from, grade, score), oldest first
    commitments: tuple[tuple[datetime, datetime | None], ...] = ()
    shops: int = 0                                               # shops the party operates (it sells)

    def times(self) -> set[datetime]:
        out = {s.start for s in self.records} | {s.end for s in self.records if s.end}
        out |= {g[0] for g in self.grades} | {c[0] for c in self.commitments} | {c[1] for c in self.commitments if c[1]}
        return out


CHINA = timezone(timedelta(hours=8), "CST")


def china_day(t: datetime) -> date:
    """The calendar day in China of an instant: the statutes' days (services/lifecycle.day_of)."""
    return t.astimezone(CHINA).date()


def profile_at(f: ListFacts, t: datetime, categories: Iterable[str], sanction_kinds: Iterable[str],
               without: int | None = None) -> dict[str, Any]:
    """The variables list policies see at time t (every map key present, so a condition never fails on a
    missing key). `without`: leave one record out, and the breach it caused (what would the lists be without
    it: a record's own breach blocked its repair, found by review)."""
    live = [s for s in f.records if s.holds(t) and (without is None or without not in (s.record_id, s.of))]
    records = dict.fromkeys(categories, 0)
    minor, platform = dict.fromkeys(records, 0), dict.fromkeys(records, 0)
    sanctions = dict.fromkeys(sanction_kinds, 0)
    for s in live:
        if not s.breach:
            records[s.category] = records.get(s.category, 0) + 1
            minor[s.category] = minor.get(s.category, 0) + (s.severity == "minor")
            platform[s.category] = platform.get(s.category, 0) + (s.severity != "minor" and s.by_platform)
        if s.sanction:
            sanctions[s.sanction] = sanctions.get(s.sanction, 0) + 1
    grade = next(((g, sc) for at, g, sc in reversed(f.grades) if at <= t), ("", -1))
    newest = max((s.start for s in live), default=None)
    return {
        "kind": f.kind, "shops": f.shops, "grade": grade[0], "score": int(grade[1]),
        "records": records, "minor_records": minor, "platform_records": platform,
        "records_total": sum(1 for s in live if not s.breach),
        "serious_records": sum(1 for s in live if s.severity in ("serious", "grave")),
        # a breach of a platform-confirmed act is the platform's too: serious_records counts it as well
        "platform_serious": sum(1 for s in live if s.severity != "minor" and s.by_platform),
        "grave_records": sum(1 for s in live if s.severity == "grave"),
        "sanctions": sanctions, "sanctions_total": sum(1 for s in live if s.sanction),
        "breaches": sum(1 for s in live if s.breach),
        "commitments": sum(1 for a, b in f.commitments if a <= t and (b is None or t < b)),
        "days_since_record": (t - newest).total_seconds() / 86400 if newest else NEVER,
        "days_known": max(0.0, (t - f.first_seen).total_seconds() / 86400),
    }


SAMPLE_PROFILE: dict[str, Any] = {
    "kind": "enterprise", "shops": 1, "grade": "B", "score": 700, "records": {}, "minor_records": {},
    "platform_records": {}, "records_total": 0, "serious_records": 0, "platform_serious": 0, "grave_records": 0,
    "sanctions": {}, "sanctions_total": 0,
    "breaches": 0, "commitments": 1, "days_since_record": NEVER, "days_known": 400.0,
}
VARIABLES = frozenset(SAMPLE_PROFILE)
PARTY_KINDS = ("enterprise", "individual_business", "person", "platform", "logistics", "courier", "service_agency")


# --- policies -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ListDef:
    name: str
    zh: str
    en: str
    public: bool
    review_days: int
    measures: Mapping[str, Any]
    remedy: Mapping[str, str]
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    id: str
    list: str
    zh: str
    en: str
    when: str
    basis: str
    effective_from: date
    stay: str | None = None
    mode: str = ENFORCE
    measures: Mapping[str, Any] = field(default_factory=dict)
    _programs: tuple[Any, Any] = field(default=(None, None), compare=False, repr=False)

    def applies_on(self, day: date) -> bool:
        """Whether the policy is in effect (published and effective) on `day`."""
        return day >= self.effective_from

    def holds(self, profile: Mapping[str, Any] | Any, member: bool) -> bool:
        """Entry condition for a non-member; the stay condition (default: entry) for a member. `profile` is a
        mapping or a prepared `cel.Context` (see `prepare`)."""
        when, stay = self._programs
        program = stay if member and stay is not None else when
        try:  # only true lists a party: a text or an error (which the load-time check makes rare) does not
            return program.execute(profile if isinstance(profile, cel.Context) else prepare(profile)) is True
        except (TypeError, RuntimeError, KeyError, ValueError, ArithmeticError):
            return False

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "list": self.list, "zh": self.zh, "en": self.en, "when": self.when,
                "stay": self.stay, "basis": self.basis, "effective_from": self.effective_from.isoformat(),
                "mode": self.mode, "measures": dict(self.measures)}


@dataclass(frozen=True)
class PolicySet:
    version: int
    lists: Mapping[str, ListDef]
    policies: tuple[Policy, ...]

    def enforced(self) -> tuple[Policy, ...]:
        return tuple(p for p in self.policies if p.mode == ENFORCE)

    def shadow(self) -> tuple[Policy, ...]:
        return tuple(p for p in self.policies if p.mode == SHADOW)

    def by_id(self, policy_id: str) -> Policy:
        return next(p for p in self.policies if p.id == policy_id)


def load_policies(text: str, source: str, categories: Iterable[str], sanction_kinds: Iterable[str],
                  measure_names: Iterable[str] | None = None) -> PolicySet:
    """Parse and check a policy file: every expression compiles, reads only profile variables, and yields a
    boolean on sample profiles of every party kind whose maps hold exactly the known categories and sanction
    kinds (so `records["fake_orders"]`, a typo, is refused at load); lists and measures named exist; ids are
    unique."""
    doc = yaml.load(text, Loader=_TextDates)  # a SafeLoader
    if not isinstance(doc, dict) or set(doc) != {"version", "lists", "policies"}:
        raise VocabularyError(source, "top level: expected exactly the keys version, lists, policies")
    version = _whole(source, "version", doc["version"], 1, None, "a positive whole number")
    if not isinstance(doc["lists"], dict) or not doc["lists"]:
        raise VocabularyError(source, "lists: expected a mapping of list names to their definitions")
    if not isinstance(doc["policies"], list):
        raise VocabularyError(source, "policies: expected a list of policies")
    known = set(measure_names) if measure_names is not None else None
    samples = sample_profiles(list(categories), list(sanction_kinds))
    lists = {_text(source, "lists", n): _list_def(source, n, d, known) for n, d in doc["lists"].items()}
    policies = tuple(_policy(source, i, p, lists, known, samples) for i, p in enumerate(doc["policies"]))
    for d in lists.values():
        if set(d.excludes) - set(lists) or d.name in d.excludes:
            raise VocabularyError(source, f"lists.{d.name}.excludes: unknown or own list in {list(d.excludes)}")
    ids = [p.id for p in policies]
    if len(ids) != len(set(ids)):
        raise VocabularyError(source, f"policies: duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return PolicySet(version, lists, policies)


_COUNTS = ("shops", "score", "records_total", "serious_records", "platform_serious", "grave_records",
           "sanctions_total", "breaches", "commitments", "days_since_record", "days_known")


def sample_profiles(categories: list[str], sanction_kinds: list[str]) -> list[dict[str, Any]]:
    """Profiles an expression must hold or fail on without an error, every branch reached: each party kind;
    each grade with every count 0, 1 and 3; and each count 0 while the others are 1. Run only on the kinds
    with counts of 1, a typo'd category in a branch those skipped (`grade == "D" && records["fake_orders"]`)
    and a division by a count that is 0 passed the check and broke every evaluation (found by review)."""
    def one(kind: str, grade: str, n: int, zero: str | None = None, in_maps: int | None = None) -> dict[str, Any]:
        m = n if in_maps is None else in_maps
        maps = {name: dict.fromkeys(categories, m) for name in ("records", "minor_records", "platform_records")}
        counts = {k: (0 if k == zero else n) for k in _COUNTS}
        return {**SAMPLE_PROFILE, **counts, **maps, "kind": kind, "grade": grade,
                "sanctions": dict.fromkeys(sanction_kinds, m)}
    return ([one(kind, "B", 1) for kind in PARTY_KINDS]
            + [one("enterprise", grade, n) for grade in ("A", "B", "C", "D", "") for n in (0, 1, 3)]
            + [one("enterprise", "D", 1, zero, in_maps) for zero in _COUNTS for in_maps in (0, 1)])


# A membership is reviewed at least this often: five years, leap days included, the longest any statute keeps
# a listing public (ZJPC art. 16); a longer period (10^8 days) outlived every record behind it, or overflowed
# the date it was added to (found by review).
MAX_REVIEW_DAYS = 1827
LIST_KEYS = frozenset({"zh", "en", "public", "review_days", "measures", "remedy", "excludes"})
POLICY_KEYS = frozenset({"id", "list", "zh", "en", "when", "stay", "basis", "effective_from", "mode", "measures"})


class _TextDates(yaml.SafeLoader):
    """YAML's safe loader with dates left as text, for `iso_day` to read naming the key: the loader's own
    date constructor raised a bare ValueError (`2026-13-45`: a traceback, found by review)."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


# Each key is checked for what it is, never coerced: `bool("false")` is True, so a quoted "false" published a
# list, and `int()` of a text raised a traceback (found by review).
def _text(source: str, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise VocabularyError(source, f"{where}: expected a text, got {value!r}")
    return value


def _flag(source: str, where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise VocabularyError(source, f"{where}: expected true or false (unquoted), got {value!r}")
    return value


def _whole(source: str, where: str, value: Any, low: int, high: int | None, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise VocabularyError(source, f"{where}: expected {what}, got {value!r}")
    return value


def _mapping(source: str, where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise VocabularyError(source, f"{where}: expected a mapping, got {value!r}")
    return dict(value)


def _keys(source: str, where: str, d: Any, allowed: frozenset[str], required: Iterable[str]) -> None:
    if not isinstance(d, dict):
        raise VocabularyError(source, f"{where}: expected a mapping, got {d!r}")
    unknown, missing = sorted(set(map(str, d)) - allowed), sorted(set(required) - set(d))
    if unknown or missing:  # a typo (`exclude:`) silently dropped what the key says
        raise VocabularyError(source, f"{where}: " + "; ".join(
            ([f"unknown keys {unknown} (known: {sorted(allowed)})"] if unknown else [])
            + ([f"missing keys {missing}"] if missing else [])))


def _list_def(source: str, name: str, d: Any, known: set[str] | None) -> ListDef:
    where = f"lists.{name}"
    _keys(source, where, d, LIST_KEYS, ("zh", "en", "public", "review_days", "remedy"))
    excludes = d.get("excludes") or []
    if not isinstance(excludes, list):
        raise VocabularyError(source, f"{where}.excludes: expected a list of list names, got {excludes!r}")
    out = ListDef(name, _text(source, f"{where}.zh", d["zh"]), _text(source, f"{where}.en", d["en"]),
                  _flag(source, f"{where}.public", d["public"]),
                  _whole(source, f"{where}.review_days", d["review_days"], 1, MAX_REVIEW_DAYS,
                         f"a positive whole number of days (at most {MAX_REVIEW_DAYS})"),
                  _mapping(source, f"{where}.measures", d.get("measures")),
                  _mapping(source, f"{where}.remedy", d["remedy"]),
                  tuple(_text(source, f"{where}.excludes", x) for x in excludes))
    if set(out.remedy) != {"zh", "en"} or not all(isinstance(v, str) for v in out.remedy.values()):
        raise VocabularyError(source, f"{where}.remedy: expected {{zh: text, en: text}} (quote a text "
                                      "with a comma)")
    _check_measures(source, f"{where}.measures", out.measures, known)
    return out


def _policy(source: str, i: int, p: Any, lists: Mapping[str, ListDef], known: set[str] | None,
            samples: Sequence[Mapping[str, Any]]) -> Policy:
    where = f"policies[{i}]" + (f" ({p.get('id')})" if isinstance(p, dict) and p.get("id") else "")
    _keys(source, where, p, POLICY_KEYS, ("id", "list", "zh", "en", "when", "basis", "effective_from"))
    when, stay = _text(source, f"{where}.when", p["when"]), p.get("stay")
    if stay is not None:
        _text(source, f"{where}.stay", stay)
    mode = p.get("mode", ENFORCE)
    if mode not in (ENFORCE, SHADOW):
        raise VocabularyError(source, f"{where}.mode: expected enforce or shadow, got {mode!r}")
    programs = (_compile(source, f"{where}.when", when, samples),
                _compile(source, f"{where}.stay", stay, samples) if stay is not None else None)
    policy = Policy(_text(source, f"{where}.id", p["id"]), _text(source, f"{where}.list", p["list"]),
                    _text(source, f"{where}.zh", p["zh"]), _text(source, f"{where}.en", p["en"]), when,
                    _text(source, f"{where}.basis", p["basis"]),
                    iso_day(p["effective_from"], f"{where}.effective_from", source), stay, mode,
                    _mapping(source, f"{where}.measures", p.get("measures")), programs)
    if policy.list not in lists:
        raise VocabularyError(source, f"{where}.list: unknown list {policy.list!r}")
    _check_measures(source, f"{where}.measures", policy.measures, known)
    return policy


def _compile(source: str, where: str, expr: str, samples: Sequence[Mapping[str, Any]]) -> Any:
    try:
        program = cel.compile(expr)
    except ValueError as e:
        raise VocabularyError(source, f"{where}: does not compile: {e}") from e
    unknown = set(program.variables()) - VARIABLES
    if unknown:
        raise VocabularyError(source, f"{where}: unknown variables {sorted(unknown)}; known: {sorted(VARIABLES)}")
    for sample in samples:
        try:
            result = program.execute(dict(sample))
        except (TypeError, RuntimeError, KeyError, ValueError, ArithmeticError) as e:
            raise VocabularyError(source, f"{where}: fails on a sample {sample['kind']} profile (grade "
                                          f"{sample['grade']!r}, records_total {sample['records_total']}): "
                                          f"{e!r}") from e
        if not isinstance(result, bool):
            raise VocabularyError(source, f"{where}: must yield true or false, gave {result!r}")
    return program


def _check_measures(source: str, where: str, measures: Mapping[str, Any], known: set[str] | None) -> None:
    if known is not None and set(measures) - known:
        raise VocabularyError(source, f"{where}: unknown measures {sorted(set(measures) - known)}")


# --- evaluation -----------------------------------------------------------------------------------------------
def prepare(profile: Mapping[str, Any]) -> Any:
    """A profile converted to CEL values once, for every policy to read: the conversion costs several times
    what one policy's evaluation does (measured: 35 µs vs 2-7 µs). A profile written by hand (tests,
    examples) may leave out `minor_records`, `platform_records` or some of their categories, and
    `platform_serious`: those count zero."""
    variables = dict(profile)
    for name in ("minor_records", "platform_records"):
        given = variables.get(name) or {}
        if given.keys() != (variables.get("records") or {}).keys():
            variables[name] = {**dict.fromkeys(variables.get("records") or {}, 0), **given}
    variables.setdefault("platform_serious", 0)
    return cel.Context(variables=variables)


def evaluate(policies: Sequence[Policy], profile: Mapping[str, Any], held: Iterable[str], on: date) -> list[str]:
    """Ids of the policies that hold for this profile on `on` (members judged by their stay condition)."""
    members, ctx = set(held), prepare(profile)
    return [p.id for p in policies if p.applies_on(on) and p.holds(ctx, p.id in members)]


def exclusive(lists: Mapping[str, ListDef], names: Iterable[str]) -> set[str]:
    """The lists a party ends up on: a list excluded by another list it is on is dropped."""
    chosen = set(names)
    return chosen - {x for name in chosen for x in lists[name].excludes}


NATURAL_KINDS = frozenset({"person", "courier"})


def kept_lists(lists: Mapping[str, ListDef], names: Iterable[str], profile: Mapping[str, Any]) -> set[str]:
    """The lists a party ends up on (`exclusive`), never a public one for a natural person who sells nothing
    (PIPL art. 25). Enforcement and the backtest both keep these: the backtest listed such a person on the
    black list that enforcement kept off it (found by review)."""
    keep = exclusive(lists, names)
    if profile["kind"] in NATURAL_KINDS and not profile["shops"]:
        keep = {name for name in keep if not lists[name].public}
    return keep


@dataclass(frozen=True)
class Interval:
    policy: str
    start: datetime
    end: datetime | None


def replay(policies: Sequence[Policy], f: ListFacts, until: datetime, categories: Sequence[str],
           sanction_kinds: Sequence[str], since: datetime | None = None,
           lists: Mapping[str, ListDef] | None = None) -> list[Interval]:
    """Membership intervals a party would have had under `policies`, from its first fact (or `since`) until
    `until`: the profile is evaluated at every fact change, every policy's effective date and every
    GRID_DAYS (so conditions on time in business or time since a record fire near when they would)."""
    points = sorted(t for t in _change_points(policies, f, until, since) if t <= until)
    by_list = {p.id: p.list for p in policies}
    held: dict[str, datetime] = {}
    out: list[Interval] = []
    for t in points:
        prof = profile_at(f, t, categories, sanction_kinds)
        now = set(evaluate(policies, prof, held, china_day(t)))
        if lists is not None:
            keep = kept_lists(lists, {by_list[p] for p in now}, prof)
            now = {p for p in now if by_list[p] in keep}
        for pid in [p for p in held if p not in now]:
            out.append(Interval(pid, held.pop(pid), t))
        for pid in sorted(now - set(held)):
            held[pid] = t
    out += [Interval(pid, start, None) for pid, start in held.items()]
    return sorted(out, key=lambda i: (i.start, i.policy))


def _change_points(policies: Sequence[Policy], f: ListFacts, until: datetime,
                   since: datetime | None) -> set[datetime]:
    start = since or f.first_seen
    tz = until.tzinfo
    points = {t for t in f.times() if t >= start} | {start, until}
    points |= {datetime(p.effective_from.year, p.effective_from.month, p.effective_from.day, tzinfo=tz)
               for p in policies}
    step = start
    while step < until:
        points.add(step)
        step += timedelta(days=GRID_DAYS)
    return {t for t in points if t >= start}
