"""A bounded fuzz run of the review API from its own OpenAPI schema: 0 server errors.

Hypothesis picks an operation from ``app.openapi()`` and fills its path, query and body with
values around and far beyond what the schema allows (ids past 2^63, negative and fractional
numbers, NaN and ±Infinity as JSON literals, long and odd text, unknown fields, wrong types,
random bytes for uploads). Each request goes to the app as the owner; any answer of 500 or more,
or an exception escaping the app, fails the run. The run is seeded (``derandomize``), so CI
sees the same few hundred cases every time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the review extra (fastapi) is not installed")
hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (test extra)")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from review_fixtures import make_project  # noqa: E402

from trackwright.review import create_app  # noqa: E402

#: How many requests the run makes.
CASES = 300

HOSTILE_INTS = st.sampled_from([0, 1, 2, -1, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 2**70, -(2**63)])
HOSTILE_FLOATS = st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 1e308, 5e-324, 0.5, 86400.1])
TEXT = st.text(max_size=60) | st.sampled_from(["", " ", "viewer", "owner", "approver", "resolved", "open",
                                                "../../etc/passwd", "a" * 5000, "%00", "1e3", "NaN"])
SCALARS = st.none() | st.booleans() | HOSTILE_INTS | st.integers() | HOSTILE_FLOATS | st.floats() | TEXT
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=8)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) for every operation in an OpenAPI document."""
    out = []
    for path, methods in sorted(schema["paths"].items()):
        for method, operation in sorted(methods.items()):
            out.append((method.upper(), path, operation))
    return out


def body_fields(schema: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """The JSON body's property names (from its component schema), or [] for no JSON body."""
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    if not ref:
        return []
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return list(component.get("properties", {}))


@st.composite
def requests(draw: st.DrawFn, schema: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """One request: (method, URL, httpx keyword arguments)."""
    method, template, operation = draw(st.sampled_from(operations(schema)))
    url = template
    for name in re.findall(r"{(\w+)(?::\w+)?}", template):
        value = draw(HOSTILE_INTS | st.integers(-5, 50) | TEXT | st.just("a" * 32))
        url = url.replace(re.search(r"{" + name + r"(?::\w+)?}", url).group(0), quote(str(value), safe="") or "x")
    query = {}
    for param in operation.get("parameters", []):
        if param.get("in") == "query" and draw(st.booleans()):
            query[param["name"]] = str(draw(SCALARS))
    kwargs: dict[str, Any] = {"params": query}
    fields = body_fields(schema, operation)
    if fields:
        body = {name: draw(SCALARS) for name in fields if draw(st.booleans())}
        if draw(st.booleans()):
            body = draw(st.dictionaries(TEXT, JSON, max_size=3)) | body
        raw = draw(st.sampled_from(["dict", "dict", "dict", "json", "junk"]))
        if raw == "json":
            body = draw(JSON)
        text = json.dumps(body, allow_nan=True) if raw != "junk" else draw(st.text(max_size=40))
        kwargs.update(content=text.encode("utf-8", "surrogatepass"), headers={"Content-Type": "application/json"})
    elif "requestBody" in operation:
        kwargs.update(content=draw(st.binary(max_size=2048)),
                      headers={"Content-Type": draw(st.sampled_from(["application/octet-stream", "audio/wav",
                                                                     "text/plain", "multipart/form-data"]))})
    return method, url, kwargs


@pytest.fixture(scope="module")
def fuzz_room(tmp_path_factory: pytest.TempPathFactory):
    project = make_project(tmp_path_factory.mktemp("review-fuzz"), seconds=4.0)
    app = create_app(project.path, max_upload_bytes=200_000)
    with TestClient(app, base_url="http://127.0.0.1") as client:  # server exceptions are raised here
        yield client, app


def test_the_review_api_gives_no_server_error_to_hostile_requests(fuzz_room, tmp_path: Path) -> None:
    client, app = fuzz_room
    schema = app.openapi()
    assert len(operations(schema)) >= 18
    owner = {"token": app.state.room.owner_token()}
    errors: list[tuple[str, str, int]] = []
    seen: dict[int, int] = {}

    @settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(requests(schema))
    def one(request: tuple[str, str, dict[str, Any]]) -> None:
        method, url, kwargs = request
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {owner['token']}"}
        response = client.request(method, url, headers=headers, **kwargs)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            errors.append((method, url, response.status_code))
        if method == "DELETE" and response.status_code == 200:  # the fuzz revoked a link: perhaps the owner's
            owner["token"] = app.state.room.owner_token()

    one()
    assert errors == [], errors[:10]
    assert sum(seen.values()) >= CASES and seen.get(422, 0) > 0 and any(200 <= s < 300 for s in seen), seen
