"""The simulator's parameters: one frozen dataclass, presets from `presets.yaml`, overrides by name.

Counts of shops and buyers are per platform; planted-scheme counts are for the whole marketplace.
A scheme count of 0 plants none of that kind.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Any

import yaml

from chengxin.exc import InvalidInput


@dataclass(frozen=True)
class Params:
    seed: int = 1
    start: date = date(2026, 9, 20)   # first trading day; merchants and buyers onboard in the week before
    days: int = 60                    # trading days
    platforms: int = 1                # platform sources urn:cx:platform:P1..Pn
    platform_prefix: str = "P"        # letter before the platform number (the demo uses M beside the sample's P1)
    shops: int = 100                  # shops per platform (one merchant each)
    buyers: int = 1000                # buyer accounts per platform at the start
    couriers: int = 10                # couriers of logistics firm L1 (which reports its own scans)
    orders_per_day: float = 40.0      # honest orders per ordinary weekday, all platforms; rhythm scales it
    popularity_exponent: float = 1.0  # Zipf exponent of shop popularity (heavy tail)
    buyer_activity_alpha: float = 1.3  # Pareto shape of buyer activity (smaller: heavier tail)
    licence_missing_share: float = 0.08  # key-category merchants that never publish the licence they need
    traffic_reports_per_shop_week: float = 0.5  # background cx.traffic.reported per shop and week
    price_changes_per_day: float = 3.0
    hotline_complaints_per_day: float = 0.5
    inspections_per_day: float = 0.3
    platform_measures_per_day: float = 0.1
    # fake-order rings (刷单炒信)
    rings: int = 1
    ring_workers: tuple[int, int] = (12, 30)       # worker accounts per ring (min, max)
    ring_hijacked_share: float = 0.2               # extra established accounts taken over, per worker
    ring_target_shops: tuple[int, int] = (1, 2)
    ring_orders_per_worker: tuple[int, int] = (2, 5)  # fake orders per worker and target shop
    ring_lockstep_minutes: int = 30                # a campaign day's orders fall within this window
    ring_shared_share: float = 0.4                 # orders using the ring's shared device/address/payer
    ring_camouflage: str = "random"                # none | random | popular: honest orders hiding the workers
    ring_camouflage_orders: tuple[int, int] = (1, 3)  # camouflage orders per worker
    ring_empty_parcel_share: float = 0.6           # fake orders shipped as empty parcels (空包代发)
    ring_template_share: float = 0.8               # fake orders reviewed with a templated 5-star text
    # other schemes
    sabotage_campaigns: int = 0          # 降信: fake orders at a rival ending in negative reviews
    sabotage_orders: tuple[int, int] = (8, 20)
    extortionists: int = 0               # 差评师: negative review, then a compensation demand
    extortion_victims: tuple[int, int] = (4, 10)
    serial_negative_reviewers: int = 0   # negative reviews across many good shops
    serial_negative_orders: tuple[int, int] = (8, 20)
    fake_delivery_couriers: int = 0      # couriers marking parcels delivered without moving them
    fake_delivery_share: float = 0.5     # share of such a courier's parcels faked
    fake_traffic_shops: int = 0
    price_fraud_products: int = 0        # list price raised shortly before a "discount"
    bad_sellers: int = 0                 # not-as-described goods: low quality, returns, complaints
    counterfeit_sellers: int = 0
    stolen_accounts: int = 0             # payer accounts reported stolen, then paying for others' orders
    stolen_orders: tuple[int, int] = (3, 8)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}


_FIELDS = {f.name: f for f in dataclasses.fields(Params)}
CAMOUFLAGE = ("none", "random", "popular")


def _coerce(name: str, value: Any) -> Any:
    """Check one value against the field's type (YAML and the command line give strings or numbers)."""
    field = _FIELDS.get(name)
    if field is None:
        raise InvalidInput(f"unknown simulator parameter {name!r}; known: {', '.join(sorted(_FIELDS))}")
    default, raw = field.default, value
    try:
        if isinstance(default, bool | str):
            value = str(value)
        elif isinstance(default, date):
            value = value if isinstance(value, date) else date.fromisoformat(str(value))
        elif isinstance(default, tuple):
            parts = value if isinstance(value, list | tuple) else str(value).split(",")
            value = tuple(int(p) for p in parts)
            if len(value) != 2 or not 0 <= value[0] <= value[1]:
                raise ValueError("expected MIN,MAX with 0 <= MIN <= MAX")
        elif isinstance(default, int):
            value = int(value)
        else:
            value = float(value)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"simulator parameter {name}: {raw!r} is not valid ({e})") from e
    return value


def _check(p: Params) -> Params:
    if p.days < 1 or p.platforms < 1 or p.shops < 4 or p.buyers < 10 or p.couriers < 1:
        raise InvalidInput("simulator: need days >= 1, platforms >= 1, shops >= 4, buyers >= 10, couriers >= 1")
    if len(p.platform_prefix) != 1 or not p.platform_prefix.isalpha():
        raise InvalidInput(f"simulator parameter platform_prefix: {p.platform_prefix!r} is not one letter")
    if p.ring_camouflage not in CAMOUFLAGE:
        raise InvalidInput(f"simulator parameter ring_camouflage: {p.ring_camouflage!r} not in {CAMOUFLAGE}")
    for name, f in _FIELDS.items():
        v = getattr(p, name)
        if f.type == "float" and name.endswith("share") and not 0 <= v <= 1:
            raise InvalidInput(f"simulator parameter {name}: {v} is not a share between 0 and 1")
        if isinstance(v, int | float) and not isinstance(v, bool) and v < 0:
            raise InvalidInput(f"simulator parameter {name}: {v} is negative")
    return p


def load_presets() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((files("chengxin.simulate") / "presets.yaml").read_text("utf-8"))
    if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("presets"), dict):
        raise InvalidInput("presets.yaml: expected {version: 1, presets: {...}}")
    return {name: {k: _coerce(k, v) for k, v in (body or {}).items()} for name, body in doc["presets"].items()}


def make_params(preset: str | None = None, **overrides: Any) -> Params:
    """Defaults, then the preset's values, then the overrides (None means 'not given')."""
    presets = load_presets()
    if preset is not None and preset not in presets:
        raise InvalidInput(f"unknown preset {preset!r}; known: {', '.join(presets)}")
    values = dict(presets[preset]) if preset else {}
    values.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None})
    return _check(Params(**values))
