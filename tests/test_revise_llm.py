"""The optional language-model reader: its answers pass the same schema gate, or are refused."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from trackwright.errors import ParameterError, TrackwrightError
from trackwright.revise.directives import Scope
from trackwright.revise.llm import ENV_MODEL, ENV_URL, ModelEndpoint, interpret_with_model, read_note


class _FakeModel(BaseHTTPRequestHandler):
    answer: object = None
    seen: list = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, body))
        payload = json.dumps({"choices": [{"message": {"content": json.dumps(type(self).answer)}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def model() -> Iterator[ModelEndpoint]:
    server = HTTPServer(("127.0.0.1", 0), _FakeModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeModel.seen = []
    yield ModelEndpoint(f"http://127.0.0.1:{server.server_port}/v1", "fake", timeout_s=5)
    server.shutdown()


def test_a_valid_model_answer_becomes_directives(model: ModelEndpoint) -> None:
    _FakeModel.answer = {"directives": [{"dimension": "intimacy", "direction": 1, "amount": 0.6,
                                         "words": "more vulnerable"}], "not_understood": []}
    result = interpret_with_model("make it feel more vulnerable", model, at=Scope("range", 10.0, 20.0))
    assert [(d.dimension, d.direction, d.scope) for d in result.directives] == [("intimacy", 1, Scope("range", 10, 20))]
    path, body = _FakeModel.seen[0]
    assert path == "/v1/chat/completions" and body["model"] == "fake"
    assert "intimacy" in body["messages"][0]["content"]  # the schema travels in the system prompt


@pytest.mark.parametrize(("answer", "message"), [
    ({"directives": [{"dimension": "sparkle", "direction": 1}]}, "dimension must be one of"),
    ({"directives": [{"dimension": "warmth", "direction": 5}]}, "direction must be"),
    ({"result": "warmer"}, 'lacks a "directives" list'),
    ({"directives": [], "not_understood": "all of it"}, "not_understood"),
])
def test_answers_outside_the_schema_are_refused(model: ModelEndpoint, answer: object, message: str) -> None:
    _FakeModel.answer = answer
    with pytest.raises(ParameterError, match=message):
        interpret_with_model("warmer", model)


def test_no_endpoint_configured_means_the_built_in_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    assert read_note("warmer").source == "built-in"
    monkeypatch.setenv(ENV_URL, "http://127.0.0.1:9/v1")
    monkeypatch.delenv(ENV_MODEL, raising=False)
    with pytest.raises(ParameterError, match=ENV_MODEL):
        read_note("warmer")
    monkeypatch.setenv(ENV_MODEL, "m")
    with pytest.raises(TrackwrightError, match="cannot reach the notes model"):
        read_note("warmer")
