"""Readers for the deployment descriptors under deploy/ (used by the tests in this folder).

Everything here works offline: the Kubernetes schemas ship with the `kubernetes-validate`
package, the Compose specification schema ships in tests/deploy/schemas/ (README there).
"""
from __future__ import annotations

import json
import re
import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple

import yaml

from bot.identity import generate_key_pair
from bot.settings import PROJECT_ROOT
from bot.stack import read_procfile

DEPLOY = PROJECT_ROOT / "deploy"
K8S_DIR = DEPLOY / "k8s"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"
ENV_EXAMPLE = DEPLOY / "env.example"
DEPLOY_README = DEPLOY / "README.md"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
COMPOSE_SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"

# Kubernetes API version the manifests are validated against (kubernetes-validate 1.28.x).
K8S_VERSION = "1.28.0"
# The Procfile's development-only process; deployments run a real Redis instead.
DEV_ONLY_PROCESSES = {"redis"}
# Where the image puts the repository (deploy/Dockerfile WORKDIR).
IMAGE_APP_DIR = "/app"

# Secrets each process needs beyond what its Procfile line names (which code reads them:
# actions/identity.py and connectors verify customer JWTs; actions and connectors call core
# banking and the desk with the service tokens; each service needs its own pair to start).
SECRETS_BY_PROCESS: Dict[str, Tuple[str, ...]] = {
    "rasa": ("RASA_TOKEN", "CORE_BANKING_SERVICE_TOKEN", "AGENT_DESK_SERVICE_TOKEN"),
    "actions": ("CORE_BANKING_SERVICE_TOKEN", "AGENT_DESK_SERVICE_TOKEN"),
    "core_banking": ("CORE_BANKING_JWT_PRIVATE_KEY", "CORE_BANKING_SERVICE_TOKEN"),
    "agent_desk": ("AGENT_DESK_JWT_SECRET", "AGENT_DESK_SERVICE_TOKEN"),
}
# Every process talks to Redis (tracker/lock store, handoff routes, outboxes, desk live state)
# except core banking; the ones with a database need its URL.
REDIS_PROCESSES = ("rasa", "actions", "agent_desk")
DATABASE_URL_VARS = {"core_banking": "CORE_BANKING_DATABASE_URL", "agent_desk": "AGENT_DESK_DATABASE_URL"}
# Processes whose server binds 127.0.0.1 unless told otherwise (a container needs 0.0.0.0).
HOST_VARS = {"core_banking": "CORE_BANKING_HOST", "agent_desk": "AGENT_DESK_HOST"}


# -- Procfile -------------------------------------------------------------------------------
def deployed_processes() -> Dict[str, str]:
    """Procfile processes a deployment must run: name -> command line."""
    return {name: line for name, line in read_procfile().items() if name not in DEV_ONLY_PROCESSES}


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def required_vars(command: str) -> List[str]:
    """Variables a command line needs (those without a ${VAR:-default})."""
    return sorted({m.group(1) or m.group(3) for m in _VAR.finditer(command) if not m.group(2)})


def port_var(process: str) -> str:
    match = re.search(r"--port\s+\$\{?([A-Za-z_][A-Za-z0-9_]*)", read_procfile()[process])
    assert match, f"the Procfile line of {process} has no --port $VAR"
    return match.group(1)


def endpoints_vars() -> List[str]:
    """Variables Rasa substitutes in endpoints.yml and credentials.yml (it fails without them)."""
    found = set()
    for name in ("endpoints.yml", "credentials.yml"):
        text = "\n".join(line for line in (PROJECT_ROOT / name).read_text(encoding="utf-8").splitlines()
                         if not line.lstrip().startswith("#"))
        found |= set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
    return sorted(found)


def env_needed(process: str) -> List[str]:
    names = set(required_vars(read_procfile()[process])) | set(SECRETS_BY_PROCESS[process])
    if process == "rasa":
        names |= set(endpoints_vars())
    if process in REDIS_PROCESSES:
        names.add("REDIS_URL")
    if process in DATABASE_URL_VARS:
        names.add(DATABASE_URL_VARS[process])
    if process in HOST_VARS:
        names.add(HOST_VARS[process])
    return sorted(names)


# -- secrets the operator provides ----------------------------------------------------------
def env_example_keys() -> List[str]:
    keys = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            keys.append(key.strip())
    return keys


def fake_secret_values(keys) -> Dict[str, str]:
    """Distinct, long, URL-safe values (like the ones env.example asks for); the customer-token
    keys as a real pair (`python -m bot keypair`)."""
    values = {key: secrets.token_hex(24) for key in keys}
    pair = dict(zip(("CORE_BANKING_JWT_PRIVATE_KEY", "CORE_BANKING_JWT_PUBLIC_KEY"), generate_key_pair()))
    values.update({key: pair[key] for key in keys if key in pair})
    return values


def readme_secret_keys() -> List[str]:
    """Keys of the Kubernetes Secret as deploy/README.md tells the operator to create it."""
    return sorted(set(re.findall(r"--from-literal=([A-Z_][A-Z0-9_]*)=", DEPLOY_README.read_text(encoding="utf-8"))))


# -- Docker Compose ---------------------------------------------------------------------------
def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose_raw() -> Dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


_INTERPOLATION = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])"
                            r"(?P<arg>[^}]*))?\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")


class InterpolationError(ValueError):
    pass


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution ($VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e},
    ${VAR:+r}, ${VAR+r}, $$)."""
    for position in (m.start() for m in re.finditer(r"\$+\{", text)):
        dollars = len(re.match(r"\$+", text[position:]).group(0))
        brace = position + dollars - 1  # the `$` right before `{`
        if dollars % 2 == 1 and not _INTERPOLATION.match(text, brace):
            raise InterpolationError(f"malformed substitution in {text!r}")

    def substitute(match: "re.Match[str]") -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("named")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        if op is None:
            return value or ""
        unset_or_empty = value is None or (op.startswith(":") and value == "")
        kind = op[-1]
        if kind == "-":
            return arg if unset_or_empty else value
        if kind == "?":
            if unset_or_empty:
                raise InterpolationError(f"{name}: {arg}")
            return value
        return "" if unset_or_empty else arg  # "+"

    return _INTERPOLATION.sub(substitute, text)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    return node


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)


def compose_variables(node: Any) -> Dict[str, Set[str]]:
    """Every variable the compose file substitutes -> the operators used with it ("" = plain)."""
    found: Dict[str, Set[str]] = {}
    for text in _strings(node):
        for match in _INTERPOLATION.finditer(text):
            name = match.group("braced") or match.group("named")
            if name:
                found.setdefault(name, set()).add(match.group("op") or "")
    return found


def compose_environment(service: Dict[str, Any]) -> Dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def compose_process(service: Dict[str, Any]) -> Optional[str]:
    command = service.get("command")
    if isinstance(command, str):
        command = shlex.split(command)
    if command and command[0] in read_procfile():
        return command[0]
    return None


# -- Kubernetes -------------------------------------------------------------------------------
@dataclass
class K8sDoc:
    path: Path
    index: int
    body: Dict[str, Any]

    @property
    def kind(self) -> str:
        return self.body.get("kind", "")

    @property
    def name(self) -> str:
        return self.body.get("metadata", {}).get("name", "")

    def __str__(self) -> str:
        return f"{self.path.name}#{self.index} {self.kind}/{self.name}"


def k8s_docs() -> List[K8sDoc]:
    docs = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        for index, body in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if body is not None:
                docs.append(K8sDoc(path, index, body))
    return docs


def k8s_of_kind(kind: str) -> List[K8sDoc]:
    return [doc for doc in k8s_docs() if doc.kind == kind]


def k8s_configmaps() -> Dict[str, Dict[str, str]]:
    return {doc.name: dict(doc.body.get("data") or {}) for doc in k8s_of_kind("ConfigMap")}


def pod_template(doc: K8sDoc) -> Dict[str, Any]:
    return doc.body["spec"]["template"]


def containers(doc: K8sDoc) -> List[Dict[str, Any]]:
    return pod_template(doc)["spec"]["containers"]


def k8s_process(container: Dict[str, Any]) -> Optional[str]:
    args = container.get("args") or []
    if args and args[0] in read_procfile():
        return args[0]
    return None


def k8s_workloads_by_process() -> Dict[str, List[Tuple[K8sDoc, Dict[str, Any]]]]:
    found: Dict[str, List[Tuple[K8sDoc, Dict[str, Any]]]] = {}
    for doc in k8s_docs():
        if doc.kind in ("Deployment", "StatefulSet"):
            for container in containers(doc):
                process = k8s_process(container)
                if process:
                    found.setdefault(process, []).append((doc, container))
    return found


_K8S_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def k8s_container_env(container: Dict[str, Any], secret_values: Mapping[str, str]) -> Dict[str, str]:
    """The environment the container would get: envFrom ConfigMaps, then env (secretKeyRef
    values from `secret_values`, $(VAR) references expanded from what is defined so far)."""
    configmaps = k8s_configmaps()
    env: Dict[str, str] = {}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]])
        if "secretRef" in source:
            env.update(secret_values)
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = _K8S_REF.sub(lambda m: env.get(m.group(1), m.group(0)), item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            if ref["key"] in secret_values:
                env[item["name"]] = secret_values[ref["key"]]
            elif not ref.get("optional"):
                raise KeyError(f"secret key {ref['key']} has no value")
    return env


def named_port(container: Dict[str, Any], port: Any) -> Optional[int]:
    if isinstance(port, int):
        return port
    for item in container.get("ports") or []:
        if item.get("name") == port:
            return item["containerPort"]
    return None


def probes(container: Dict[str, Any]) -> Iterator[Tuple[str, Dict[str, Any]]]:
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        if kind in container:
            yield kind, container[kind]


def http_probe_target(container: Dict[str, Any], probe: Dict[str, Any]) -> Optional[Tuple[int, str]]:
    """(port, path) a probe requests: an httpGet, or an exec of deploy/healthcheck.py."""
    if "httpGet" in probe:
        return named_port(container, probe["httpGet"]["port"]), probe["httpGet"].get("path", "/")
    if "exec" in probe:
        return healthcheck_target(probe["exec"]["command"])
    return None


def healthcheck_target(command: List[str]) -> Optional[Tuple[int, str]]:
    """(port, path) of a `python /app/deploy/healthcheck.py [...] URL` command, else None."""
    if len(command) >= 3 and command[0] == "python" and command[1].endswith("deploy/healthcheck.py"):
        from urllib.parse import urlsplit

        url = urlsplit(command[-1])
        assert url.hostname == "127.0.0.1", f"health checks probe the container itself: {command}"
        return url.port or 80, url.path or "/"
    return None


# -- nginx --------------------------------------------------------------------------------------
@dataclass
class NginxServer:
    listen: int
    locations: Dict[str, str] = field(default_factory=dict)  # location -> body


def nginx_config() -> Tuple[Dict[str, List[Tuple[str, int]]], List[NginxServer]]:
    """(upstreams: name -> [(host, port)], servers) of deploy/nginx/nginx.conf."""
    text = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text(encoding="utf-8"))
    upstreams: Dict[str, List[Tuple[str, int]]] = {}
    for name, body in re.findall(r"upstream\s+(\S+)\s*\{([^}]*)\}", text):
        upstreams[name] = [(host, int(port)) for host, port in re.findall(r"^\s*server\s+([\w.-]+):(\d+)", body, re.M)]
    servers = []
    for block in _blocks(text, "server"):
        listen = re.search(r"^\s*listen\s+(\d+)\s*;", block, re.M)
        server = NginxServer(int(listen.group(1)) if listen else 80)
        for location, body in re.findall(r"location\s+((?:=\s*)?\S+)\s*\{([^}]*)\}", block):
            server.locations[location.replace(" ", "")] = body
        servers.append(server)
    return upstreams, servers


def _blocks(text: str, keyword: str) -> List[str]:
    """Bodies of the `keyword { ... }` blocks (balanced braces)."""
    found = []
    for match in re.finditer(rf"(?<![\w-]){keyword}\s*\{{", text):
        depth, start = 1, match.end()
        position = start
        while depth:
            char = text[position]
            depth += {"{": 1, "}": -1}.get(char, 0)
            position += 1
        found.append(text[start:position - 1])
    return found


# -- Dockerfile ---------------------------------------------------------------------------------
@dataclass
class Instruction:
    keyword: str
    value: str

    def json_args(self) -> List[str]:
        return json.loads(self.value)


def dockerfile_instructions(path: Path = DOCKERFILE) -> List[Instruction]:
    """Instructions in order, continuation lines joined, comments and parser directives dropped."""
    instructions: List[Instruction] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, value = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), value.strip()))
    assert not pending, "Dockerfile ends inside a continuation line"
    return instructions


def dockerfile_env(instructions: List[Instruction]) -> Dict[str, str]:
    env: Dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "ENV":
            for item in shlex.split(instruction.value):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def dockerignore_patterns() -> List[str]:
    return [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def dockerignored(relative_path: str, patterns: List[str]) -> bool:
    """Whether the build context drops the path (patterns and `!` exceptions, last match wins;
    `**` matches any number of directories, as in Docker's matcher)."""
    ignored = False
    parts = relative_path.strip("/").split("/")
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _dockerignore_regex(pattern.lstrip("!").strip("/"))
        # a pattern that matches a parent directory drops everything under it
        if any(regex.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            ignored = not negate
    return ignored


def _dockerignore_regex(pattern: str) -> "re.Pattern[str]":
    out, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif pattern[index] == "?":
            out, index = out + "[^/]", index + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    return re.compile(out)
