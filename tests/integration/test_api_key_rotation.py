"""API keys: rotation (a new secret, the old one accepted until its grace ends, on the clock tests set) and the
agency role's issue rules (a source naming the credit agency, as platform and regulator keys are bound)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.exc import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from chengxin.services import keys
from chengxin.services.viewer import AGENCY, Viewer

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    now = [START]
    monkeypatch.setattr(keys, "_now", lambda: now[0])
    return now


def test_the_old_secret_works_through_the_grace_and_is_refused_after(app: Chengxin, clock: list[datetime]) -> None:
    key_id, old = keys.create_key(app, "platform", "P1 feed", "urn:cx:platform:P1")
    keys.authenticate(app, old)  # cached, as a busy feed's key is
    new, until = keys.rotate_key(app, key_id, grace_hours=24)
    assert until == "2026-11-29T12:00:00.000000Z" and new != old
    same = Viewer(role="platform", source="urn:cx:platform:P1", key_id=key_id)
    assert keys.authenticate(app, old) == same == keys.authenticate(app, new)
    clock[0] = START + timedelta(hours=23, minutes=59)
    assert keys.authenticate(app, old) == same
    clock[0] = START + timedelta(hours=24)
    with pytest.raises(NotAuthenticated):  # refused even though this process remembered it a moment ago
        keys.authenticate(app, old)
    assert keys.authenticate(app, new) == same


def test_a_grace_of_zero_refuses_the_old_secret_at_once(app: Chengxin, clock: list[datetime]) -> None:
    key_id, old = keys.create_key(app, "regulator", "officer")
    keys.authenticate(app, old)
    new, until = keys.rotate_key(app, key_id, grace_hours=0)
    assert until is None
    with pytest.raises(NotAuthenticated):
        keys.authenticate(app, old)
    assert keys.authenticate(app, new).key_id == key_id


def test_rotating_again_ends_the_older_secret(app: Chengxin, clock: list[datetime]) -> None:
    key_id, first = keys.create_key(app, "regulator", "officer")
    second, _ = keys.rotate_key(app, key_id)
    third, _ = keys.rotate_key(app, key_id)
    with pytest.raises(NotAuthenticated):
        keys.authenticate(app, first)
    assert keys.authenticate(app, second).key_id == keys.authenticate(app, third).key_id == key_id


def test_the_api_accepts_both_secrets_during_the_grace_only(app: Chengxin, clock: list[datetime]) -> None:
    key_id, old = keys.create_key(app, "regulator", "officer")
    new, _ = keys.rotate_key(app, key_id, grace_hours=2)
    with TestClient(create_app(app)) as client:
        for secret in (old, new):
            assert client.get("/v1/review", headers={"X-API-Key": secret}).status_code == 200
        clock[0] = START + timedelta(hours=3)
        assert client.get("/v1/review", headers={"X-API-Key": old}).status_code == 401
        assert client.get("/v1/review", headers={"X-API-Key": new}).status_code == 200


def test_keys_list_shows_the_rotation_never_a_secret(app: Chengxin, clock: list[datetime]) -> None:
    key_id, old = keys.create_key(app, "agency", "ZX", "urn:cx:agency:ZX001")
    new, until = keys.rotate_key(app, key_id, grace_hours=1)
    (listed,) = keys.list_keys(app)
    assert (listed["key_id"], listed["role"], listed["source"]) == (key_id, AGENCY, "urn:cx:agency:ZX001")
    assert (listed["rotated_at"], listed["previous_until"]) == ("2026-11-28T12:00:00.000000Z", until)
    assert not any(s in str(listed) for s in (old, new, keys._digest(old), keys._digest(new)))
    clock[0] = START + timedelta(hours=2)
    assert keys.list_keys(app)[0]["previous_until"] is None  # the grace is over


@pytest.mark.parametrize("grace", [-1, keys.MAX_GRACE_HOURS + 1])
def test_grace_out_of_range_is_refused(app: Chengxin, grace: float) -> None:
    key_id, _ = keys.create_key(app, "regulator", "officer")
    with pytest.raises(InvalidInput):
        keys.rotate_key(app, key_id, grace_hours=grace)


def test_an_unknown_or_revoked_key_is_not_rotated(app: Chengxin) -> None:
    with pytest.raises(NotFound):
        keys.rotate_key(app, "nope")
    key_id, _ = keys.create_key(app, "regulator", "officer")
    keys.revoke_key(app, key_id)
    with pytest.raises(Conflict):
        keys.rotate_key(app, key_id)


@pytest.mark.parametrize("source", [None, "", "urn:cx:platform:P1", "urn:cx:regulator:310000", "urn:cx:agency:",
                                    " urn:cx:agency:ZX", "urn:cx:agency:Z|X"])
def test_an_agency_key_needs_a_source_naming_the_agency(app: Chengxin, source: str | None) -> None:
    with pytest.raises(InvalidInput):
        keys.create_key(app, "agency", "ZX", source)


@pytest.mark.parametrize("role", ["platform", "regulator"])
def test_an_agency_source_is_not_another_roles(app: Chengxin, role: str) -> None:
    with pytest.raises(InvalidInput, match="agency"):
        keys.create_key(app, role, "x", "urn:cx:agency:ZX001")


def test_an_agency_key_submits_nothing(app: Chengxin) -> None:
    with pytest.raises(Forbidden, match="never submits events"):
        keys.prepare_submission(app, Viewer(AGENCY, "urn:cx:agency:ZX001", "k"), [("api", 1, b"{}")])
