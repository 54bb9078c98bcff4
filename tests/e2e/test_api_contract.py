"""The `/v1` contract beyond who sees what (that is `test_api_matrix.py`): the OpenAPI document says how keys are
sent, which routes need one and every error status the matrix gets, with the body really sent; numbers out of
range are a 422 naming the parameter, never a bare 500; answers are not cached; errors tell no secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.e2e.test_api_matrix import (
    MATRIX,
    P1,
    UPHOLD,
    Call,
    Env,
    confirmed_by,
    event,
    get,
    make_env,
    post_json,
    post_lines,
)

from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.entrypoints.api.app import create_app
from chengxin.settings import Settings

TOO_BIG = str(2**62 + 1)  # beyond every cursor; 2**64 and more overflowed the database driver (a bare 500)
HUGE = "99999999999999999999"
# statuses the matrix does not reach, from the tests that do: over the line limit (test_api_matrix.py), a
# decision taken twice (test_api_review.py, tests/integration/test_lists.py), and the database down (any
# route: the key is looked up in it)
ALSO = {("POST", "/v1/events"): {413}, ("POST", "/v1/review/{item}/decision"): {409},
        ("POST", "/v1/applications/{application}/decision"): {409}}
ERROR_BODY = "#/components/schemas/ErrorBody"


@pytest.fixture
def node(sample_app: Chengxin) -> Iterator[Env]:
    """The sample node; a bug or overflow comes back as the 500 a real server sends, not as a raised error."""
    with TestClient(create_app(sample_app), raise_server_exceptions=False) as client:
        yield make_env(sample_app, client)


@pytest.fixture
def spec(node: Env) -> dict[str, Any]:
    response = node.client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


# --- numbers out of range (F4) ---------------------------------------------------------------------------

def _integer_parameters(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer parameter of a `/v1` operation."""
    for path, operations in spec["paths"].items():
        for method, op in operations.items() if path.startswith("/v1") else ():
            for p in op.get("parameters", []):
                types = [s.get("type") for s in p["schema"].get("anyOf", [p["schema"]])]
                if "integer" in types:
                    yield method.upper(), path, p["in"], p["name"]


def _url(spec: dict[str, Any], method: str, path: str, name: str, value: str) -> str:
    """`path` with `value` as parameter `name` and every other required parameter filled in validly."""
    op = spec["paths"][path][method.lower()]
    query = [f"{name}={value}"] if f"{{{name}}}" not in path else []
    for p in op.get("parameters", []):
        if p["in"] == "path" and p["name"] != name:
            path = path.replace(f"{{{p['name']}}}", "1" if p["schema"].get("type") == "integer" else "watch")
        elif p["in"] == "query" and p["name"] != name and p.get("required"):
            query.append(f"{p['name']}={P1 if p['name'] == 'source' else 'x' * 18}")
    return path.replace(f"{{{name}}}", value) + ("?" + "&".join(query) if query else "")


@pytest.mark.parametrize("value", [TOO_BIG, HUGE], ids=["2**62+1", "beyond-64-bits"])
def test_every_integer_parameter_refuses_an_out_of_range_number_by_name(node: Env, spec: dict[str, Any],
                                                                        value: str) -> None:
    """Every integer path and query parameter in the document, with a number beyond the cursors or beyond 64
    bits (which overflowed SQLite's and PostgreSQL's integers: a plain-text 500)."""
    found = list(_integer_parameters(spec))
    assert ("GET", "/v1/log/records/{index}", "path", "index") in found and len(found) >= 12
    for method, path, where, name in found:
        response = node.call("regulator" if method == "GET" else "anonymous",
                             Call(method, _url(spec, method, path, name, value)))
        assert response.status_code == 422, (method, path, name, response.text)
        assert f"{where}.{name}" in [e["field"] for e in response.json()["errors"]], (path, response.json())


@pytest.mark.parametrize("since", [HUGE, TOO_BIG, "%C2%B2", "1" * 5000, "0001-01-01T00:00:00%2B14:00"])
def test_a_feed_cursor_out_of_range_is_422_naming_it(node: Env, since: str) -> None:
    """`changed_since` is a sequence number or an ISO time: a number beyond 64 bits overflowed the driver, `²`
    passed `str.isdigit` and failed `int`, a time before year 1 in UTC overflowed the date (all 500s)."""
    response = node.call("p1", get(f"/v1/measures?changed_since={since}"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input" and body["detail"].startswith("changed_since: ")
    at_cap = node.call("p1", get("/v1/measures?changed_since=4611686018427387904"))  # in range: no overflow,
    assert at_cap.status_code == 422 and "past the feed's newest change" in at_cap.json()["detail"]  # no such one


# --- the OpenAPI document (F6) ----------------------------------------------------------------------------

def test_the_document_declares_the_key_schemes_the_api_reads(node: Env, spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    header = schemes["apiKey"]
    assert (header["type"], header["in"]) == ("apiKey", "header")
    secret = node.headers["p1"]["Authorization"].removeprefix("Bearer ")
    url = f"/v1/parties/U1?source={P1}"
    for sent in ({header["name"]: secret}, {"Authorization": f"Bearer {secret}"}):  # as documented: P1's view
        assert node.client.get(url, headers=sent).json()["name"] == "张三"
    assert node.client.get(url, headers={header["name"]: "cx_nope"}).status_code == 401


def test_a_route_needs_a_key_in_the_document_exactly_when_the_public_gets_401(spec: dict[str, Any]) -> None:
    for (method, path), objects in MATRIX.items():
        security = spec["paths"][path][method.lower()]["security"]
        assert {"bearer": []} in security and {"apiKey": []} in security, path
        public_refused = all(expect["anonymous"].status == 401 for _, expect in objects.values())
        assert ({} not in security) == public_refused, (method, path, security)


def test_every_error_status_a_route_gives_is_documented_with_the_real_body(spec: dict[str, Any]) -> None:
    for (method, path), objects in MATRIX.items():
        op = spec["paths"][path][method.lower()]
        given = {e.status for _, row in objects.values() for e in row.values() if e.status >= 400}
        given |= ALSO.get((method, path), set()) | {401, 503}
        if op.get("parameters") or op.get("requestBody", {}).get("content", {}).get("application/json"):
            given.add(422)
        documented = {int(s) for s in op["responses"] if s != "200"}
        assert given <= documented, (method, path, sorted(given - documented))
        for status in documented:
            assert op["responses"][str(status)]["content"]["application/json"]["schema"] == {"$ref": ERROR_BODY}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    # FastAPI's 400 comes only from reading a JSON body (`bad_request`, tests/e2e/test_api_body_encoding.py)
    assert not [p for p, ops in spec["paths"].items() for op in ops.values() if "400" in op["responses"]
                and "application/json" not in op.get("requestBody", {}).get("content", {})]


def test_the_documented_error_body_is_the_one_sent(node: Env, spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["ErrorBody"]
    item = spec["components"]["schemas"]["FieldError"]
    bodies = [node.call("anonymous", get("/v1/log/records/x")).json(),  # request validation
              node.call("anonymous", get("/v1/log/consistency?first=9&second=3")).json(),
              node.call("anonymous", Call("POST", "/v1/events")).json()]
    for body in bodies:
        assert set(schema["required"]) <= set(body) <= set(schema["properties"]), body
        assert all(set(e) == set(item["required"]) for e in body.get("errors", []))
    assert bodies[0]["errors"] and "errors" not in bodies[1]


def test_the_plain_events_route_answers_as_the_document_says(settings: Settings) -> None:
    """`POST /v1/events` is served by `post_events_plain`; what it answers is what the FastAPI route documents."""
    cx = bootstrap(settings.model_copy(update={"api_max_lines": 1}))
    try:
        with TestClient(create_app(cx)) as client:
            env = make_env(cx, client)
            op = client.get("/openapi.json").json()["paths"]["/v1/events"]["post"]
            result = client.get("/openapi.json").json()["components"]["schemas"]["IngestResult"]
            ok = env.call("p1", post_lines(event(P1, "c-1")))
            assert ok.status_code == 200 and set(ok.json()) == set(result["properties"])
            for viewer, call in (("anonymous", post_lines(event(P1, "c-2"))),
                                 ("p1", post_lines(event(P1, "c-3"), event(P1, "c-4")))):
                response = env.call(viewer, call)
                assert str(response.status_code) in op["responses"], response.text
                assert response.headers["cache-control"] == "no-store"
            assert op["security"] == [{"bearer": []}, {"apiKey": []}]
    finally:
        cx.engine.dispose()


# --- caching, failures and what errors tell (F7) ----------------------------------------------------------

@pytest.mark.parametrize(("viewer", "method", "url", "status"), [
    ("anonymous", "GET", "/v1/health", 200),
    ("p1", "GET", f"/v1/parties/U1?source={P1}", 200),
    ("regulator", "GET", "/v1/lists/watch", 200),
    ("anonymous", "GET", "/v1/review", 401),
    ("revoked", "GET", "/v1/health", 401),
    ("anonymous", "GET", "/v1/nope", 404),
    ("anonymous", "DELETE", "/v1/health", 405),
    ("anonymous", "GET", "/v1/log/records/x", 422),
    ("anonymous", "POST", "/v1/events", 401),
])
def test_every_v1_answer_says_no_store(node: Env, viewer: str, method: str, url: str, status: int) -> None:
    """Answers depend on the key: a cache between the node and a platform must not keep or share them."""
    response = node.call(viewer, Call(method, url))
    assert response.status_code == status
    assert response.headers["cache-control"] == "no-store"


def test_a_bug_is_the_json_error_body_not_a_plain_text_page(node: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from chengxin.services import credit_log

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(credit_log, "latest_head", broken)
    response = node.call("anonymous", get("/v1/health"))
    assert response.status_code == 500
    assert response.json() == {"error": "error", "detail": "internal error"}
    assert response.headers["cache-control"] == "no-store" and "a bug" not in response.text


def test_an_outage_tells_the_log_why_without_a_password(node: Env, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Should a driver quote its URL, the caller gets the plain 503 and the log the reason, password masked."""
    from sqlalchemy.exc import OperationalError

    from chengxin.services import credit_log

    def down(*args: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception(
            'connection to "postgresql://cx:s3cret@db.internal:5432/cx" failed: timeout expired'))

    monkeypatch.setattr(credit_log, "latest_head", down)
    response = node.call("anonymous", get("/v1/health"))
    assert response.status_code == 503 and "db.internal" not in response.text
    logged = [r for r in caplog.records if getattr(r, "code", None) == "unavailable"]
    assert [r.reason for r in logged] == [
        'the database cannot be used: connection to "postgresql://***@db.internal:5432/cx" failed: timeout expired']


def test_deciding_an_application_not_visible_answers_as_one_that_does_not_exist(node: Env) -> None:
    """Application 1 appeals P1's record 2; P2 got `no dishonesty record 2 visible to you` for it and `no
    application 99` for none: it could count applications and learn the record of each."""
    confirmed_by("regulator", "regulator")(node)
    for application in (1, 99):
        response = node.call("p2", post_json(f"/v1/applications/{application}/decision", UPHOLD))
        assert response.status_code == 404
        assert response.json()["detail"] == f"no application {application} visible to you"
    assert node.call("p1", post_json("/v1/applications/1/decision", UPHOLD)).status_code == 403


def test_the_watch_list_total_counts_only_the_members_shown(node: Env) -> None:
    """P1's person U1 on the watch list is left out of P2's page; `total` counted it (`total: 1, members: []`)."""
    added = node.call("regulator", post_json("/v1/lists/watch/overrides", {
        "source": P1, "id": "U1", "action": "add", "reason": "repeated complaints", "basis": "监管决定"}))
    assert added.status_code == 200, added.text
    for viewer, members in (("p2", []), ("p1", [(P1, "U1")]), ("regulator", [(P1, "U1")])):
        body = node.call(viewer, get("/v1/lists/watch")).json()
        assert [(m["party"]["source"], m["party"]["id"]) for m in body["members"]] == members
        assert body["total"] == len(members), viewer
