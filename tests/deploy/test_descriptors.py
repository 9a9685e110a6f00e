"""The deployment descriptors under deploy/, linted offline: Kubernetes manifests against the
Kubernetes JSON schemas (kubernetes-validate, strict), the Compose file against the Compose
specification schema, and the project's own rules: every Procfile process is deployed with
the one image, probes and URLs point at ports and services that exist, every process gets
the variables it reads, secrets stay out of the files. No Docker, kubectl or network needed.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
from typing import Dict, List
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest

from tests.support.unavailable import unavailable

from bot.settings import PROJECT_ROOT
from bot.stack import read_procfile
from tests.deploy import descriptors as d

PROJECT_IMAGE = "bank-cs-assistant:1.0.0"
SECRET_NAME = "bank-assistant-secrets"
APP_PATHS_IN_IMAGE = ("Procfile", "requirements.lock", "config.yml", "domain.yml", "endpoints.yml",
                      "credentials.yml", "bot/settings.py", "actions/__init__.py", "connectors/app.py",
                      "services/core_banking/main.py", "services/agent_desk/static/index.html",
                      "data/nlu", "data/lexicon", "deploy/entrypoint.sh", "deploy/healthcheck.py",
                      "models/bank-0123456789abcdef.tar.gz", "models/spacy_zh_bank/meta.json")


# -- Kubernetes: schemas --------------------------------------------------------------------
@pytest.mark.parametrize("doc", d.k8s_docs(), ids=str)
def test_kubernetes_manifest_is_valid_against_the_kubernetes_schema(doc):
    try:
        kubernetes_validate.validate(doc.body, d.K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{doc}: {exc.message} at {'/'.join(map(str, exc.path))}")


def test_kubernetes_validation_really_runs_offline_and_strict():
    """A manifest with a misspelt field or a wrong type must fail: the schemas are there."""
    deployment = copy.deepcopy(d.k8s_of_kind("Deployment")[0].body)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, d.K8S_VERSION, strict=True)
    deployment = copy.deepcopy(d.k8s_of_kind("Deployment")[0].body)
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, d.K8S_VERSION, strict=True)


# -- Kubernetes: the project's rules ----------------------------------------------------------
def test_every_procfile_process_is_a_kubernetes_deployment_of_the_one_image():
    workloads = d.k8s_workloads_by_process()
    assert set(workloads) == set(d.deployed_processes()), "deployed processes differ from the Procfile"
    for process, found in workloads.items():
        assert len(found) == 1, f"{process} is deployed more than once"
        doc, container = found[0]
        assert doc.kind == "Deployment", process
        assert container["image"] == PROJECT_IMAGE, process
        assert container["args"] == [process], "the entrypoint takes exactly the process name"
        assert "command" not in container, "the image's ENTRYPOINT must run the Procfile line"
    assert d.k8s_of_kind("StatefulSet")[0].name == "redis", "Redis replaces the Procfile's embedded one"


def test_deployments_have_probes_on_the_process_port_and_resource_requests():
    configmap = d.k8s_configmaps()["bank-assistant-config"]
    for process, [(doc, container)] in d.k8s_workloads_by_process().items():
        port = int(configmap[d.port_var(process)])
        assert [p["containerPort"] for p in container["ports"]] == [port], process
        kinds = dict(d.probes(container))
        assert {"readinessProbe", "livenessProbe"} <= set(kinds), process
        for kind, probe in kinds.items():
            target = d.http_probe_target(container, probe)
            assert target is not None, f"{process} {kind}: an HTTP probe of the service"
            assert target[0] == port, f"{process} {kind} probes port {target[0]}, the process listens on {port}"
            assert target[1].startswith("/")
        requests = container["resources"]["requests"]
        assert {"cpu", "memory"} <= set(requests), f"{process}: the HPA and the scheduler need requests"
        assert "memory" in container["resources"].get("limits", {}), process
        spec = d.pod_template(doc)["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, process


def test_selectors_services_and_ports_fit_together():
    workloads = d.k8s_of_kind("Deployment") + d.k8s_of_kind("StatefulSet")
    for doc in workloads:
        labels = d.pod_template(doc)["metadata"]["labels"]
        assert doc.body["spec"]["selector"]["matchLabels"].items() <= labels.items(), str(doc)
    for service in d.k8s_of_kind("Service"):
        selector = service.body["spec"]["selector"]
        matching = [doc for doc in workloads if selector.items() <= d.pod_template(doc)["metadata"]["labels"].items()]
        assert len(matching) == 1, f"{service} selects {len(matching)} workloads"
        [container] = d.containers(matching[0])
        for port in service.body["spec"]["ports"]:
            assert d.named_port(container, port["targetPort"]) == port["port"], str(service)
    for pdb in d.k8s_of_kind("PodDisruptionBudget"):
        selector = pdb.body["spec"]["selector"]["matchLabels"]
        assert any(selector.items() <= d.pod_template(doc)["metadata"]["labels"].items() for doc in workloads)


def test_urls_in_the_configmap_reach_the_right_services():
    configmap = d.k8s_configmaps()["bank-assistant-config"]
    services = {doc.name: doc for doc in d.k8s_of_kind("Service")}
    workloads = d.k8s_workloads_by_process()

    def serves(url_var: str, process: str) -> None:
        url = urlsplit(configmap[url_var])
        service = services[url.hostname]
        assert url.port in [p["port"] for p in service.body["spec"]["ports"]], url_var
        [(doc, _)] = workloads[process]
        assert service.body["spec"]["selector"].items() <= d.pod_template(doc)["metadata"]["labels"].items(), url_var

    serves("ACTION_SERVER_URL", "actions")
    assert urlsplit(configmap["ACTION_SERVER_URL"]).path == "/webhook"  # rasa_sdk's endpoint
    serves("CORE_BANKING_URL", "core_banking")
    serves("AGENT_DESK_URL", "agent_desk")
    serves("RASA_URL", "rasa")
    redis = services[configmap["REDIS_HOST"]]
    assert int(configmap["REDIS_PORT"]) == redis.body["spec"]["ports"][0]["port"]
    for doc, container in (pair for found in workloads.values() for pair in found):
        env = {item["name"]: item for item in container.get("env", [])}
        if "REDIS_URL" in env:
            url = urlsplit(env["REDIS_URL"]["value"].replace("$(REDIS_PASSWORD)", "pw"))
            assert (url.hostname, str(url.port)) == (configmap["REDIS_HOST"], configmap["REDIS_PORT"]), str(doc)
            names = list(env)
            assert names.index("REDIS_PASSWORD") < names.index("REDIS_URL"), "$(VAR) needs VAR defined before"


def test_each_process_gets_the_variables_it_reads_and_secrets_only_by_reference():
    secret_keys = d.readme_secret_keys()
    values = d.fake_secret_values(secret_keys)
    for process, [(doc, container)] in d.k8s_workloads_by_process().items():
        for source in container.get("envFrom", []):
            assert "secretRef" not in source, f"{process}: each process takes only the secret keys it reads"
            assert source["configMapRef"]["name"] in d.k8s_configmaps()
        for item in container.get("env", []):
            assert set(item) <= {"name", "value", "valueFrom"}
            if "valueFrom" in item:
                ref = item["valueFrom"]["secretKeyRef"]
                assert ref["name"] == SECRET_NAME, f"{process}: {ref}"
                assert ref.get("optional") or ref["key"] in secret_keys, \
                    f"{process} needs secret key {ref['key']}, which deploy/README.md does not tell to create"
            else:
                assert not re.search(r"(SECRET|TOKEN|PASSWORD)$", item["name"]), f"{process}: {item['name']} inline"
        env = d.k8s_container_env(container, values)
        missing = [name for name in d.env_needed(process) if not env.get(name)]
        assert not missing, f"{process} would start without {missing}"
        assert "$(" not in "".join(env.values()), f"{process}: unresolved $(VAR) reference"
    for doc, container in [(doc, c) for doc in d.k8s_of_kind("StatefulSet") for c in d.containers(doc)]:
        for item in container.get("env", []):
            if "valueFrom" in item:
                assert item["valueFrom"]["secretKeyRef"]["key"] in secret_keys


def test_services_accept_the_kubernetes_configuration(monkeypatch):
    """The services' own settings classes, fed the environment a pod would get, find nothing
    missing, listen on all interfaces and use PostgreSQL and the Redis Service."""
    from services.agent_desk.config import DeskSettings
    from services.core_banking.config import CoreBankingSettings

    values = d.fake_secret_values(d.readme_secret_keys())
    values["CORE_BANKING_DATABASE_URL"] = "postgresql://bank:pw@db:5432/core_banking"
    values["AGENT_DESK_DATABASE_URL"] = "postgresql://bank:pw@db:5432/agent_desk"
    workloads = d.k8s_workloads_by_process()

    _use_env(monkeypatch, d.k8s_container_env(workloads["core_banking"][0][1], values))
    core = CoreBankingSettings()
    core.check_secrets()
    assert core.host == "0.0.0.0" and core.sqlalchemy_url.startswith("postgresql://")

    _use_env(monkeypatch, d.k8s_container_env(workloads["agent_desk"][0][1], values))
    desk = DeskSettings()
    assert desk.problems() == []
    assert desk.host == "0.0.0.0" and desk.effective_database_url.startswith("postgresql://")
    assert urlsplit(desk.effective_redis_url).hostname == "redis"
    assert desk.effective_callback_url == "http://rasa:5005/webhooks/handoff"
    assert desk.seed_demo_agents is False


def _use_env(monkeypatch, env: Dict[str, str]) -> None:
    for name in list(os.environ):
        if name.startswith(("CORE_BANKING_", "AGENT_DESK_", "REDIS_", "RASA_")) or name in ("DATABASE_URL", "RUN_DIR"):
            monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_rasa_and_actions_scale_horizontally():
    hpas = {doc.body["spec"]["scaleTargetRef"]["name"]: doc.body["spec"]
            for doc in d.k8s_of_kind("HorizontalPodAutoscaler")}
    deployments = {doc.name: doc for doc in d.k8s_of_kind("Deployment")}
    for process in ("rasa", "actions"):
        [(doc, container)] = d.k8s_workloads_by_process()[process]
        spec = hpas[doc.name]
        assert deployments[doc.name].body["spec"]["replicas"] >= 2
        assert 2 <= spec["minReplicas"] < spec["maxReplicas"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": doc.name}
        [metric] = spec["metrics"]
        assert metric["resource"]["name"] == "cpu" and "cpu" in container["resources"]["requests"]
    assert set(hpas) == {"rasa", "actions"}


def test_services_with_metrics_are_annotated_for_prometheus():
    for process in ("core_banking", "agent_desk"):
        [(doc, container)] = d.k8s_workloads_by_process()[process]
        annotations = d.pod_template(doc)["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert int(annotations["prometheus.io/port"]) == container["ports"][0]["containerPort"]
        assert annotations["prometheus.io/path"] == "/metrics"


def test_redis_has_a_password_and_a_persistent_append_only_file():
    [redis] = d.k8s_of_kind("StatefulSet")
    [container] = d.containers(redis)
    assert "--appendonly" in container["args"] and "$(REDIS_PASSWORD)" in container["args"]
    assert redis.body["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    assert container["volumeMounts"][0]["mountPath"] == "/data"


# -- Docker Compose ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose_schema():
    schema = json.loads(d.COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def secrets_env() -> Dict[str, str]:
    return d.fake_secret_values(d.env_example_keys())


@pytest.fixture(scope="module")
def compose(secrets_env) -> dict:
    """The compose file as Docker Compose would see it with a filled-in deploy/.env."""
    return d.interpolate_tree(d.compose_raw(), secrets_env)


def test_the_shipped_compose_schema_is_the_documented_one():
    digest = hashlib.sha256(d.COMPOSE_SCHEMA.read_bytes()).hexdigest()
    assert digest in (d.COMPOSE_SCHEMA.parent / "README.md").read_text(encoding="utf-8")


def test_compose_file_is_valid_against_the_compose_specification(compose_schema, compose):
    for document in (d.compose_raw(), compose):
        errors = sorted(compose_schema.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_compose_schema_validation_really_runs(compose_schema, compose):
    broken = copy.deepcopy(compose)
    broken["services"]["nginx"]["healthcheck"]["interval"] = 10  # must be a duration string
    broken["services"]["redis"]["restart_policy"] = "always"  # not a service property
    assert len(list(compose_schema.iter_errors(broken))) >= 2


def test_every_procfile_process_runs_in_compose_with_the_one_image(compose):
    processes: Dict[str, List[str]] = {}
    for name, service in compose["services"].items():
        process = d.compose_process(service)
        if process is None:
            continue
        processes.setdefault(process, []).append(name)
        assert service["image"] == PROJECT_IMAGE, name
        build = service["build"]
        assert (d.DEPLOY / build["context"]).resolve() == PROJECT_ROOT
        assert (PROJECT_ROOT / build["dockerfile"]).resolve() == d.DOCKERFILE
        assert service["command"] == [process], name
        assert "entrypoint" not in service, "the image's ENTRYPOINT must run the Procfile line"
    assert set(processes) == set(d.deployed_processes())
    assert len(processes["rasa"]) == 2 and len(processes["actions"]) == 2, "scale-out: two of each"
    assert {"nginx", "redis", "postgres"} <= set(compose["services"])


def test_compose_healthchecks_probe_the_process_port(compose):
    for name, service in compose["services"].items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        process = d.compose_process(service)
        if process is None:
            continue
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD"
        target = d.healthcheck_target(test[1:])
        assert target is not None, f"{name}: {test}"
        assert target[0] == int(d.compose_environment(service)[d.port_var(process)]), name
        script = test[2]
        assert script.startswith(d.IMAGE_APP_DIR + "/")
        assert (PROJECT_ROOT / script[len(d.IMAGE_APP_DIR) + 1:]).exists(), script


def test_compose_dependencies_wait_for_healthy_stores(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
    by_process = {d.compose_process(s): s for s in services.values()}
    assert by_process["core_banking"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert by_process["agent_desk"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert by_process["agent_desk"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert by_process["rasa"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_each_compose_process_gets_the_variables_it_reads(compose):
    for name, service in compose["services"].items():
        process = d.compose_process(service)
        if process is None:
            continue
        env = d.compose_environment(service)
        missing = [var for var in d.env_needed(process) if not env.get(var)]
        assert not missing, f"{name} ({process}) would start without {missing}"


def test_compose_urls_reach_the_right_containers(compose):
    services = compose["services"]
    upstreams, servers = d.nginx_config()
    by_process: Dict[str, List[str]] = {}
    for name, service in services.items():
        process = d.compose_process(service)
        if process:
            by_process.setdefault(process, []).append(name)
    env = d.compose_environment(services[by_process["rasa"][0]])

    def reaches(url_var: str, process: str) -> None:
        url = urlsplit(env[url_var])
        port = int(d.compose_environment(services[by_process[process][0]])[d.port_var(process)])
        if url.hostname == "nginx":  # through the load balancer: to every instance
            [server] = [s for s in servers if s.listen == url.port]
            upstream = re.search(r"proxy_pass\s+http://(\w+)", server.locations["/"]).group(1)
            assert sorted(upstreams[upstream]) == sorted((n, port) for n in by_process[process]), url_var
        else:
            assert [url.hostname] == by_process[process] and url.port == port, url_var

    reaches("ACTION_SERVER_URL", "actions")
    reaches("RASA_URL", "rasa")
    reaches("CORE_BANKING_URL", "core_banking")
    reaches("AGENT_DESK_URL", "agent_desk")
    redis = urlsplit(env["REDIS_URL"])
    assert redis.hostname == env["REDIS_HOST"] == "redis" and str(redis.port) == env["REDIS_PORT"]
    assert redis.password == env["REDIS_PASSWORD"]
    postgres = services["postgres"]["environment"]
    for process, var in d.DATABASE_URL_VARS.items():
        url = urlsplit(d.compose_environment(services[by_process[process][0]])[var])
        assert (url.hostname, url.username, url.password) == ("postgres", postgres["POSTGRES_USER"],
                                                              postgres["POSTGRES_PASSWORD"])
    created = re.findall(r"CREATE DATABASE (\w+)", (d.DEPLOY / "postgres" / "init-databases.sql").read_text())
    databases = {postgres["POSTGRES_DB"], *created}
    assert {urlsplit(d.compose_environment(services[by_process[p][0]])[v]).path.lstrip("/")
            for p, v in d.DATABASE_URL_VARS.items()} <= databases


def test_services_accept_the_compose_configuration(monkeypatch, compose):
    from services.agent_desk.config import DeskSettings
    from services.core_banking.config import CoreBankingSettings

    by_process = {d.compose_process(s): s for s in compose["services"].values()}
    _use_env(monkeypatch, d.compose_environment(by_process["core_banking"]))
    core = CoreBankingSettings()
    core.check_secrets()
    assert core.host == "0.0.0.0" and urlsplit(core.sqlalchemy_url).hostname == "postgres"
    _use_env(monkeypatch, d.compose_environment(by_process["agent_desk"]))
    desk = DeskSettings()
    assert desk.problems() == []
    assert desk.host == "0.0.0.0" and urlsplit(desk.effective_redis_url).hostname == "redis"
    assert desk.effective_callback_url == "http://nginx:5005/webhooks/handoff"


def test_only_nginx_is_published_and_it_hides_metrics_and_internal_routes(compose):
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == {"nginx"}, "core banking, the desk, Redis and PostgreSQL stay internal"
    _, servers = d.nginx_config()
    listening = {s.listen for s in servers}
    for mapping in compose["services"]["nginx"]["ports"]:
        assert int(str(mapping).split(":")[-1]) in listening
    [desk_server] = [s for s in servers if "agent_desk" in s.locations.get("/", "")]
    assert "return 404" in desk_server.locations["=/metrics"]
    assert "return 404" in desk_server.locations["/internal/"]
    volumes = compose["services"]["nginx"]["volumes"]
    assert any(v.startswith("./nginx/nginx.conf:/etc/nginx/nginx.conf") for v in volumes)


def test_secrets_come_from_the_environment_file_not_the_compose_file():
    raw = d.compose_raw()
    variables = d.compose_variables(raw)
    required = sorted(name for name, ops in variables.items() if ":?" in ops)
    assert set(required) <= set(d.env_example_keys()), "every required variable is in deploy/env.example"
    for key in d.env_example_keys():
        line = next(l for l in d.ENV_EXAMPLE.read_text().splitlines() if l.startswith(key + "="))
        assert line == key + "=", f"env.example must not carry a value for {key}"
    for service in raw["services"].values():
        for name, value in d.compose_environment(service).items():
            if re.search(r"(SECRET|TOKEN|PASSWORD)$", name):
                assert "${" in value, f"{name} is written into the compose file"
    with pytest.raises(d.InterpolationError):  # a missing secret stops `docker compose`
        d.interpolate_tree(raw, {})


def test_nginx_configuration_is_accepted_by_nginx(tmp_path):
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if not nginx:
        unavailable("nginx is not installed (Debian package `nginx`); the structure is checked above")
    upstreams, _ = d.nginx_config()
    text = d.NGINX_CONF.read_text(encoding="utf-8")
    for host in {host for servers in upstreams.values() for host, _ in servers}:
        text = re.sub(rf"\b{re.escape(host)}:", "127.0.0.1:", text)  # no Docker DNS here
    text = text.replace("/dev/stdout", str(tmp_path / "access.log")).replace("/dev/stderr", str(tmp_path / "error.log"))
    config = tmp_path / "nginx.conf"
    config.write_text(f"pid {tmp_path / 'nginx.pid'};\n" + text, encoding="utf-8")
    result = subprocess.run([nginx, "-t", "-c", str(config), "-p", str(tmp_path), "-e", str(tmp_path / "e.log")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


# -- Dockerfile and entrypoint ------------------------------------------------------------------
def test_dockerfile_builds_one_python_310_image_from_the_lock_file():
    instructions = d.dockerfile_instructions()
    keywords = [i.keyword for i in instructions]
    [base] = [i.value for i in instructions if i.keyword == "FROM"]
    assert re.fullmatch(r"python:3\.10(\.\d+)?-slim(-\w+)?", base), base
    workdir = [i.value for i in instructions if i.keyword == "WORKDIR"][-1]
    assert workdir == d.IMAGE_APP_DIR
    copy_lock = keywords.index("COPY")
    assert instructions[copy_lock].value.split()[0] == "requirements.lock"
    runs = [(n, i.value) for n, i in enumerate(instructions) if i.keyword == "RUN"]
    install = next(n for n, value in runs if "pip install -r requirements.lock" in value)
    assert copy_lock < install < keywords.index("COPY", copy_lock + 1), "deps first, then the code (layer cache)"
    assert instructions[-1].keyword == "CMD" and instructions[-1].json_args()[0] in d.deployed_processes()
    [entrypoint] = [i.json_args() for i in instructions if i.keyword == "ENTRYPOINT"]
    assert entrypoint == [f"{d.IMAGE_APP_DIR}/deploy/entrypoint.sh"]
    assert d.ENTRYPOINT.stat().st_mode & stat.S_IXUSR, "deploy/entrypoint.sh must be executable"
    user = [i.value for i in instructions if i.keyword == "USER"][-1]
    assert not user.startswith(("0", "root")), "processes do not run as root"
    exposed = {int(port) for i in instructions if i.keyword == "EXPOSE" for port in i.value.split()}
    configmap = d.k8s_configmaps()["bank-assistant-config"]
    assert exposed == {int(configmap[d.port_var(p)]) for p in d.deployed_processes()}


def test_the_model_is_baked_in_where_rasa_model_points():
    instructions = d.dockerfile_instructions()
    env = d.dockerfile_env(instructions)
    train = next(i.value for i in instructions if i.keyword == "RUN" and "python -m bot train" in i.value)
    link = re.search(r'ln -sf "\$\(python -m bot model-path\)" (\S+)', train)
    assert link, "the trained model is linked to a fixed name"
    fixed = f"{d.IMAGE_APP_DIR}/{link.group(1)}"
    assert env["RASA_MODEL"] == fixed
    assert d.k8s_configmaps()["bank-assistant-config"]["RASA_MODEL"] == fixed
    for service in d.compose_raw()["services"].values():
        if d.compose_process(service) == "rasa":
            assert d.compose_environment(service)["RASA_MODEL"] == fixed
    assert "--model $RASA_MODEL" in read_procfile()["rasa"]


def test_build_context_keeps_what_the_image_needs_and_drops_local_state():
    patterns = d.dockerignore_patterns()
    kept = [path for path in APP_PATHS_IN_IMAGE if d.dockerignored(path, patterns)]
    assert not kept, f"the build context would lose {kept}"
    for local in (".venv/bin/python", ".git/HEAD", ".run/secrets.env", "test-artifacts/x.png",
                  "services/agent_desk/__pycache__/main.cpython-310.pyc", ".env", "deploy/.env"):
        assert d.dockerignored(local, patterns), f"{local} must not reach the image"


def test_entrypoint_runs_each_procfile_line_with_the_deployment_environment():
    """`entrypoint.sh --print NAME` expands the Procfile line in the environment a container
    gets from the compose file: the module and the port are the process's own."""
    compose = d.interpolate_tree(d.compose_raw(), d.fake_secret_values(d.env_example_keys()))
    for name, service in compose["services"].items():
        process = d.compose_process(service)
        if process is None:
            continue
        env = {"PATH": "/usr/bin:/bin", **d.compose_environment(service)}
        result = subprocess.run(["sh", str(d.ENTRYPOINT), "--print", process], env=env, capture_output=True,
                                text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        argv = result.stdout.splitlines()
        expected = read_procfile()[process].split()
        assert argv[:3] == expected[:3], f"{name}: runs {argv[:3]}, the Procfile says {expected[:3]}"
        assert argv[argv.index("--port") + 1] == env[d.port_var(process)], name
        if process == "rasa":
            assert argv[argv.index("--model") + 1] == env["RASA_MODEL"]
            assert argv[argv.index("--auth-token") + 1] == env["RASA_TOKEN"]
            cors = argv.index("--cors") + 1
            assert argv[cors:cors + len(env["ALLOWED_ORIGINS"].split())] == env["ALLOWED_ORIGINS"].split()
            assert "*" not in argv, f"{name}: a wildcard origin"
            assert argv[argv.index("--credentials") + 1] == "deploy/credentials.yml", name
            assert argv[argv.index("--endpoints") + 1] == "endpoints.yml"


def test_entrypoint_refuses_what_it_cannot_run():
    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(["sh", str(d.ENTRYPOINT), *args], env={"PATH": "/usr/bin:/bin", **env},
                              capture_output=True, text=True, timeout=30)

    unknown = run("--print", "no_such_process")
    assert unknown.returncode == 64 and "actions" in unknown.stderr
    assert run("redis").returncode == 64  # the embedded Redis is for development only
    assert run().returncode == 64
    missing = run("--print", "rasa", RASA_PORT="5005", RASA_TOKEN="t")  # no RASA_MODEL
    assert missing.returncode != 0 and "RASA_MODEL" in missing.stderr


def test_readme_documents_the_descriptors():
    text = d.DEPLOY_README.read_text(encoding="utf-8")
    for mentioned in ("python -m bot train", "python -m bot model-path", "models/bank-", "docker compose",
                      "kubectl", "/metrics", "/ready", "Not covered", "No authentication"):
        assert mentioned in text, mentioned
    for path in sorted(d.K8S_DIR.glob("*.yaml")):
        assert path.name in text, f"deploy/README.md does not mention {path.name}"
    needed = {item["valueFrom"]["secretKeyRef"]["key"]
              for found in d.k8s_workloads_by_process().values() for _, container in found
              for item in container.get("env", []) if "valueFrom" in item
              and not item["valueFrom"]["secretKeyRef"].get("optional")}
    assert needed <= set(d.readme_secret_keys())


def test_nginx_never_logs_query_strings():
    """Rasa's API token and socket.io's customer token travel in query strings (issue 12)."""
    for path in (d.NGINX_CONF, d.DEPLOY / "nginx" / "rasa-scale-out.conf.j2"):
        text = path.read_text(encoding="utf-8")
        formats = re.findall(r"log_format\s+\w+\s+((?:'[^']*'\s*)+);", text)
        assert formats, f"{path.name}: no log_format of its own (nginx's default logs $request)"
        for fmt in formats:
            assert "$request " not in fmt and '$request"' not in fmt and "$args" not in fmt \
                and "$query_string" not in fmt and "$request_uri" not in fmt, (path.name, fmt)
        for line in re.findall(r"^\s*access_log\s+([^;]+);", text, re.M):
            parts = line.split()
            assert parts[0] == "off" or len(parts) >= 2, f"{path.name}: 'access_log {line}' uses the default format"


def test_deployments_use_wechat_safe_mode_by_default():
    services = d.compose_raw()["services"].values()
    modes = [str((s.get("environment") or {}).get("WECHAT_MODE", "")) for s in services if isinstance(s, dict)]
    assert any(modes) and all(m in ("", "${WECHAT_MODE:-safe}") for m in modes), modes
