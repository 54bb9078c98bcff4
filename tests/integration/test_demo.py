"""`chengxin demo` loads a searchable marketplace with its consequences (a case officer's confirmations, the
black list), issues working keys, and loading twice is a no-op."""

from __future__ import annotations

from chengxin.services import audit, keys, list_views, shop_search
from chengxin.services.demo import demo_params, load_demo
from chengxin.services.viewer import ANONYMOUS


def test_demo_loads_a_marketplace_once(app):
    small = demo_params(days=5, shops=20, buyers=100, orders_per_day=40)
    first = load_demo(app, params=small)
    assert first["rejected"] == 0 and first["accepted"] == first["simulated"]["events"] + 48
    assert shop_search.search_shops(app, "示例食品")[0]["id"] == "S1"
    assert len(shop_search.search_shops(app, "店", limit=50)) > 5
    platform_secret = first["keys"]["platform (urn:cx:platform:P1)"]
    assert keys.authenticate(app, platform_secret).source == "urn:cx:platform:P1"
    # the whole path of consequences: a case officer's confirmations put shops on the black list
    assert first["decided"]["confirmed_items"] and first["decided"]["list_members"]["black"] >= 1
    black = list_views.members(app, "black", ANONYMOUS)["members"]
    assert black and all(m["reason"]["zh"] and m["basis"] for m in black)
    again = load_demo(app, params=small)
    assert again["accepted"] == 0 and again["duplicates"] == first["accepted"]
    assert again["decided"]["confirmed_items"] == []  # decided once
    assert again["decided"]["list_members"] == first["decided"]["list_members"]
    assert audit.verify(app).ok
