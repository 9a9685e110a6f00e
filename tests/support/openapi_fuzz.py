"""Fuzzing a running service over real HTTP from its own OpenAPI document (issue 12).

What schemathesis does, with hypothesis and hypothesis-jsonschema (no schemathesis release
installs and imports next to this project's pins; docs/reliability.md says why):

* every operation in `/openapi.json` gets requests built from its parameters and request body:
  values drawn from the documented schemas, and for bodies also a valid body with one field
  replaced by arbitrary JSON, or arbitrary JSON; they are sent without credentials (none or
  garbage) and with each valid credential its security names (a customer, agent or service
  token ...), and a few with the valid credentials of another kind;
* every answer is checked the way schemathesis's checks do: no 5xx (`not_a_server_error`),
  the status is documented (`status_code_conformance`), the content type is documented for
  that status (`content_type_conformance`) and the body matches the documented schema
  (`response_schema_conformance`).

Failures are collected, not raised, so one run shows them all; the tests assert there are none.
Generation is derandomized: the same document and server state give the same requests.
"""
from __future__ import annotations

from pathlib import Path

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote

import requests
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from jsonschema import Draft202012Validator

try:
    from hypothesis_jsonschema import from_schema
except ImportError:  # pragma: no cover - the tests report it (skip locally, fail in CI)
    from_schema = None

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
NO_BODY = object()

# Arbitrary JSON, for bodies that ignore the schema.
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10)
# What HTTP lets a client put in a header value (requests refuses leading whitespace).
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(str.lstrip)
# Authorization headers of someone without credentials: none, garbage, or a bearer of garbage.
NO_CREDENTIALS = st.one_of(st.none(), HEADER_TEXT, HEADER_TEXT.map("Bearer ".__add__))


@dataclass(frozen=True)
class Credentials:
    name: str
    authorization: st.SearchStrategy  # of Optional[str]: the Authorization header, or none
    example: Optional[str] = None  # the header of the explicit cases
    scheme: Optional[str] = None  # the security scheme (components.securitySchemes) it satisfies

    @classmethod
    def bearer(cls, name: str, token: str, scheme: str) -> "Credentials":
        return cls(name, st.just(f"Bearer {token}"), f"Bearer {token}", scheme)

    @classmethod
    def anonymous(cls) -> "Credentials":
        return cls("none", NO_CREDENTIALS, None, None)

    def opens(self, operation: "Operation") -> bool:
        """Whether these are the credentials the operation asks for (or none, where it asks for none)."""
        security = operation.spec.get("security") or []
        if not security:
            return self.scheme is None
        return any(self.scheme in requirement for requirement in security)


@dataclass
class Operation:
    method: str
    path: str
    spec: Dict[str, Any]  # the operation object, every $ref inlined

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def parameters(self, location: str) -> List[Dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p.get("in") == location]

    @property
    def body(self) -> Tuple[Optional[Dict[str, Any]], bool]:
        """(JSON schema of the request body or None, whether it is required)."""
        request_body = self.spec.get("requestBody") or {}
        schema = (request_body.get("content") or {}).get("application/json", {}).get("schema")
        return schema, bool(request_body.get("required"))


@dataclass
class Case:
    operation: Operation
    path_params: Dict[str, str]
    query: Dict[str, str]
    headers: Dict[str, str]
    body: Any
    body_kind: str  # none | valid | known | one field changed | any JSON | explicit

    def url(self, base_url: str) -> str:
        path = re.sub(r"\{([^}]+)\}", lambda m: quote(self.path_params[m.group(1)], safe=""), self.operation.path)
        return base_url + path

    def describe(self, base_url: str) -> str:
        text = f"{self.operation.method} {self.url(base_url)}"
        if self.query:
            text += f" query={self.query!r}"
        if "Authorization" in self.headers:
            text += f" Authorization={self.headers['Authorization'][:40]!r}"
        if self.body is not NO_BODY:
            text += f" body({self.body_kind})={_clip(json.dumps(self.body, ensure_ascii=False), 300)}"
        return text


@dataclass
class Failure:
    check: str
    message: str
    status: Optional[int]
    request: str
    response: str
    count: int = 1


@dataclass
class Report:
    operation: str
    credentials: str
    cases: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    body_kinds: Counter = field(default_factory=Counter)
    failures: Dict[Tuple[str, Optional[int], str], Failure] = field(default_factory=dict)

    def add_failure(self, failure: Failure) -> None:
        key = (failure.check, failure.status, failure.message)
        if key in self.failures:
            self.failures[key].count += 1
        else:
            self.failures[key] = failure


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _pointer(document: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported: {ref}")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline_refs(node: Any, document: Mapping[str, Any], seen: Tuple[str, ...] = ()) -> Any:
    """The schema with every local $ref replaced by its target (the services' schemas are not recursive)."""
    if isinstance(node, list):
        return [inline_refs(item, document, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive schema at {ref}")
        target = inline_refs(_pointer(document, ref), document, seen + (ref,))
        siblings = {k: inline_refs(v, document, seen) for k, v in node.items() if k != "$ref"}
        return dict(siblings, allOf=[target]) if siblings else target
    return {key: inline_refs(value, document, seen) for key, value in node.items()}


def load_document(base_url: str) -> Dict[str, Any]:
    response = requests.get(base_url + "/openapi.json", timeout=10)
    assert response.status_code == 200, (
        f"GET {base_url}/openapi.json answered {response.status_code}: the fuzz tests need the API docs on")
    return response.json()


def operations(document: Mapping[str, Any]) -> List[Operation]:
    found = []
    for path, item in document.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method in item:
                spec = inline_refs(dict(item[method], parameters=shared + item[method].get("parameters", [])),
                                   document)
                found.append(Operation(method.upper(), path, spec))
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _path_segment_ok(value: str) -> bool:
    # A "/" (even as %2F: the server decodes it before routing) or a dot segment would address
    # another route; an empty value another path. Schemathesis does not send these either.
    return value not in ("", ".", "..") and "/" not in value


class Fuzzer:
    """Fuzzes one running service. `known_values` (parameter name -> values) and `known_bodies`
    ("METHOD /path" -> bodies) are mixed into generation, so that real ids and valid logins
    reach the handlers behind the 404s and 401s, and each is also sent once as an explicit case
    before the generated ones; `after_call(case, response)` runs after each request (e.g. to
    switch off fault injection that a fuzzed request switched on)."""

    def __init__(self, base_url: str, document: Mapping[str, Any], *,
                 known_values: Optional[Mapping[str, Sequence[Any]]] = None,
                 known_bodies: Optional[Mapping[str, Sequence[Any]]] = None,
                 after_call: Optional[Callable[[Case, requests.Response], None]] = None,
                 timeout: float = 10.0) -> None:
        if from_schema is None:
            raise RuntimeError("hypothesis-jsonschema is not installed (requirements.lock pins it)")
        self.base_url = base_url
        self.document = document
        self.known_values = dict(known_values or {})
        self.known_bodies = dict(known_bodies or {})
        self.after_call = after_call
        self.timeout = timeout
        self.http = requests.Session()
        self._validators: Dict[int, Draft202012Validator] = {}

    # -- generation ------------------------------------------------------------------------
    def _parameter(self, parameter: Dict[str, Any]) -> st.SearchStrategy:
        schema = dict(parameter.get("schema") or {})
        if parameter["in"] == "header":
            return HEADER_TEXT
        if parameter["in"] == "path" and schema.get("type", "string") == "string":
            schema.setdefault("minLength", 1)
        values = from_schema(schema).map(_as_text)
        if parameter["in"] == "path":
            values = values.filter(_path_segment_ok)
        known = [_as_text(v) for v in self.known_values.get(parameter["name"], ())]
        return st.one_of(st.sampled_from(known), values) if known else values

    @staticmethod
    def body_kinds(operation: Operation) -> List[str]:
        schema, _ = operation.body
        if schema is None:
            return ["none"]
        return ["valid", "one field changed", "any JSON"] if schema.get("properties") else ["valid", "any JSON"]

    def _body(self, operation: Operation, kind: str) -> st.SearchStrategy:
        """(kind, body) pairs: "valid" follows the schema (or is a known body, or none where the
        body is optional), "one field changed" is a valid body with one field set to any JSON,
        "any JSON" ignores the schema."""
        schema, required = operation.body
        if schema is None:
            return st.just(("none", NO_BODY))
        valid = from_schema(schema)
        if kind == "any JSON":
            return ANY_JSON.map(lambda b: ("any JSON", b))
        if kind == "one field changed":
            def one_changed(args: Tuple[Any, str, Any]) -> Tuple[str, Any]:
                body, name, value = args
                return "one field changed", dict(body, **{name: value}) if isinstance(body, dict) else body
            return st.tuples(valid, st.sampled_from(sorted(schema["properties"])), ANY_JSON).map(one_changed)
        variants = [valid.map(lambda b: ("valid", b))]
        known = self.known_bodies.get(operation.label, ())
        if known:
            variants.append(st.sampled_from(list(known)).map(lambda b: ("known", b)))
        if not required:
            variants.append(st.just(("none", NO_BODY)))
        return st.one_of(*variants)

    def cases(self, operation: Operation, credentials: Credentials, body_kind: str = "valid") -> st.SearchStrategy:
        def group(location: str) -> st.SearchStrategy:
            params = [p for p in operation.parameters(location) if p["name"].lower() != "authorization"]
            required = {p["name"]: self._parameter(p) for p in params if p.get("required") or location == "path"}
            optional = {p["name"]: self._parameter(p) for p in params if p["name"] not in required}
            return st.fixed_dictionaries(required, optional=optional)

        def build(parts: Tuple[Dict[str, str], Dict[str, str], Dict[str, str], Optional[str], Tuple[str, Any]]) -> Case:
            path_params, query, headers, authorization, (kind, body) = parts
            headers = dict(headers)
            if authorization is not None:
                headers["Authorization"] = authorization
            return Case(operation, path_params, query, headers, body, kind)

        return st.tuples(group("path"), group("query"), group("header"), credentials.authorization,
                         self._body(operation, body_kind)).map(build)

    def explicit_cases(self, operation: Operation, credentials: Credentials) -> List[Case]:
        """Every known body once, and every known value of each path parameter once (the other
        path parameters at their first known value, or "1"). Only with the credentials the
        operation asks for: the generated cases cover the 401s."""
        if not credentials.opens(operation):
            return []
        path = {p["name"]: [_as_text(v) for v in self.known_values.get(p["name"], ())] or ["1"]
                for p in operation.parameters("path")}
        first = {name: values[0] for name, values in path.items()}
        headers = {"Authorization": credentials.example} if credentials.example else {}
        schema, _ = operation.body
        default_body = NO_BODY if schema is None else {}
        cases = [Case(operation, first, {}, headers, body, "explicit")
                 for body in self.known_bodies.get(operation.label, ())]
        for name, values in path.items():
            for value in values[1:] if cases else values:
                cases.append(Case(operation, dict(first, **{name: value}), {}, headers,
                                  next(iter(self.known_bodies.get(operation.label, ())), default_body), "explicit"))
        return cases

    # -- one request and its checks --------------------------------------------------------
    def send(self, case: Case) -> requests.Response:
        headers = dict(case.headers)
        data = None
        if case.body is not NO_BODY:
            data = json.dumps(case.body, ensure_ascii=False, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        return self.http.request(case.operation.method, case.url(self.base_url), params=case.query,
                                 headers=headers, data=data, timeout=self.timeout, allow_redirects=False)

    def _validator(self, schema: Dict[str, Any]) -> Draft202012Validator:
        key = id(schema)
        if key not in self._validators:
            self._validators[key] = Draft202012Validator(schema)
        return self._validators[key]

    def check(self, operation: Operation, response: requests.Response) -> List[Tuple[str, str]]:
        """[(check, message)] for what is wrong with this answer; [] when it is as documented."""
        problems: List[Tuple[str, str]] = []
        status = response.status_code
        if status >= 500:
            problems.append(("not_a_server_error", f"answered {status}"))
        documented = operation.spec.get("responses") or {}
        spec = documented.get(str(status)) or documented.get(f"{status // 100}XX") or documented.get("default")
        if spec is None:
            problems.append(("status_code_conformance",
                             f"{status} is not documented (documented: {', '.join(sorted(documented))})"))
            return problems
        content = spec.get("content") or {}
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not content:
            if response.content:
                problems.append(("content_type_conformance", f"{status} documents no body but got {media!r}"))
            return problems
        if media not in content:
            problems.append(("content_type_conformance",
                             f"{status} with {media or 'no content type'!r}, documented: {', '.join(content)}"))
            return problems
        schema = content[media].get("schema")
        if schema is None or not media.endswith("json"):
            return problems
        try:
            body = json.loads(response.content)
        except ValueError:
            problems.append(("response_schema_conformance", f"{status}: the body is not JSON"))
            return problems
        error = next(iter(sorted(self._validator(schema).iter_errors(body), key=lambda e: list(e.absolute_path))),
                     None)
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(body)"
            problems.append(("response_schema_conformance", f"{status} at {where}: {_clip(error.message, 200)}"))
        return problems

    # -- one operation with one set of credentials -----------------------------------------
    def run(self, operation: Operation, credentials: Credentials, max_examples: int) -> Report:
        """The explicit cases, then `max_examples` generated ones (fewer when hypothesis runs out
        of distinct inputs, e.g. for an operation without parameters). Where there is a body,
        half of them have a valid one and the rest are split between the invalid kinds."""
        report = Report(operation.label, credentials.name)

        def probe(case: Case) -> None:
            report.cases += 1
            report.body_kinds[case.body_kind] += 1
            try:
                response = self.send(case)
            except requests.RequestException as exc:
                report.add_failure(Failure("no_response", type(exc).__name__, None, case.describe(self.base_url),
                                           _clip(str(exc), 300)))
                return
            report.statuses[response.status_code] += 1
            for check, message in self.check(operation, response):
                report.add_failure(Failure(check, message, response.status_code, case.describe(self.base_url),
                                           _clip(response.text, 300)))
            if self.after_call is not None:
                self.after_call(case, response)

        valid, *invalid = self.body_kinds(operation)
        rest = max_examples // 2 if invalid else 0
        budgets = {valid: max_examples - rest}
        for index, kind in enumerate(invalid):
            budgets[kind] = rest // len(invalid) + (index < rest % len(invalid))

        started = time.monotonic()
        for case in self.explicit_cases(operation, credentials):
            probe(case)
        for kind, budget in budgets.items():
            if budget <= 0:
                continue

            @settings(max_examples=budget, derandomize=True, database=None, deadline=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
            @given(self.cases(operation, credentials, kind))
            def generated(case: Case) -> None:
                probe(case)

            try:
                generated()
            except HypothesisException as exc:  # e.g. no value satisfies a parameter's schema
                report.add_failure(Failure("generation", f"{type(exc).__name__}: {_clip(str(exc), 300)}", None,
                                           operation.label, ""))
        report.seconds = time.monotonic() - started
        return report


def run_all(fuzzer: Fuzzer, credentials: Sequence[Credentials], max_examples: int,
            other_examples: int = 3) -> List[Report]:
    """Every operation with every set of credentials: `max_examples` generated cases without
    credentials and with those the operation asks for, `other_examples` with the others."""
    return [fuzzer.run(operation, creds,
                       max_examples if creds.scheme is None or creds.opens(operation) else other_examples)
            for operation in operations(fuzzer.document) for creds in credentials]


def summary(title: str, reports: Sequence[Report]) -> str:
    """A Markdown table (per operation: cases per credentials, statuses seen, failures) and the failures."""
    by_operation: Dict[str, List[Report]] = {}
    for report in reports:
        by_operation.setdefault(report.operation, []).append(report)
    names = [r.credentials for r in next(iter(by_operation.values()), [])]
    total = sum(r.cases for r in reports)
    failures = [f for r in reports for f in r.failures.values()]
    kinds = Counter()
    for report in reports:
        kinds.update(report.body_kinds)
    lines = [f"## {title}", "",
             f"{len(by_operation)} operations, {total} cases, {sum(f.count for f in failures)} failing cases "
             f"({len(failures)} distinct), {sum(r.seconds for r in reports):.1f} s; request bodies: "
             + ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()), "",
             "| operation | " + " | ".join(f"cases ({n})" for n in names) + " | statuses seen | failures |",
             "|---|" + "---|" * len(names) + "---|---|"]
    for label, group in by_operation.items():
        statuses: Counter = Counter()
        for report in group:
            statuses.update(report.statuses)
        seen = ", ".join(f"{status}×{count}" for status, count in sorted(statuses.items()))
        failed = sum(f.count for r in group for f in r.failures.values())
        lines.append(f"| `{label}` | " + " | ".join(str(r.cases) for r in group) + f" | {seen} | {failed} |")
    if failures:
        lines += ["", "### Failures", ""]
        for report in reports:
            for failure in report.failures.values():
                lines.append(f"- **{report.operation}** [{report.credentials}] {failure.check}: {failure.message} "
                             f"({failure.count}×)\n  - request: {failure.request}\n  - response: {failure.response}")
    return "\n".join(lines) + "\n"


def write_and_check(title: str, artifact: "Path", reports: Sequence[Report], min_operations: int,
                    where_to_look: str) -> None:
    """Writes a run's table (test-artifacts/openapi-fuzz/), prints it and fails on any finding:
    too few operations, an operation without cases, or a failing case."""
    table = summary(title, reports)
    artifact.parent.mkdir(parents=True, exist_ok=True)
    artifact.write_text(table, encoding="utf-8")
    print(table)
    labels = {r.operation for r in reports}
    assert len(labels) >= min_operations, f"only {len(labels)} operations in /openapi.json: {sorted(labels)}"
    assert all(r.cases > 0 for r in reports), [r.operation for r in reports if r.cases == 0]
    failures = [f for r in reports for f in r.failures.values()]
    assert not failures, table + "\n" + where_to_look
