"""Payment fraud: orders paid from a payer account that is not the buyer's own (a stolen account).

Pure: reads the `Conduct` input of `malicious_review` (orders with their payer account hash, complaints, each
subject's registration time). Per payer account, its orders in time order and the buyers placing them:

- **Theft report.** A complaint naming an order paid from the account, of a category in `report_categories`
  (events-v1 has no "unauthorised payment": `other`), filed by someone who is *not* that order's buyer, nor
  its shop, nor the complaint's target (the account's owner saying a payment was not theirs: the platform's
  "account stolen" report). The complainant is the owner; every other buyer on the account is named. (Any
  complaint by a non-buyer counted: a shop's intimidation complaint against a household sharing an account
  named both spouses as fraudsters, found by review.)
- **Many unrelated young buyers.** Without a report, the account's *owner* is the buyer who used it first; the
  other buyers whose first use comes at least `owner_lead_days` after the owner's, and who are young (registered
  at most `young_days` before that first use), are foreign. At least `min_buyers` of them make a finding when
  the owner is no young account and used the account at a shop none of them ordered at (a ring's shared payer
  account serves its members at the ring's shops only: no owner leads it).

A finding names the foreign buyers (parties) and their orders on the account; the owner and the account hash are
in the evidence. Score: 1 − (1 − `weights.report` · [report]) · (1 − `weights.buyers` · min(1, young foreign
buyers / `full_buyers`)).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from chengxin.domain.detection.checks import RuleError
from chengxin.domain.detection.checks import keys as _keys
from chengxin.domain.detection.checks import number as _number
from chengxin.domain.detection.malicious_review import DAY, Complaint, Conduct, Order
from chengxin.domain.events import Ref
from chengxin.domain.quality import Finding

KIND = "payment_fraud"


@dataclass(frozen=True, slots=True)
class Rules:
    min_buyers: int
    young_days: float
    owner_lead_days: float
    full_buyers: int
    weight_report: float
    weight_buyers: float
    report_categories: frozenset[str]


def parse_rules(doc: Any, where: str = "payment_fraud") -> Rules:
    """Check the `payment_fraud` section of vocab/detection.yaml."""
    d = _keys(doc, where, ("min_buyers", "young_days", "owner_lead_days", "full_buyers", "weights",
                           "report_categories"))
    w = _keys(d["weights"], f"{where}.weights", ("report", "buyers"))
    cats = d["report_categories"]
    if not isinstance(cats, list) or not all(isinstance(c, str) and c.strip() for c in cats):
        raise RuleError(f"{where}.report_categories: expected a list of complaint categories")
    return Rules(int(_number(d["min_buyers"], f"{where}.min_buyers", 1, 10**6, integer=True)),
                 _number(d["young_days"], f"{where}.young_days", 0, 3650),
                 _number(d["owner_lead_days"], f"{where}.owner_lead_days", 0, 3650),
                 int(_number(d["full_buyers"], f"{where}.full_buyers", 1, 10**6, integer=True)),
                 _number(w["report"], f"{where}.weights.report", 0, 1),
                 _number(w["buyers"], f"{where}.weights.buyers", 0, 1), frozenset(cats))


def _ref(r: Ref | None) -> dict[str, str] | None:
    return {"source": r[0], "id": r[1]} if r else None


def _owner_leads(owner: Ref | None, young: list[Ref], orders: list[Order], data: Conduct, rules: Rules) -> bool:
    """The account is its owner's own: the owner is no young account and used it at a shop none of the young
    buyers ordered at (a ring's shared account serves its members at the ring's shops only)."""
    if owner is None:
        return False
    reg = data.registered.get(owner)
    if reg is None or orders[0].at - reg <= rules.young_days * DAY:
        return False
    theirs = {o.shop for o in orders if o.buyer in set(young)}
    return any(o.buyer == owner and o.shop not in theirs for o in orders)


def _a_theft_report(c: Complaint, paid: Order, rules: Rules) -> bool:
    """Whether a complaint on an order paid from an account says the payment was not its owner's."""
    return (c.category in rules.report_categories and c.complainant is not None
            and c.complainant not in (paid.buyer, paid.shop, c.target))


def detect(data: Conduct, rules: Rules) -> list[Finding]:
    by_account: dict[str, list[Order]] = defaultdict(list)
    order_of: dict[Ref, Order] = {}
    for o in data.orders:
        order_of[o.ref] = o
        if o.payer:
            by_account[o.payer].append(o)
    reports: dict[str, list[Complaint]] = defaultdict(list)
    for c in data.complaints:
        paid = order_of.get(c.order) if c.order else None
        if paid is not None and paid.payer and _a_theft_report(c, paid, rules):
            reports[paid.payer].append(c)
    found = []
    for account, orders in sorted(by_account.items()):
        orders.sort(key=lambda o: (o.at, o.ref))
        first: dict[Ref, float] = {}
        for o in orders:
            first.setdefault(o.buyer, o.at)
        if len(first) < 2:
            continue
        report = reports.get(account, [])
        owner = report[0].complainant if report else orders[0].buyer
        lead = first.get(owner) if owner else None
        young: list[Ref] = []
        for b, at in first.items():
            reg = data.registered.get(b)
            if b != owner and reg is not None and at - reg <= rules.young_days * DAY \
                    and (lead is None or at - lead >= rules.owner_lead_days * DAY):
                young.append(b)
        foreign = [b for b in first if b != owner] if report else young
        if not foreign or (not report and (len(young) < rules.min_buyers or not _owner_leads(owner, young, orders,
                                                                                           data, rules))):
            continue
        named = set(foreign)
        mine = [o for o in orders if o.buyer in named]
        score = 1 - (1 - rules.weight_report * bool(report)) * (
            1 - rules.weight_buyers * min(1.0, len(young) / rules.full_buyers))
        why = (f"{len(named)} buyers other than its owner paid {len(mine)} orders from one payer account"
               + (f" ({len(young)} of them young accounts)" if young else "")
               + (f", and another account filed a complaint ({report[0].category}) on one of them" if report
                  else ""))
        evidence = {"payer_account": account, "owner": _ref(owner), "buyers": len(named), "young_buyers": len(young),
                    "orders": len(mine), "shops": len({o.shop for o in mine}), "total": sum(o.total for o in mine),
                    "reports": [{"complaint": _ref(c.ref), "order": _ref(c.order), "category": c.category}
                                for c in report[:5]],
                    "first_foreign_use_days_after_owner": (round((min(first[b] for b in named) - lead) / DAY, 1)
                                                           if lead is not None else None),
                    "why": why}
        found.append(Finding(KIND, round(score, 4), {"parties": tuple(sorted(named)),
                                                     "orders": tuple(sorted(o.ref for o in mine)),
                                                     "reviews": (), "products": ()}, evidence))
    found.sort(key=lambda f: (-(f.score or 0.0), f.refs("parties")))
    return found


__all__ = ["KIND", "Rules", "detect", "parse_rules"]
