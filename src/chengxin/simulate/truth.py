"""What the simulator planted: groups of dishonest parties, orders, reviews and products, by kind.

The format (`chengxin-truth/1`) is documented in docs/simulator.md; `chengxin evaluate` reads it.
"""

from __future__ import annotations

from typing import Any

KINDS = ("fake_order_ring", "empty_parcel", "malicious_review", "template_review", "fake_traffic",
         "price_fraud", "not_as_described", "payment_fraud")
CLASSES = ("parties", "orders", "reviews", "products")
FORMAT = "chengxin-truth/1"


class Group:
    """One planted scheme instance. References are (source, id); insertion order kept, duplicates dropped."""

    __slots__ = ("details", "name", "refs", "roles", "scheme")

    def __init__(self, name: str, scheme: str, details: dict[str, Any] | None = None) -> None:
        self.name, self.scheme, self.details = name, scheme, details or {}
        self.refs: dict[str, dict[tuple[str, str], None]] = {c: {} for c in CLASSES}
        self.roles: dict[tuple[str, str], str] = {}

    def party(self, source: str, id_: str, role: str) -> None:
        self.refs["parties"][(source, id_)] = None
        self.roles.setdefault((source, id_), role)

    def add(self, cls: str, source: str, id_: str) -> None:
        self.refs[cls][(source, id_)] = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"group": self.name, "scheme": self.scheme}
        for cls in CLASSES:
            refs = [{"source": s, "id": i} for s, i in self.refs[cls]]
            if cls == "parties":
                for ref in refs:
                    ref["role"] = self.roles[(ref["source"], ref["id"])]
            out[cls] = refs
        out["details"] = self.details
        return out


class Truth:
    def __init__(self) -> None:
        self.groups: dict[str, list[Group]] = {k: [] for k in KINDS}
        self.shops: list[dict[str, Any]] = []
        self.licence_gaps: list[dict[str, str]] = []

    def group(self, kind: str, scheme: str, details: dict[str, Any] | None = None) -> Group:
        assert kind in self.groups, kind
        g = Group(f"{kind}-{len(self.groups[kind]) + 1}", scheme, details)
        self.groups[kind].append(g)
        return g

    def counts(self) -> dict[str, dict[str, int]]:
        out = {}
        for kind, groups in self.groups.items():
            c = {"groups": len(groups)}
            for cls in CLASSES:
                c[cls] = len({ref for g in groups for ref in g.refs[cls]})
            out[kind] = c
        return out

    def as_dict(self, header: dict[str, Any]) -> dict[str, Any]:
        return {"format": FORMAT, **header, "counts": self.counts(),
                "kinds": {k: [g.as_dict() for g in gs] for k, gs in self.groups.items()},
                "shops": self.shops, "licence_gaps": self.licence_gaps}
