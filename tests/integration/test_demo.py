"""`chengxin demo` loads a searchable marketplace, issues working keys, and loading twice is a no-op."""

from __future__ import annotations

from chengxin.services import audit, keys, parties
from chengxin.services.demo import demo_params, load_demo


def test_demo_loads_a_marketplace_once(app):
    small = demo_params(days=5, shops=20, buyers=100, orders_per_day=40)
    first = load_demo(app, params=small)
    assert first["rejected"] == 0 and first["accepted"] == first["simulated"]["events"] + 48
    assert parties.search_shops(app, "示例食品")[0]["id"] == "S1"
    assert len(parties.search_shops(app, "店", limit=50)) > 5
    platform_secret = first["keys"]["platform (urn:cx:platform:P1)"]
    assert keys.authenticate(app, platform_secret).source == "urn:cx:platform:P1"
    again = load_demo(app, params=small)
    assert again["accepted"] == 0 and again["duplicates"] == first["accepted"]
    assert audit.verify(app).ok
