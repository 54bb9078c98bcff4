"""When a sanction leaves the public view (市场监督管理行政处罚信息公示规定 art. 11, 13, 14): domain/disclosure.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from chengxin.domain.disclosure import publicly_disclosed

TODAY = date(2027, 1, 10)


@pytest.mark.parametrize(("disclose_until", "shown"), [
    pytest.param(TODAY.isoformat(), True, id="last-day-is-today"),
    pytest.param((TODAY - timedelta(days=1)).isoformat(), False, id="last-day-was-yesterday"),
    pytest.param((TODAY + timedelta(days=1)).isoformat(), True, id="last-day-tomorrow"),
    pytest.param(TODAY, True, id="as-a-date"),
    pytest.param(TODAY - timedelta(days=1), False, id="as-a-date-yesterday"),
    pytest.param(None, True, id="no-period-reported"),
])
def test_the_disclosure_period_includes_its_last_day(disclose_until: str | date | None, shown: bool) -> None:
    assert publicly_disclosed(disclose_until, None, TODAY) is shown


@pytest.mark.parametrize(("reason", "shown"), [
    ("repaired", False),  # art. 14 / credit repair
    ("revoked", False),  # art. 11
    ("expired", True),  # the period decides; until it ends the sanction stays, marked lifted
    (None, True),
])
def test_a_repaired_or_revoked_sanction_is_withdrawn_at_once(reason: str | None, shown: bool) -> None:
    assert publicly_disclosed("2029-03-10", reason, TODAY) is shown


def test_a_lifted_sanction_past_its_period_is_hidden_whatever_the_reason() -> None:
    assert not publicly_disclosed("2027-01-09", "expired", TODAY)


@pytest.mark.parametrize(("lift", "record_shown", "shown"), [
    pytest.param(None, True, True, id="record-in-its-period"),
    pytest.param(None, False, False, id="record-past-its-default-period"),
    pytest.param("expired", False, False, id="lifted-as-expired-record-ended"),
    pytest.param("expired", None, False, id="lifted-as-expired-no-record"),
    pytest.param(None, None, True, id="no-record-not-lifted"),
])
def test_a_sanction_without_a_date_is_public_while_its_record_is(lift: str | None, record_shown: bool | None,
                                                                  shown: bool) -> None:
    # without a date of its own, a sanction stayed public for ever, lifted as expired or not (found by review)
    assert publicly_disclosed(None, lift, TODAY, record_shown=record_shown) is shown
