"""Times and dates as events-v1 sends them, as Chengxin keeps them: RFC 3339 text to fixed-width UTC (`utc`),
a `date`-kind value to its calendar day in China (`as_date`).

Pure. Neighbours: `domain/events.py` parses a line, `domain/event_fields.py` checks a time or date field
(`time_errors`, with the patterns here).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

# ASCII digits only (`\d` also matches other scripts' digits), and an offset of at most 23:59 (RFC 3339). A
# fraction may have any number of digits (RFC 3339's `1*DIGIT`): kept to the microsecond, the rest cut off
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                  r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])\Z")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def utc(text: str) -> str:
    """RFC 3339 text to fixed-width UTC (`2026-02-10T12:15:00.000000Z`); the text must be valid.

    Fast path: with an offset in whole hours, only the date and hour change, so the converted
    `YYYY-MM-DDTHH` is cached per (date, hour, offset) and minutes, seconds and fraction are copied. The
    first time of each hour goes through `datetime`, which also checks the date is real."""
    if len(text) >= 20 and text.isascii() and text[10] == "T" and text[13] == ":" and text[16] == ":":
        if text[-1] == "Z":
            offset, fraction = "Z", text[19:-1]
        elif text[-3:] == ":00" and text[-6] in "+-":
            offset, fraction = text[-6:], text[19:-6]
        else:
            offset, fraction = "", "?"
        minsec = text[14:16] + text[17:19]
        if offset and minsec.isdigit() and minsec[0] < "6" and minsec[2] < "6" and (
                not fraction or (fraction[0] == "." and len(fraction) > 1 and fraction[1:].isdigit())):
            key = text[:13] + offset
            hour = _UTC_HOURS.get(key)
            if hour is None:
                if len(_UTC_HOURS) > 100_000:
                    _UTC_HOURS.clear()
                hour = _UTC_HOURS[key] = utc_uncached(f"{text[:13]}:00:00{offset}")[:13]
            micros = fraction[1:7].ljust(6, "0") if fraction else "000000"  # as fromisoformat: truncated
            return f"{hour}:{text[14:16]}:{text[17:19]}.{micros}Z"
    return utc_uncached(text)


_UTC_HOURS: dict[str, str] = {}


def utc_uncached(text: str) -> str:
    """`utc` through `datetime` every time (its per-hour cache left out)."""
    moment = instant(text).astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"  # 3x faster than strftime


_LEAP = re.compile(r"(.{17})60(?:\.[0-9]+)?(.*)\Z")


def instant(text: str) -> datetime:
    """An RFC 3339 time as an aware datetime (the fraction cut to microseconds). A leap second (`23:59:60Z`, or
    the same instant in another offset), which Python's datetime cannot hold, is the last microsecond before
    it, `23:59:59.999999Z`: it still sorts after every earlier time. ValueError for a :60 that ends no UTC day."""
    iso = text.upper().replace("Z", "+00:00")
    leap = _LEAP.match(iso) if iso[17:19] == "60" else None
    if leap is None:
        return datetime.fromisoformat(iso)
    moment = datetime.fromisoformat(f"{leap.group(1)}59.999999{leap.group(2)}")
    if moment.astimezone(UTC).time().isoformat() != "23:59:59.999999":
        raise ValueError("a leap second ends a UTC day (23:59:60Z)")
    return moment


CHINA = timezone(timedelta(hours=8), "CST")  # the project counts China's days (periods, disclosure, traffic)


def as_date(text: str) -> date:
    """A `date`-kind value as a calendar date: a date as sent; a full RFC 3339 time as the day it falls on in
    China (CST, UTC+8), whatever its offset, so one instant is one day (`2026-06-30T16:00:00Z` and
    `2026-07-01T00:00:00+08:00` are both 2026-07-01). OverflowError for a time whose China day is after 9999."""
    if DATE.match(text):
        return date.fromisoformat(text)
    return instant(text).astimezone(CHINA).date()
