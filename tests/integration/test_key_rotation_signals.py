"""A rotated key's old secret says so (agency review, finding 14): during its grace the API answers normally,
with headers naming when the grace ends, so an unattended client knows to switch; once refused, the caller
presenting it (who held it) is told it was replaced by a rotation, not the "unknown or revoked" a made-up
secret gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.exc import NotAuthenticated
from chengxin.services import keys

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
UNTIL = "2026-11-28T14:00:00.000000Z"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    now = [START]
    monkeypatch.setattr(keys, "_now", lambda: now[0])
    return now


def test_an_answer_to_the_old_secret_in_its_grace_names_when_it_ends(app: Chengxin, clock: list[datetime]) -> None:
    key_id, old = keys.create_key(app, "regulator", "officer")
    new, until = keys.rotate_key(app, key_id, grace_hours=2)
    assert until == UNTIL
    with TestClient(create_app(app)) as client:
        answer = client.get("/v1/review", headers={"Authorization": f"Bearer {old}"})
        assert answer.status_code == 200
        assert answer.headers["X-Chengxin-Key-Rotated"] == UNTIL
        assert answer.headers["Deprecation"] == f"@{int(START.timestamp())}"
        assert answer.headers["Sunset"] == "Sat, 28 Nov 2026 14:00:00 GMT"
        assert UNTIL in answer.headers["Warning"] and answer.headers["Warning"].startswith("299 - ")
        again = client.get("/v1/parties/nobody?source=urn:cx:platform:P1", headers={"X-API-Key": old})
        assert again.status_code == 404 and again.headers["X-Chengxin-Key-Rotated"] == UNTIL  # cached, an error
        current = client.get("/v1/review", headers={"X-API-Key": new})
        assert current.status_code == 200
        assert not {"x-chengxin-key-rotated", "deprecation", "sunset", "warning"} & set(current.headers)


def test_after_the_grace_the_old_secret_is_told_it_was_replaced(app: Chengxin, clock: list[datetime]) -> None:
    key_id, old = keys.create_key(app, "agency", "ZX", "urn:cx:agency:ZX001")
    keys.authenticate(app, old)  # remembered, as a busy client's is
    keys.rotate_key(app, key_id, grace_hours=2)
    clock[0] = START + timedelta(hours=2)
    with TestClient(create_app(app)) as client:
        refused = client.get("/v1/health", headers={"X-API-Key": old})
        made_up = client.get("/v1/health", headers={"X-API-Key": f"cx_{key_id}_made-up"})
    assert refused.status_code == made_up.status_code == 401
    said = refused.json()["detail"]
    assert "replaced by a rotation" in said and UNTIL in said and "2026-11-28T12:00:00.000000Z" in said
    assert made_up.json()["detail"] == keys.UNKNOWN_KEY  # nothing for one who never held it
    assert "x-chengxin-key-rotated" not in refused.headers


def test_a_grace_of_zero_tells_the_old_secret_at_once(app: Chengxin, clock: list[datetime]) -> None:
    key_id, old = keys.create_key(app, "platform", "P1 feed", "urn:cx:platform:P1")
    _, until = keys.rotate_key(app, key_id, grace_hours=0)
    assert until is None and keys.list_keys(app)[0]["previous_until"] is None
    with pytest.raises(NotAuthenticated, match="replaced by a rotation"):
        keys.authenticate(app, old)


def test_a_revoked_key_old_or_new_secret_is_just_revoked(app: Chengxin, clock: list[datetime]) -> None:
    key_id, old = keys.create_key(app, "regulator", "officer")
    new, _ = keys.rotate_key(app, key_id, grace_hours=2)
    keys.revoke_key(app, key_id)
    for secret in (old, new):
        with pytest.raises(NotAuthenticated, match=r"^unknown or revoked API key$"):
            keys.authenticate(app, secret)
