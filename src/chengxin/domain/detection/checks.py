"""Checking the sections of `vocab/detection.yaml` at load: every detector's `parse_rules` uses these, so a
malformed file fails with a message naming the key (`RuleError`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


class RuleError(ValueError):
    """A rules section is malformed; the message names the key."""


def keys(doc: Any, where: str, need: Sequence[str]) -> dict[str, Any]:
    """`doc` as a mapping with exactly the keys `need`."""
    if not isinstance(doc, dict):
        raise RuleError(f"{where}: expected a mapping with the keys {', '.join(need)}")
    missing, unknown = [k for k in need if k not in doc], sorted(set(doc) - set(need))
    if missing or unknown:
        raise RuleError(f"{where}: expected exactly the keys {', '.join(need)}"
                        + (f" (missing {', '.join(missing)})" if missing else "")
                        + (f" (unknown {', '.join(map(str, unknown))})" if unknown else ""))
    return doc


def number(value: Any, where: str, low: float, high: float, *, integer: bool = False) -> float:
    """`value` as a finite number in [low, high] (a whole one with `integer`)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleError(f"{where}: expected a number, got {value!r}")
    if integer and not isinstance(value, int):
        raise RuleError(f"{where}: expected a whole number, got {value!r}")
    if not low <= value <= high:
        raise RuleError(f"{where}: {value!r} is outside [{low}, {high}]")
    return float(value)
