"""`Trail`: the scans a service keeps of a shipment must read exactly as all of them would, whatever order the
scans arrive in; and it keeps few of them once the parcel has moved."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from chengxin.adapters.resources import vocab_text
from chengxin.domain.detection import load_rules
from chengxin.domain.detection.empty_parcel import STATUS_RANK, UNKNOWN_RANK, Scan, Trail, Waybill, Waybills, detect

P = "urn:cx:platform:P1"
RULES = load_rules(vocab_text("detection.yaml"), "vocab/detection.yaml").empty_parcel
REGIONS = ("330106", "310104", "650102", "330000", "110000")
STATUSES = (*STATUS_RANK, "returned_to_sender")  # an unknown status too
H = 3600.0

scan = st.tuples(st.integers(0, 96), st.sampled_from(STATUSES), st.sampled_from(REGIONS))


def ordered(scans: list[tuple[int, str, str]]) -> tuple[Scan, ...]:
    """What the services did before `Trail`: every scan, sorted as they happened."""
    rows = sorted((h * H, STATUS_RANK.get(s, UNKNOWN_RANK), s, r) for h, s, r in scans)
    return tuple(Scan(at, s, r) for at, _, s, r in rows)


def trail_of(scans: list[tuple[int, str, str]], seed: int) -> tuple[Scan, ...]:
    shuffled = scans[:]
    random.Random(seed).shuffle(shuffled)
    trail = Trail()
    for h, status, region in shuffled:
        trail.add(h * H, status, region)
    return trail.scans()


def waybill(n: int, scans: tuple[Scan, ...], ship_to: str) -> Waybill:
    return Waybill((P, f"O{n}"), (P, "S1"), (((P, "G1"), 1),), ship_to, (P, f"SH{n}"), (P, "LG1"), None,
                   f"T{n}", 600, scans)


def findings(waybills: list[Waybill]) -> list[tuple[str, float, dict]]:
    found = detect(Waybills(waybills, {(P, "G1"): "food"}), RULES)
    return [(f.kind, f.score, f.evidence) for f in found]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(scan, max_size=8), min_size=1, max_size=6), st.sampled_from(REGIONS),
       st.integers(0, 10**6))
def test_a_trail_reads_as_every_scan_would(shipments, ship_to, seed):
    every = [waybill(i, ordered(s), ship_to) for i, s in enumerate(shipments)]
    kept = [waybill(i, trail_of(s, seed + i), ship_to) for i, s in enumerate(shipments)]
    assert findings(kept) == findings(every)


def test_a_moved_parcel_keeps_its_first_pick_up_first_move_and_last_delivery():
    trail = Trail()
    for h, status in ((14, "delivered"), (0, "picked_up"), (3, "in_transit"), (9, "arrived"), (1, "picked_up"),
                      (11, "out_for_delivery"), (15, "delivered")):
        trail.add(h * H, status, "310104")
    assert [(s.at / H, s.status) for s in trail.scans()] == [(0, "picked_up"), (3, "in_transit"), (15, "delivered")]


def test_a_parcel_that_never_moved_keeps_every_scan_for_the_evidence():
    trail = Trail()
    for h, status in ((2, "delivered"), (0, "picked_up"), (2, "delivered"), (1, "returned_to_sender")):
        trail.add(h * H, status, "310104")
    assert [s.status for s in trail.scans()] == ["picked_up", "returned_to_sender", "delivered", "delivered"]
