"""When a sanction leaves the public credit file. Pure.

Follows 市场监督管理行政处罚信息公示规定 (SAMR Order 45 of 2021; shared/notes/platform-rules.md §5.5, §5.6):

- Art. 13: publication stops when the disclosure period ends. `disclose_until` is the last day shown, so a
  sanction is public through that day and hidden from the next.
- Art. 11: a decision changed or revoked is withdrawn from publication (`cx.sanction.lifted` reason `revoked`;
  likewise 上海市社会信用条例 art. 37).
- Art. 14 (early stop on request) and credit repair (上海市社会信用条例 art. 38, 浙江省公共信用信息管理条例
  art. 32): a repaired record leaves public view (reason `repaired`).

A withdrawn sanction is not deleted: it stays in the tamper-evident log and in the views of the platform that
reported it and of regulators. A sanction lifted as `expired` stays public, marked lifted, until its period
ends (the reporter says the period is over; the disclosure date, when given, decides). A sanction without a
disclosure date of its own is public while its dishonesty record is (the severity's default period from
`vocab/lifecycle.yaml`, or until lifted for the kinds that last until then).
"""

from __future__ import annotations

from datetime import date

__all__ = ["WITHDRAWING_LIFTS", "publicly_disclosed"]

WITHDRAWING_LIFTS = frozenset({"repaired", "revoked"})  # art. 11 (revoked), art. 14 / credit repair (repaired)


def publicly_disclosed(disclose_until: str | date | None, lift_reason: str | None, today: date, *,
                       record_shown: bool | None = None) -> bool:
    """Whether the public may still see a sanction on `today` (see the module docstring for the articles).
    `record_shown`: without a period of its own, whether its dishonesty record is still public (the
    severity's default period, `domain/lifecycle.py`); None when no record was opened for it."""
    if lift_reason in WITHDRAWING_LIFTS:
        return False
    if disclose_until is None or disclose_until == "":
        # no period reported: the record's default period decides; shown until lifted only where none was
        # opened (a sanction without a date stayed public for ever, lifted as expired or not: found by review)
        return record_shown if record_shown is not None else lift_reason is None
    last_day = disclose_until if isinstance(disclose_until, date) else date.fromisoformat(disclose_until)
    return today <= last_day
