"""Packaged vocabulary files, read once and checked at load."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from chengxin.domain.vocabulary import Vocabulary, load_event_types


def vocab_text(name: str) -> str:
    return (files("chengxin") / "vocab" / name).read_text(encoding="utf-8")


@cache
def event_vocabulary() -> Vocabulary:
    """The events-v1 vocabulary (`vocab/events-v1.yaml`)."""
    return load_event_types(vocab_text("events-v1.yaml"), "vocab/events-v1.yaml")
