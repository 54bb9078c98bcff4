"""Credit score (0-1000) and grade of a party: data + a pure function + an explanation.

A `Profile` holds the facts about one party (computed by `services/scoring.py` from the store); `score`
turns it into a `Score` under the rules of `vocab/credit_score.yaml` (checked by `load_score_rules`). Each
dimension that fits the party's kind gives a value in [0, 1] times its weight; every dimension says in
plain words (zh and en) what it saw and what it gave, and the notable facts become reason codes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from chengxin.domain.disclosure import WITHDRAWING_LIFTS
from chengxin.domain.score_evidence import NEW_BY_LICENCE, NEW_DAYS, returns_sentence
from chengxin.domain.score_evidence import dsr_comparable as dsr_comparable  # re-exported: views ask it too
from chengxin.domain.score_evidence import tenure_days as tenure_days
from chengxin.domain.vocabulary import VocabularyError

DIMENSIONS = ("identity", "trade", "complaints", "dishonesty", "commitments", "tenure")


@dataclass(frozen=True, slots=True)
class Sanction:
    kind: str
    age_days: float
    lifted: str | None = None    # repaired | expired | revoked, or None while in force


@dataclass(frozen=True)
class Profile:
    """What is known about one party. Trade counts are as seller (merchant), carrier (logistics) or buyer;
    `carried` counts the parcels a logistics firm or courier carried."""

    kind: str                              # the subject kind (enterprise, person, logistics, ...)
    identity_valid: bool = True
    verified: bool = False
    licence_gaps: int = 0
    sells: bool = False                    # runs a shop: its key categories' licences are checked (licence_gaps)
    days_known: float = 0.0                # since Chengxin first saw the party (its first report or shop)
    # since the start of its business licence (its market-entity registration), when one was published: the
    # better evidence of time in business; "registered 76 days ago" was said of a company licensed in 2010
    days_licensed: float | None = None
    orders: int = 0
    ratings: int = 0
    ratings_weight: float | None = None    # the ratings' total weight (an ordinary rater's rating weighs 1)
    rating_mean: float | None = None       # reliability-weighted mean of received 1-5 scores
    rating_mean_raw: float | None = None
    dsr_gap: float | None = None           # own mean DSR minus the category's
    dsr_ratings: int | None = None         # the DSR ratings the gap rests on (None: not known, taken as enough)
    # quality-related returns, deliveries, shipments: counts of orders, each weighted by its buyer's
    # reliability (an ordinary buyer's order 1; a ring account's next to nothing)
    returns: float = 0.0
    delivered: float = 0.0
    shipped: float = 0.0
    shipped_on_time: float = 0.0
    carried: float = 0.0                   # parcels carried as a shipment's carrier or courier, weighted alike
    complaints: int = 0
    complaints_upheld: float = 0.0         # upheld + half of partly upheld
    sanctions: tuple[Sanction, ...] = ()
    retracted: int = 0                     # ratings taken back: their orders were confirmed fake
    records: tuple[int, int, int] = (0, 0, 0)  # confirmed dishonesty records in force: minor, serious, grave
    commitments: int = 0
    commitments_broken: int = 0


@dataclass(frozen=True)
class ScoreRules:
    version: int
    grades: tuple[tuple[str, int, str, str], ...]       # (grade, min, zh, en), best first
    kinds: Mapping[str, tuple[frozenset[str], Mapping[str, int]]]
    params: Mapping[str, Mapping[str, Any]]
    reliability: Any = None   # domain.reliability.ReliabilityParams for weighting ratings
    caps: Mapping[str, str] = field(default_factory=dict)  # reason code -> the best grade while it holds

    def kind_of(self, party_kind: str) -> str | None:
        return next((k for k, (applies, _) in self.kinds.items() if party_kind in applies), None)


@dataclass
class Dimension:
    name: str
    weight: int
    value: float
    en: str
    zh: str
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def points(self) -> int:
        return round(self.weight * self.value)

    def as_dict(self) -> dict[str, Any]:
        return {"dimension": self.name, "weight": self.weight, "value": round(self.value, 4),
                "points": self.points, "en": self.en, "zh": self.zh, "facts": self.facts}


@dataclass
class Score:
    score: int
    grade: str
    kind: str
    dimensions: list[Dimension]
    reasons: list[dict[str, str]]
    scored_grade: str | None = None  # the score's own grade, when a reason held the grade below it

    def as_dict(self, rules: ScoreRules) -> dict[str, Any]:
        zh, en = next((z, e) for g, _, z, e in rules.grades if g == self.grade)
        return {"score": self.score, "grade": self.grade, "grade_zh": zh, "grade_en": en, "score_kind": self.kind,
                "dimensions": [d.as_dict() for d in self.dimensions], "reasons": self.reasons,
                "rules_version": rules.version,
                **({"scored_grade": self.scored_grade} if self.scored_grade else {})}


# --- rules -----------------------------------------------------------------------------------------------
def load_score_rules(text: str, source: str = "<string>") -> ScoreRules:
    doc = yaml.safe_load(text)
    need = ("version", "effective_from", "grades", "kinds", "reliability", "caps", *[d for d in DIMENSIONS])
    if not isinstance(doc, dict) or set(doc) != set(need):
        raise VocabularyError(source, f"top level: expected exactly the keys {', '.join(need)}")
    grades = tuple((g["grade"], int(g["min"]), g["zh"], g["en"]) for g in doc["grades"])
    if [g[1] for g in grades] != sorted((g[1] for g in grades), reverse=True) or grades[-1][1] != 0:
        raise VocabularyError(source, "grades: minimums must fall from the best grade to 0")
    kinds = {}
    for name, k in doc["kinds"].items():
        weights = k.get("weights") or {}
        unknown = set(weights) - set(DIMENSIONS)
        if unknown or sum(weights.values()) != 1000:
            raise VocabularyError(source, f"kinds.{name}.weights: dimensions of {DIMENSIONS} summing to 1000"
                                          f" (unknown: {sorted(unknown)}, sum {sum(weights.values())})")
        kinds[name] = (frozenset(k["applies_to"]), dict(weights))
    parts = doc["trade"]["parts"]
    if abs(sum(parts.values()) - 1) > 1e-9:
        raise VocabularyError(source, "trade.parts: shares must sum to 1")
    for section, key in _DIVISORS:  # a 0 here divided by zero for every party (found by review)
        value = (doc[section] or {}).get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise VocabularyError(source, f"{section}.{key}: expected a number above 0, got {value!r}")
    from chengxin.domain.reliability import ReliabilityParams

    try:
        reliability = ReliabilityParams(**(doc["reliability"] or {}))
    except (TypeError, ValueError) as e:
        raise VocabularyError(source, f"reliability: {e}") from e
    caps = doc["caps"] or {}
    codes, names = {r[0] for r in _REASONS}, {g[0] for g in grades}
    if not isinstance(caps, dict) or not set(caps) <= codes or not set(caps.values()) <= names:
        raise VocabularyError(source, f"caps: reason codes of {sorted(codes)} to grades of {sorted(names)}")
    per_record = (doc["dishonesty"] or {}).get("per_record")
    if not isinstance(per_record, dict) or set(per_record) != set(SEVERITIES) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in per_record.values()):
        raise VocabularyError(source, f"dishonesty.per_record: a share from 0 to 1 for each of {SEVERITIES}")
    return ScoreRules(int(doc["version"]), grades, kinds, {d: doc[d] for d in DIMENSIONS}, reliability, dict(caps))


SEVERITIES = ("minor", "serious", "grave")  # of dishonesty records (vocab/lifecycle.yaml)


# Rules a score divides by: each must be above 0
_DIVISORS = (("trade", "order_pseudocount"), ("trade", "rating_pseudocount"), ("trade", "return_rate_bad"),
             ("trade", "dsr_gap_bad"), ("trade", "dsr_category_step"), ("trade", "dsr_min_ratings"),
             ("complaints", "upheld_rate_bad"),
             ("dishonesty", "half_life_days"), ("tenure", "full_days"))


def grade_for(score: int, rules: ScoreRules) -> str:
    return next(g for g, minimum, _, _ in rules.grades if score >= minimum)


# --- the score ----------------------------------------------------------------------------------------------
def score(p: Profile, rules: ScoreRules) -> Score | None:
    """The party's score, grade, dimensions and reasons; None for a kind without scoring rules."""
    kind = rules.kind_of(p.kind)
    if kind is None:
        return None
    weights = rules.kinds[kind][1]
    dims = [_DIMENSION_FUNCS[name](p, rules.params[name], w) for name, w in weights.items()]
    total = max(0, min(1000, sum(d.points for d in dims)))
    reasons, grade = _reasons(p, dims), grade_for(total, rules)
    held = _held_to(grade, reasons, rules)
    if held is None:
        return Score(total, grade, kind, dims, reasons)
    best, codes = held
    why = [r for r in reasons if r["code"] in codes]
    reasons.append({"code": "GRADE_HELD", "en": f"grade held at {best} while: " + "; ".join(r["en"] for r in why),
                    "zh": f"信用等级最高为{best}，因：" + "；".join(r["zh"] for r in why)})
    return Score(total, best, kind, dims, reasons, scored_grade=grade)


def _held_to(grade: str, reasons: list[dict[str, str]], rules: ScoreRules) -> tuple[str, list[str]] | None:
    """The best grade the reasons allow, if below the score's own, and the codes that hold it there: a party
    that failed its real-name check, or sells in a key category without its licence, was graded "good" on
    its trade's priors a day after opening (found by review)."""
    order = [g[0] for g in rules.grades]  # best first
    caps = [(order.index(rules.caps[r["code"]]), r["code"]) for r in reasons if r["code"] in rules.caps]
    if not caps or max(caps)[0] <= order.index(grade):
        return None
    worst = max(caps)[0]
    return order[worst], [code for at, code in caps if at == worst]


def _clip(x: float) -> float:
    return max(0.0, min(1.0, x))


def _identity(p: Profile, c: Mapping[str, Any], w: int) -> Dimension:
    if not p.identity_valid:
        return Dimension("identity", w, 0.0, "the legal identifier failed its checks",
                         "证照号码未通过校验", {"valid": False, "licences_checked": p.sells})
    value = 1.0 if p.verified else c["unverified"]
    value = _clip(value - c["per_licence_gap"] * p.licence_gaps)
    en = "real name checked and verified" if p.verified else "valid identifier, real name not verified"
    zh = "实名核验通过" if p.verified else "证照号码有效，未经实名核验"
    if p.licence_gaps:
        en += f"; {_n(p.licence_gaps, 'required licence')} missing or expired"
        zh += f"；缺少{p.licence_gaps}项必需的有效许可证"
    elif p.sells:
        en += "; holds the licences its shops' key categories need"
        zh += "；所售重点品类所需许可证齐全"
    elif p.kind not in _PERSONS:  # say what earned the points: "150/150" beside "no licence published" read as
        en += "; runs no shop: licences of its own trade are not checked here"  # full marks for licences
        zh += "；未经营网店，本系统不核查其行业许可证"                             # (public review finding 9)
    return Dimension("identity", w, value, en, zh, {"verified": p.verified, "licence_gaps": p.licence_gaps,
                                                    "licences_checked": p.sells})


_PERSONS = frozenset({"person", "courier"})  # natural persons: no trade licence of their own to speak of


def _shrunk_rate(bad: float, n: float, pseudo: float, prior: float = 0.0) -> float:
    """bad / n, shrunk toward `prior` with `pseudo` pseudo-observations (few observations say little)."""
    return (bad + pseudo * prior) / (n + pseudo) if n + pseudo else prior


def _trade(p: Profile, c: Mapping[str, Any], w: int) -> Dimension:
    parts = c["parts"]
    k, prior = c["rating_pseudocount"], c["rating_prior_mean"]
    n = p.ratings if p.ratings_weight is None else p.ratings_weight  # unreliable ratings say less
    mean = prior if p.rating_mean is None else (p.rating_mean * n + prior * k) / (n + k)
    rating = _clip((mean - 1) / 4)
    return_rate = _shrunk_rate(p.returns, p.delivered, c["order_pseudocount"], c["return_rate_prior"])
    returns = _clip(1 - return_rate / c["return_rate_bad"])
    on_time = (p.shipped_on_time + 0.9 * c["order_pseudocount"]) / (p.shipped + c["order_pseudocount"])
    gap = p.dsr_gap if dsr_comparable(p.dsr_ratings, c) else None  # a gap of a few ratings is noise
    dsr = 1.0 if gap is None else _clip(1 + min(0.0, gap) / c["dsr_gap_bad"])
    value = parts["rating"] * rating + parts["returns"] * returns + parts["on_time"] * on_time + parts["dsr"] * dsr
    facts = {"orders": p.orders, "ratings": p.ratings, "rating_mean_weighted": _r(p.rating_mean),
             "rating_mean_raw": _r(p.rating_mean_raw), "return_rate": _r(return_rate),
             "on_time_rate": _r(p.shipped_on_time / p.shipped) if p.shipped else None, "dsr_gap": _r(p.dsr_gap)}
    returns_en, returns_zh = returns_sentence(p, return_rate)
    en = (f"{_n(p.ratings, 'rating')}, weighted mean {_fmt(p.rating_mean)} (raw {_fmt(p.rating_mean_raw)}); "
          f"{returns_en}; "
          + (f"{_pct(p.shipped_on_time, p.shipped)} shipped on time" if p.shipped else
             f"{_parcels(p.carried)} carried" if p.carried else "nothing shipped yet"))
    zh = (f"{p.ratings}条评价，加权均分{_fmt(p.rating_mean)}（原始{_fmt(p.rating_mean_raw)}）；"
          f"{returns_zh}；"
          + (f"按时发货{_pct(p.shipped_on_time, p.shipped)}" if p.shipped else
             f"承运包裹{p.carried:,.0f}件" if p.carried else "尚无发货"))
    if gap is not None:
        en += f"; DSR {gap:+.2f} against the category"
        zh += f"；店铺动态评分较同类{gap:+.2f}"
    elif p.dsr_gap is not None:
        en += f"; DSR of {_n(p.dsr_ratings or 0, 'rating')}: too few to compare with the category"
        zh += f"；店铺动态评分仅{p.dsr_ratings}条，过少，不与同类比较"
    return Dimension("trade", w, _clip(value), en, zh, facts)


def _complaints(p: Profile, c: Mapping[str, Any], w: int) -> Dimension:
    # per order shipped (as a seller) and parcel carried (as a carrier or courier), each weighted by its
    # buyer's reliability (fake orders do not dilute the rate), or per order for parties that do neither
    # (buyers: their paid orders). A carrier's parcels were left out: one that carried 100,000 parcels with 10
    # upheld complaints scored as badly as one that carried 10 (found by review).
    handled = p.shipped + p.carried
    if handled or p.orders:
        rate = p.complaints_upheld / max(handled if handled else p.orders, 1)
        value = _clip(1 - rate / c["upheld_rate_bad"])
    else:
        rate = None
        value = _clip(1 - c["per_upheld_without_orders"] * p.complaints_upheld)
    over_en = [f"{p.shipped:,.0f} orders shipped" if p.shipped else "",
               f"{_parcels(p.carried)} carried" if p.carried else ""]
    over_zh = [f"发货{p.shipped:,.0f}单" if p.shipped else "", f"承运包裹{p.carried:,.0f}件" if p.carried else ""]
    if not handled and p.orders:
        over_en, over_zh = [_n(p.orders, "order")], [f"订单{p.orders:,}单"]
    en, zh = _complaint_counts(p.complaints, p.complaints_upheld)
    if over := " and ".join(x for x in over_en if x):
        en += f" over {over}"
        zh = "，".join(x for x in over_zh if x) + "，" + zh
    if rate is not None:
        en += f" (upheld rate {rate:.2%})"
        zh += f"（成立率{rate:.2%}）"
    return Dimension("complaints", w, value, en, zh, {"complaints": p.complaints, "upheld": p.complaints_upheld,
                                                      "upheld_rate": _r(rate), "orders": p.orders,
                                                      "shipped": _r(p.shipped), "carried": _r(p.carried)})


def _complaint_counts(filed: int, upheld: float) -> tuple[str, str]:
    """The counts of the complaints sentence (en, zh): filings against the party, and how many were upheld."""
    return f"{_n(filed, 'complaint')}, {upheld:g} upheld", f"被投诉{filed}件，成立{upheld:g}件"


def restate_complaints(dimension: Mapping[str, Any], filed: int) -> dict[str, Any]:
    """The complaints dimension as computed, its sentence and `facts` counting `filed` filings instead of all:
    what a viewer who may not see every filing is shown (services/complaint_counts.py). The score, the upheld
    count and the rate stay as computed (they count outcomes, which are public)."""
    facts = dimension["facts"]
    was_en, was_zh = _complaint_counts(facts["complaints"], facts["upheld"])
    now_en, now_zh = _complaint_counts(filed, facts["upheld"])
    return {**dimension, "en": dimension["en"].replace(was_en, now_en, 1),
            "zh": dimension["zh"].replace(was_zh, now_zh, 1), "facts": {**facts, "complaints": filed}}


def counted(p: Profile) -> tuple[Sanction, ...]:
    """The sanctions a score counts: not those withdrawn (repaired, or revoked: annulled). A withdrawn sanction
    leaves public view (`domain/disclosure.py`); counted, the public score card still said "1 sanction (0 in
    force)" and "past sanctions lifted or repaired" about it (found by review)."""
    return tuple(s for s in p.sanctions if s.lifted not in WITHDRAWING_LIFTS)


def _dishonesty(p: Profile, c: Mapping[str, Any], w: int) -> Dimension:
    burden, kept = 0.0, counted(p)
    for s in kept:  # a sanction in force weighs in full; once lifted (expired) it fades with its age
        fade = 1.0 if s.lifted is None else 0.5 ** (s.age_days / c["half_life_days"])
        burden += c["severity"].get(s.kind, 0.5) * fade * (c["lifted"].get(s.lifted, 1.0) if s.lifted else 1.0)
    burden += c["per_retracted_rating"] * p.retracted
    burden += sum(c["per_record"][sev] * n for sev, n in zip(SEVERITIES, p.records, strict=True))
    active, records = sum(1 for s in kept if s.lifted is None), sum(p.records)
    # a sanction's own act is counted as the sanction, not again as a record: beside one the records are those
    # "besides sanctions" ("有效的失信认定记录0条" beside a confirmed counterfeit listing, public review finding 5)
    besides_en, besides_zh = (" besides sanctions", "处罚以外") if kept else ("", "")
    en = (f"{_n(len(kept), 'sanction')} ({active} in force), {_n(records, 'confirmed dishonesty record')} in "
          f"force{besides_en}, {_n(p.retracted, 'rating')} taken back" if kept or p.retracted or records
          else "no sanctions or confirmed dishonesty")
    zh = (f"受处罚{len(kept)}次（{active}项有效），{besides_zh}有效的失信认定记录{records}条，"
          f"{p.retracted}条评价因虚假交易撤回" if kept or p.retracted or records else "无处罚或已认定的失信记录")
    return Dimension("dishonesty", w, _clip(1 - burden), en, zh,
                     {"sanctions": len(kept), "in_force": active, "records": dict(zip(SEVERITIES, p.records,
                                                                                     strict=True)),
                      "retracted": p.retracted, "burden": round(burden, 4)})


def _commitments(p: Profile, c: Mapping[str, Any], w: int) -> Dimension:
    value = (1.0 if p.commitments else c["none"]) - c["per_broken"] * p.commitments_broken
    en = f"{_n(p.commitments, 'credit commitment')} published, {p.commitments_broken} broken"
    zh = f"公开信用承诺{p.commitments}份，违反{p.commitments_broken}份"
    return Dimension("commitments", w, _clip(value), en, zh,
                     {"published": p.commitments, "broken": p.commitments_broken})


def _tenure(p: Profile, c: Mapping[str, Any], w: int) -> Dimension:
    days, basis = tenure_days(p)
    value = _clip(days / c["full_days"])
    en, zh = (f"in business for {days:.0f} days (since its business licence)", f"自营业执照起始日经营{days:.0f}天") \
        if basis == "licence" else (f"known to this registry for {days:.0f} days", f"在本系统记录{days:.0f}天")
    return Dimension("tenure", w, value, en, zh, {"days": round(days), "basis": basis,
                                                  "days_known": round(p.days_known)})


_DIMENSION_FUNCS = {"identity": _identity, "trade": _trade, "complaints": _complaints,
                    "dishonesty": _dishonesty, "commitments": _commitments, "tenure": _tenure}

# Sanctions the authorities impose (`only_from` regulator sources in vocab/events-v1.yaml): in force, they hold
# the grade down (`caps`); a platform's own measure, and the dishonesty records a platform confirms, weigh in the
# dishonesty dimension only, so that one platform's finding has no public effect beyond it (list_policies.yaml)
SERIOUS, PENALTIES = frozenset({"serious_dishonesty"}), frozenset({"administrative_penalty", "abnormal_operation"})


def _in_force(p: Profile, kinds: frozenset[str]) -> bool:
    return any(s.lifted is None and s.kind in kinds for s in p.sanctions)


# Poor ratings: at least this much reliability weight of ratings, with a weighted mean below this (a shop rated 2
# of 5 by 200 buyers was graded A: the rating is half of the trade dimension, found by review)
POOR_RATINGS = (20.0, 3.0)
# reason codes: (code, test on profile and dimensions, en, zh); the notable facts, worst first
_REASONS: tuple[tuple[str, Any, str, str], ...] = (
    ("IDENTITY_INVALID", lambda p, d: not p.identity_valid, "identifier failed its checks", "证照号码无效"),
    ("SERIOUS_DISHONESTY", lambda p, d: _in_force(p, SERIOUS), "on the list of serious dishonesty (a "
     "sanction of the authorities in force)", "列入严重失信名单（主管部门的惩戒有效）"),
    ("PENALTY_IN_FORCE", lambda p, d: _in_force(p, PENALTIES), "an administrative penalty or abnormal-operation "
     "listing of the authorities is in force", "存在有效的行政处罚或经营异常名录"),
    ("SANCTION_IN_FORCE", lambda p, d: any(s.lifted is None for s in p.sanctions), "a sanction is in force",
     "存在有效的处罚或惩戒"),
    ("RECORD_IN_FORCE", lambda p, d: sum(p.records) > 0, "a confirmed dishonesty record is in force",
     "存在有效的失信认定记录"),
    ("RATINGS_RETRACTED", lambda p, d: p.retracted > 0, "ratings were taken back for confirmed fake orders",
     "存在被认定虚假交易而撤回的评价"),
    ("LICENCE_MISSING", lambda p, d: p.licence_gaps > 0, "sells in a key category without a valid licence",
     "经营重点品类缺少有效许可证"),
    ("COMPLAINTS_UPHELD", lambda p, d: d.get("complaints", 1.0) < 0.7, "many complaints upheld",
     "成立的投诉较多"),
    ("RATINGS_POOR", lambda p, d: "trade" in d and (p.ratings_weight or 0.0) >= POOR_RATINGS[0] and
     p.rating_mean is not None and p.rating_mean < POOR_RATINGS[1],
     "ratings are poor (a reliability-weighted mean below 3 of 5)", "评价较差（加权均分低于3分）"),
    ("TRADE_POOR", lambda p, d: d.get("trade", 1.0) < 0.6, "weak transaction performance (ratings, returns, "
     "shipping)", "交易履约表现较差（评价、退货、发货）"),
    ("IDENTITY_UNVERIFIED", lambda p, d: p.identity_valid and not p.verified, "real name not verified",
     "未经实名核验"),
    ("NEW_PARTY", lambda p, d: tenure_days(p)[0] < NEW_DAYS, "known to this registry for less than 90 days",
     "在本系统记录不足90天"),
    ("SANCTIONS_LIFTED", lambda p, d: counted(p) and all(s.lifted for s in counted(p)),
     "past sanctions lifted, their disclosure period over", "既往处罚已解除（公示期满）"),
    ("GOOD_STANDING", lambda p, d: all(v >= 0.85 for v in d.values()), "good on every dimension",
     "各维度表现良好"),
)
# Codes that say something is wrong: with any of them, no GOOD_STANDING beside it (a sanction in force and
# "good on every dimension" were given together, found by review)
_ADVERSE = frozenset({"IDENTITY_INVALID", "SERIOUS_DISHONESTY", "PENALTY_IN_FORCE", "SANCTION_IN_FORCE",
                      "RECORD_IN_FORCE",
                      "RATINGS_RETRACTED", "LICENCE_MISSING", "COMPLAINTS_UPHELD", "RATINGS_POOR", "TRADE_POOR"})




def _reasons(p: Profile, dims: list[Dimension]) -> list[dict[str, str]]:
    values = {d.name: d.value for d in dims}
    found = [{"code": code, "en": en, "zh": zh} for code, test, en, zh in _REASONS if test(p, values)]
    if tenure_days(p)[1] == "licence":
        found = [{**r, **NEW_BY_LICENCE} if r["code"] == "NEW_PARTY" else r for r in found]
    if any(r["code"] in _ADVERSE for r in found):
        found = [r for r in found if r["code"] != "GOOD_STANDING"]
    return found


def _r(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else round(x, 4)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _n(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _parcels(n: float) -> str:
    """A weighted count of parcels, as a reader counts them ("1 parcel", "5,000 parcels")."""
    return f"{n:,.0f} parcel{'' if round(n) == 1 else 's'}"


def _pct(n: float, d: float) -> str:
    return f"{n / d:.0%}" if d else "-"
