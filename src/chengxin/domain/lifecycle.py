"""The lifecycle of a dishonesty record (失信记录): states, lawful transitions, disclosure and repair. Pure.

A record is a confirmed act of dishonesty by one party: a detection finding a person confirmed, a sanction an
authority imposed, or a breach of a credit commitment. It moves

    suspected → confirmed → (appealed → confirmed again, or overturned) → repaired or expired
    suspected → dismissed

and every move is appended (to the credit log and the record's transition history), never edited. The
periods and conditions are data (`vocab/lifecycle.yaml`): disclosure periods by severity follow 市场监督管理
行政处罚信息公示规定 art. 13 and 浙江省公共信用信息管理条例 art. 16; repair follows art. 14 of the former and
上海市社会信用条例 art. 38. A repaired, expired or overturned record leaves public view and stops counting
towards lists; it stays in the log and its proofs.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import yaml

from chengxin.domain.vocabulary import VocabularyError

SUSPECTED, CONFIRMED, APPEALED = "suspected", "confirmed", "appealed"
DISMISSED, OVERTURNED, REPAIRED, EXPIRED = "dismissed", "overturned", "repaired", "expired"
STATES = (SUSPECTED, CONFIRMED, APPEALED, DISMISSED, OVERTURNED, REPAIRED, EXPIRED)
IN_FORCE = frozenset({CONFIRMED, APPEALED})     # an appeal does not suspend a record (it may be upheld)
ENDED = frozenset({DISMISSED, OVERTURNED, REPAIRED, EXPIRED})

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "confirm": (frozenset({SUSPECTED}), CONFIRMED),
    "dismiss": (frozenset({SUSPECTED}), DISMISSED),
    "appeal": (frozenset({CONFIRMED}), APPEALED),
    "uphold": (frozenset({APPEALED}), CONFIRMED),
    "overturn": (frozenset({APPEALED, CONFIRMED}), OVERTURNED),   # CONFIRMED: the authority revoked it itself
    "repair": (frozenset({CONFIRMED}), REPAIRED),
    "expire": (frozenset({CONFIRMED, APPEALED}), EXPIRED),
}
SEVERITIES = ("minor", "serious", "grave")
REPAIR_CONDITIONS = ("penalty_fulfilled", "harm_removed")  # what a repair applicant declares met
COMMITMENT_NOT_ON_FILE = "repair commitment not on file"


class IllegalTransition(ValueError):
    """An action the record's state does not allow (e.g. repairing a record under appeal)."""


def next_state(state: str, action: str) -> str:
    """The state after `action`, or IllegalTransition naming what is allowed."""
    if action not in TRANSITIONS:
        raise IllegalTransition(f"unknown action {action!r}; expected one of {', '.join(TRANSITIONS)}")
    sources, target = TRANSITIONS[action]
    if state not in sources:
        raise IllegalTransition(f"a {state} record cannot be {action}ed: only from {', '.join(sorted(sources))}")
    return target


# --- rules ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """A statutory period in calendar units (`3 months`, `1 year`, `90 days`): three years from 2028-02-29
    end where the calendar says, not 1,095 days later (leap years made a fixed count a day or two short)."""

    amount: int
    unit: str  # days, months or years

    def after(self, day: date) -> date:
        """The same day `amount` units later (the month's last day when it has fewer days)."""
        if self.unit == "days":
            return day + timedelta(days=self.amount)
        months = self.amount * (12 if self.unit == "years" else 1) + day.month - 1
        year, month = day.year + months // 12, months % 12 + 1
        return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def parse_period(text: Any, where: str, source: str) -> Period:
    found = re.fullmatch(r"([1-9][0-9]{0,3}) (day|month|year)s?", str(text).strip())
    if found is None:
        raise VocabularyError(source, f"{where}: expected a period such as `90 days`, `3 months` or `3 years`")
    return Period(int(found[1]), found[2] + "s")


@dataclass(frozen=True)
class Severity:
    name: str
    disclose: Period
    repair_after: Period
    basis: str


@dataclass(frozen=True)
class Category:
    name: str
    severity: str
    zh: str
    en: str
    basis: str
    findings: tuple[str, ...]


@dataclass(frozen=True)
class SanctionRule:
    kind: str
    severity: str | None        # None: the category's
    basis: str
    until_lifted: bool = False  # stays in force until the authority lifts it (no disclosure end of its own)


@dataclass(frozen=True)
class RepairRule:
    requires: tuple[str, ...]
    no_repeat_of_same_category: bool
    not_while_on_lists: tuple[str, ...]
    barred_severities: tuple[str, ...]
    basis: str
    not_while_sanctioned: tuple[str, ...] = ()  # the authorities' lists, by the sanction kind that lists a party
    commitment_template: str = "repair-commitment-v1"  # the signed repair commitment, published as a commitment


@dataclass(frozen=True)
class LifecycleRules:
    version: int
    effective_from: str
    severities: Mapping[str, Severity]
    categories: Mapping[str, Category]
    sanctions: Mapping[str, SanctionRule]
    breach_severity: str
    breach_basis: str
    repair: RepairRule
    appeal_days: int
    appeal_basis: str

    def category_of_finding(self, finding_kind: str) -> str | None:
        """The record category a confirmed finding of this kind becomes (None: not a dishonesty record)."""
        return next((c.name for c in self.categories.values() if finding_kind in c.findings), None)

    def severity_of(self, category: str, sanction_kind: str | None = None) -> str:
        rule = self.sanctions.get(sanction_kind) if sanction_kind else None
        if rule is not None and rule.severity:
            return rule.severity
        found = self.categories.get(category) or self.categories["other"]
        return found.severity


def load_rules(text: str, source: str = "<string>") -> LifecycleRules:
    """Parse and check `vocab/lifecycle.yaml`; a bad file is a VocabularyError naming the key."""
    doc = yaml.safe_load(text)
    need = {"version", "effective_from", "severities", "categories", "sanctions", "breach", "repair", "appeal"}
    if not isinstance(doc, dict) or set(doc) != need:
        raise VocabularyError(source, f"top level: expected exactly the keys {', '.join(sorted(need))}")
    try:
        severities = {n: Severity(n, parse_period(s["disclose"], f"severities.{n}.disclose", source),
                                  parse_period(s["repair_after"], f"severities.{n}.repair_after", source),
                                  str(s["basis"])) for n, s in doc["severities"].items()}
        if tuple(severities) != SEVERITIES:
            raise VocabularyError(source, f"severities: expected {', '.join(SEVERITIES)} in that order")
        categories = {n: Category(n, c["severity"], c["zh"], c["en"], c["basis"], tuple(c.get("findings") or ()))
                      for n, c in doc["categories"].items()}
        sanctions = {n: SanctionRule(n, s.get("severity"), s["basis"], bool(s.get("until_lifted", False)))
                     for n, s in doc["sanctions"].items()}
        r = doc["repair"]
        repair = RepairRule(tuple(r["requires"]), bool(r["no_repeat_of_same_category"]),
                            tuple(r["not_while_on_lists"]), tuple(r["barred_severities"]), r["basis"],
                            tuple(r["not_while_sanctioned"]), str(r["commitment_template"]))
    except (KeyError, TypeError) as e:
        raise VocabularyError(source, f"missing or malformed entry: {e}") from e
    _check(source, severities, categories, sanctions, repair, doc["breach"])
    appeal = doc["appeal"]
    if not isinstance(appeal, dict) or not {"decide_within_days", "basis"} <= set(appeal):
        raise VocabularyError(source, "appeal: expected the keys decide_within_days and basis")
    return LifecycleRules(int(doc["version"]), iso_day(doc["effective_from"], "effective_from", source).isoformat(),
                          severities, categories, sanctions, doc["breach"]["severity"], doc["breach"]["basis"], repair,
                          _positive_days(appeal.get("decide_within_days"), "appeal.decide_within_days", source),
                          str(appeal["basis"]))


def iso_day(value: Any, where: str, source: str) -> date:
    """A day written as an ISO date (`2026-12-01`, quoted or not); a VocabularyError naming the key otherwise."""
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise VocabularyError(source, f"{where}: expected an ISO date (YYYY-MM-DD), got {value!r}") from None


def _positive_days(value: Any, where: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise VocabularyError(source, f"{where}: expected a positive whole number of days, got {value!r}")
    return value


def check_lists(rules: LifecycleRules, lists: Iterable[str], source: str, lists_source: str) -> None:
    """Across files: the lists `repair.not_while_on_lists` names are lists `lists_source` defines (a typo,
    `blacklist`, silently disabled the bar), and no list is named as a sanction kind the repair check reads as
    an authority's list (`repair.not_while_sanctioned`)."""
    names = set(lists)
    unknown = [n for n in rules.repair.not_while_on_lists if n not in names]
    if unknown:
        raise VocabularyError(source, f"repair.not_while_on_lists: unknown lists {unknown}; {lists_source} defines "
                                      f"{sorted(names)}")
    clash = sorted(names & set(rules.repair.not_while_sanctioned))
    if clash:
        raise VocabularyError(lists_source, f"lists: {clash} named as sanction kinds of {source} "
                                            "repair.not_while_sanctioned; give the list another name")


def check_templates(rules: LifecycleRules, types: Mapping[str, str], source: str, templates_source: str) -> None:
    """Across files: `repair.commitment_template` is a repair template of `templates_source` (`types`: each
    template's type)."""
    name, repair = rules.repair.commitment_template, sorted(n for n, kind in types.items() if kind == "repair")
    if name not in repair:
        raise VocabularyError(source, f"repair.commitment_template: {name!r} is not a repair template of "
                                      f"{templates_source} (its repair templates: {repair})")


def _check(source: str, severities: Mapping[str, Severity], categories: Mapping[str, Category],
           sanctions: Mapping[str, SanctionRule], repair: RepairRule, breach: Mapping[str, Any]) -> None:
    used: list[tuple[str, Any]] = [(f"categories.{c.name}", c.severity) for c in categories.values()]
    used += [(f"sanctions.{s.kind}", s.severity) for s in sanctions.values() if s.severity]
    used += [("breach", breach.get("severity")), *(("repair.barred_severities", s) for s in repair.barred_severities)]
    for where, severity in used:
        if severity not in severities:
            raise VocabularyError(source, f"{where}: unknown severity {severity!r}")
    if "other" not in categories:
        raise VocabularyError(source, "categories: an `other` category is required (the fallback)")
    kinds = [k for c in categories.values() for k in c.findings]
    if len(kinds) != len(set(kinds)):
        raise VocabularyError(source, "categories: a finding kind may map to one category only")
    if "repair_commitment" in repair.requires:  # a checkbox the filer ticked; never checked (found by review)
        raise VocabularyError(source, "repair.requires: repair_commitment is not declared but looked up: name "
                                      "its template as repair.commitment_template")
    unknown = set(repair.requires) - set(REPAIR_CONDITIONS)
    if unknown:
        raise VocabularyError(source, f"repair.requires: unknown conditions {sorted(unknown)}")
    unknown = set(repair.not_while_sanctioned) - set(sanctions)
    if unknown:
        raise VocabularyError(source, f"repair.not_while_sanctioned: unknown sanction kinds {sorted(unknown)}; "
                                      f"known: {sorted(sanctions)}")


# --- legal bases ----------------------------------------------------------------------------------------------
_CITATION = re.compile(r"《?(?P<law>[^《》;；]+?)》?\s*(?P<articles>第[^;；]+)")


def join_basis(*parts: str | None) -> str | None:
    """Legal bases joined as one (`; `), each statute once, in the order first cited: a category's statutes and
    an officer's (`电子商务法 第十七条` beside `电子商务法 第十七条; 反不正当竞争法 第八条` was printed twice, found
    by review). Articles of a law cited again join its first citation (`电子商务法 第十七条、第三十九条`); a
    formal title (`《中华人民共和国电子商务法》`) is the same law as its short name; anything else (a decision
    number) is kept once, as written."""
    cited: list[list[Any]] = []  # [as written, the law's key (None: not a citation), the law, its articles]
    for part in parts:
        for item in (x.strip() for x in re.split(r"[;；]", part or "")):
            found = _CITATION.fullmatch(item)
            law = found["law"].strip() if found else ""
            key = law.removeprefix("中华人民共和国") if found else None
            articles = [a.strip() for a in found["articles"].split("、") if a.strip()] if found else []
            same = next((c for c in cited if (c[1] == key if key else c[0] == item)), None)
            if same is None and item:
                cited.append([item, key, law, articles])
            elif same is not None and (more := [a for a in articles if a not in same[3]]):
                same[3] += more
                same[0] = f"{same[2]} {'、'.join(same[3])}"
    return "; ".join(c[0] for c in cited) or None


# --- periods --------------------------------------------------------------------------------------------------
def disclose_until(rules: LifecycleRules, severity: str, confirmed_on: date, given: date | None = None) -> date | None:
    """The last day a record is public: the authority's own date when it gave one, else the severity's period
    counted as the Civil Code counts one (民法典 第二百零一条、第二百零三条): from the day after confirmation, to
    the same day of the last month, or that month's last day when it has none (3 months from 30 November: to
    the last day of February; 3 years from 29 February 2028: to 28 February 2031)."""
    if given is not None:
        return given
    return rules.severities[severity].disclose.after(confirmed_on)


def repair_from(rules: LifecycleRules, severity: str, confirmed_on: date) -> date:
    """The first day a repair may be granted: the day after the minimum publicity period ends (counted as
    `disclose_until` counts)."""
    return rules.severities[severity].repair_after.after(confirmed_on) + timedelta(days=1)


def publicly_shown(state: str, last_day: date | None, today: date) -> bool:
    """Whether the public sees a record today: in force and within its disclosure period."""
    return state in IN_FORCE and (last_day is None or today <= last_day)


# --- repair ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RepairCheck:
    """Whether a repair may be granted today, and every reason it may not (each with its legal basis)."""

    eligible: bool
    unmet: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"eligible": self.eligible, "unmet": list(self.unmet)}


def check_repair(rules: LifecycleRules, *, state: str, severity: str, repair_on: date, today: date,
                 conditions: Mapping[str, bool], commitment: bool, repeats: int, lists: Sequence[str]) -> RepairCheck:
    """The statutory conditions for credit repair (PPD art. 14; SHSC art. 38; ZJPC art. 32): the record is in
    force (not under appeal), its minimum publicity period is over, the applicant meets every required
    condition, a repair commitment of the party is on file (`commitment`: one of the template
    `repair.commitment_template` published since the record was confirmed, and in force; SAMR: a signed
    repair commitment),
    it has not repeated the same conduct, and is not on a list that bars repair. `lists` are the
    lists the party would be on *without this record*: a record cannot bar its own repair by the listing it
    caused, but another serious record can. They are this node's lists (`repair.not_while_on_lists`) and the
    authorities' lists, named by the sanction kind in force that puts a party on them
    (`repair.not_while_sanctioned`: the abnormal-operation list and the serious-illegality list, PPD art. 14
    (4); ZJPC art. 32)."""
    r, unmet = rules.repair, []
    if state != CONFIRMED:
        unmet.append(f"the record is {state}; only a confirmed record (not under appeal) can be repaired")
    if severity in r.barred_severities:
        unmet.append(f"{severity} records cannot be repaired; they leave by their own removal rules")
    if today < repair_on:
        # the day named is the first a repair may be granted (the period ends the day before: the message said
        # "runs until" that first day, a day more than docs/lists.md; found by review)
        unmet.append(f"the minimum publicity period is not over: a repair may be granted from "
                     f"{repair_on.isoformat()}")
    unmet += [f"condition not met: {c}" for c in r.requires if not conditions.get(c)]
    if not commitment:
        unmet.append(f"{COMMITMENT_NOT_ON_FILE}: no {r.commitment_template} commitment of the party published since "
                     "the record was confirmed and in force")
    if r.no_repeat_of_same_category and repeats:
        unmet.append(f"the same conduct was recorded again {repeats} time(s) after this record")
    unmet += [f"the party is on the {name} list" for name in lists if name in r.not_while_on_lists]
    unmet += [f"the party is on the authority's {name} list (the sanction is in force)"
              for name in lists if name in r.not_while_sanctioned]
    return RepairCheck(not unmet, tuple(unmet))
