"""What a score's evidence says, and how its sentences word it where the evidence is thin (public review findings
3, 8, 9): time in business by the best evidence (the business licence, else first sight), whether a DSR rests on
enough ratings to compare with its category, and a return rate with nothing delivered. Pure; `domain/scoring.py`
uses these and re-exports `tenure_days` and `dsr_comparable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chengxin.domain.scoring import Profile

# a party known for less than this many days is new (NEW_PARTY): its record is mostly the priors
NEW_DAYS = 90
# NEW_PARTY says what was measured: the business licence's age when that is the evidence, else first sight
NEW_BY_LICENCE = {"en": "business licence less than 90 days old", "zh": "营业执照起始不足90天"}


def tenure_days(p: Profile) -> tuple[float, str]:
    """How long the party has been in business, by the best evidence: since its business licence's start
    (`licence`) when one was published and it reaches further back than Chengxin's first sight of the party;
    else since that first sight (`known`). Counted from first sight alone, a company licensed in 2010 was
    shown "registered 76 days" and held at B as new (found by a public review)."""
    if p.days_licensed is not None and p.days_licensed >= p.days_known:
        return p.days_licensed, "licence"
    return p.days_known, "known"


def returns_sentence(p: Profile, rate: float) -> tuple[str, str]:
    """The returns part of the trade sentence (en, zh). With nothing delivered the rate is the prior alone, and
    says so: "已送达0单中质量退货0单（估计退货率6.0%）" was shown of a logistics firm (public review finding 9)."""
    if p.delivered or p.returns:
        return (f"{p.returns:.0f} quality returns of {p.delivered:.0f} delivered (estimated rate {rate:.1%})",
                f"已送达{p.delivered:.0f}单中质量退货{p.returns:.0f}单（估计退货率{rate:.1%}）")
    return (f"no deliveries of its own yet: returns taken at the typical {rate:.1%}",
            f"尚无本身的送达订单，退货率按典型值{rate:.1%}计")


def dsr_comparable(ratings: int | None, c: Mapping[str, Any]) -> bool:
    """Whether a DSR of so many ratings is compared with its category (`trade.dsr_min_ratings`): below it one
    buyer moves the mean by a full star or more, and "22.0% above the category" on one rating read as a strong
    signal (found by a public review). The score, the API, the portal and the CLI all ask this."""
    return ratings is None or ratings >= int(c["dsr_min_ratings"])
