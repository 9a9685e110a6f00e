"""`mine` on conversations recorded by driving the REAL bot (Rasa server + Redis tracker store).

Starts `python -m rasa run` with the project's model on a free port, its tracker store in
Redis under a random `csbottest<hex>` prefix (127.0.0.1:6379, or an embedded Redis when none
is running there), sends customer messages through the REST channel, then mines Redis.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
import warnings

import pytest

from bot.content.mine import conversations_from_redis, mine, training_texts
from bot.content.project import ProjectPaths
from bot.redis_setup import embedded_server_command, port_is_open

from tests.content.conftest import PROJECT_ROOT, real_nlu_files
from tests.support.net import free_port

FLIGHT = ["帮我订一张去上海的机票", "我想订机票", "机票怎么订", "请问可以帮我订机票吗", "订一张明天的飞机票"]
WEATHER = ["今天天气怎么样", "明天天气如何", "你知道天气预报吗", "查一下今天的天气"]
BANKING = ["我的银行卡丢了", "转账限额是多少", "你好"]

pytestmark = [
    pytest.mark.uses_model,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(not real_nlu_files() or not (PROJECT_ROOT / "domain.yml").exists(),
                       reason="real NLU data / domain.yml not written yet"),
]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def redis_port(tmp_path):
    if port_is_open("127.0.0.1", 6379):
        yield 6379
        return
    port = free_port()
    proc = subprocess.Popen(embedded_server_command(port, tmp_path / "redis"), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not port_is_open("127.0.0.1", port):
        assert time.monotonic() < deadline and proc.poll() is None, "embedded Redis did not start"
        time.sleep(0.2)
    yield port
    _stop(proc)


def _post(url: str, payload: dict, timeout: float = 120) -> list:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"[]")


def test_paraphrases_of_unanswered_questions_are_grouped(tmp_path, redis_port):
    import redis

    from bot import model_cache

    model = model_cache.ensure_trained()
    prefix = f"csbottest{uuid.uuid4().hex[:12]}"
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: redis\n  url: 127.0.0.1\n  port: {redis_port}\n"
                         f"  db: 0\n  key_prefix: {prefix}\n", encoding="utf-8")
    port, token = free_port(), uuid.uuid4().hex
    log = (tmp_path / "rasa.log").open("w")
    rasa = subprocess.Popen(
        [sys.executable, "-m", "rasa", "run", "--model", str(model), "--port", str(port), "--enable-api",
         "--auth-token", token, "--endpoints", str(endpoints), "--credentials", "credentials.yml"],
        cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false",
             "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "REDIS_KEY_PREFIX": prefix})
    client = redis.Redis(host="127.0.0.1", port=redis_port)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 900
        while True:
            assert rasa.poll() is None, (tmp_path / "rasa.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Rasa did not load the model in time"
            try:
                with urllib.request.urlopen(f"{base}/status?token={token}", timeout=5) as response:
                    if json.loads(response.read()).get("model_file"):
                        break
            except OSError:
                pass
            time.sleep(2)
        # Three customers; paraphrases spread over them, mixed with questions the bot can answer.
        customers = [FLIGHT[0::2] + WEATHER[0::2] + BANKING[:1], FLIGHT[1::2] + BANKING[1:], WEATHER[1::2]]
        for n, messages in enumerate(customers):
            for text in messages:
                _post(f"{base}/webhooks/rest/webhook", {"sender": f"{prefix}-c{n}", "message": text})

        conversations = conversations_from_redis(f"redis://127.0.0.1:{redis_port}/0", prefix)
        assert {c.sender_id for c in conversations} == {f"{prefix}-c{n}" for n in range(3)}
        result = mine(conversations, background=training_texts(ProjectPaths(PROJECT_ROOT)))
    finally:
        _stop(rasa)
        log.close()
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)

    parsed = {e["text"]: (e["parse_data"]["intent"]["name"], round(e["parse_data"]["intent"]["confidence"], 2))
              for c in conversations for e in c.events if e.get("event") == "user"}
    found = {u["text"]: u for u in result["unanswered"]}
    # A paraphrase the model confidently maps to a real intent leaves no trace of being
    # unanswered (e.g. 你知道天气预报吗 -> bot_challenge): mining cannot list it. That is a
    # finding for the NLU data, reported here; the grouping is asserted on what was listed.
    answered = {t: parsed.get(t) for t in FLIGHT + WEATHER if t not in found}
    if answered:
        warnings.warn(f"paraphrases the bot answered with a real intent (add them to out_of_scope?): {answered}")
    flight_found = [t for t in FLIGHT if t in found]
    weather_found = [t for t in WEATHER if t in found]
    assert len(flight_found) >= 3 and len(weather_found) >= 3, (answered, parsed)
    flight = {found[t]["cluster"] for t in flight_found}
    weather = {found[t]["cluster"] for t in weather_found}
    assert len(flight) == 1, [(t, found[t]["cluster"]) for t in flight_found]
    assert len(weather) == 1, [(t, found[t]["cluster"]) for t in weather_found]
    assert flight != weather
    clusters = {c["cluster"]: c for c in result["clusters"]}
    assert clusters[flight.pop()]["count"] == len(flight_found)
    assert clusters[weather.pop()]["count"] == len(weather_found)
    assert not any(t in found for t in ("我的银行卡丢了", "转账限额是多少")), parsed  # answered banking questions
