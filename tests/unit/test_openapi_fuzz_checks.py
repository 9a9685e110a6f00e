"""The checks of the OpenAPI fuzz tests (tests/support/openapi_fuzz.py) catch what they should:
a fuzz test whose checks cannot fail would prove nothing."""
from __future__ import annotations

import json

import pytest
import requests
from hypothesis import given, settings

from tests.support import openapi_fuzz
from tests.support.unavailable import unavailable

DOCUMENT = {
    "openapi": "3.1.0",
    "paths": {"/things/{thing_id}": {"get": {
        "parameters": [{"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {
            "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
            "404": {"content": {"application/json": {"schema": {"type": "object", "required": ["error"]}}}},
            "204": {"description": "nothing"},
        }}}},
    "components": {"schemas": {"Thing": {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string"}, "size": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}}}},
}


def response(status: int, body=None, content_type: str = "application/json") -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = b"" if body is None else json.dumps(body).encode()
    if content_type:
        answer.headers["Content-Type"] = content_type
    return answer


@pytest.fixture(scope="module")
def fuzzer_and_operation():
    if openapi_fuzz.from_schema is None:
        unavailable("hypothesis-jsonschema is not installed (pip install -r requirements.lock)")
    fuzzer = openapi_fuzz.Fuzzer("http://127.0.0.1:9", DOCUMENT)
    (operation,) = openapi_fuzz.operations(DOCUMENT)
    return fuzzer, operation


@pytest.mark.parametrize("answer,check", [
    (response(200, {"id": "a", "size": None}), None),
    (response(204, None, content_type=""), None),
    (response(500, {"error": {}}), "not_a_server_error"),
    (response(401, {"error": {}}), "status_code_conformance"),
    (response(200, "<html>", content_type="text/html"), "content_type_conformance"),
    (response(204, {"id": "a"}), "content_type_conformance"),
    (response(200, {"size": 1}), "response_schema_conformance"),
    (response(200, {"id": "a", "size": "big"}), "response_schema_conformance"),
    (response(404, {"detail": "Not Found"}), "response_schema_conformance"),
])
def test_each_check_fires_on_its_violation_only(fuzzer_and_operation, answer, check) -> None:
    fuzzer, operation = fuzzer_and_operation
    found = [name for name, _message in fuzzer.check(operation, answer)]
    assert found[:1] == ([check] if check else []), found


def test_refs_are_inlined_and_path_values_are_single_segments(fuzzer_and_operation) -> None:
    fuzzer, operation = fuzzer_and_operation
    schema = operation.spec["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["properties"]["id"] == {"type": "string"}
    cases = []

    @settings(max_examples=200, derandomize=True, database=None, deadline=None)
    @given(fuzzer.cases(operation, openapi_fuzz.Credentials.anonymous()))
    def collect(case: openapi_fuzz.Case) -> None:
        cases.append(case)

    collect()
    values = [c.path_params["thing_id"] for c in cases]
    assert values and all(v and "/" not in v and v not in (".", "..") for v in values)
    assert all("/things/" in c.url("http://h") and c.url("http://h").count("/") == 4 for c in cases)
