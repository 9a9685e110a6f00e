"""How long until an agent sees a new handoff: POST /internal/handoffs -> visible via REST and via the live stream.

    .venv/bin/python bench/handoff_visibility.py                 # starts its own desk (temp SQLite, test Redis)
    .venv/bin/python bench/handoff_visibility.py -n 200
    .venv/bin/python bench/handoff_visibility.py --url http://127.0.0.1:8002 \\
        --service-token "$AGENT_DESK_SERVICE_TOKEN" --username agent1 --password agent1-demo

For each run: open handoff registered -> time until (a) GET /api/handoffs?status=waiting lists it
(polled every --poll-ms) and (b) the WebSocket /api/live delivers its `handoff_created` event.
Prints median / p95 / max in milliseconds. A measurement, not a test: nothing is asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import requests
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.services.agent_desk.harness import DeskProcess, RecordingServer, RedisForTests, handoff_body  # noqa: E402


def percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


async def measure(url: str, service_token: str, agent_token: str, runs: int, poll_ms: float, close_after: bool):
    rest_ms: List[float] = []
    live_ms: List[float] = []
    service = {"Authorization": f"Bearer {service_token}"}
    agent = {"Authorization": f"Bearer {agent_token}"}
    http = requests.Session()
    async with websockets.connect(url.replace("http", "ws", 1) + "/api/live") as ws:
        await ws.send(json.dumps({"type": "auth", "token": agent_token}))
        assert json.loads(await ws.recv())["type"] == "ready"
        for _ in range(runs):
            body = handoff_body(conversation_id="bench-" + secrets.token_hex(6))
            start = time.perf_counter()

            async def live_seen() -> float:
                while True:
                    event = json.loads(await ws.recv())
                    if event.get("type") == "handoff_created" and event.get("conversation_id") == body["conversation_id"]:
                        return (time.perf_counter() - start) * 1000

            live_task = asyncio.create_task(live_seen())
            response = await asyncio.to_thread(http.post, url + "/internal/handoffs", json=body, headers=service,
                                               timeout=10)
            response.raise_for_status()
            hid = response.json()["id"]

            def rest_seen() -> float:
                while True:
                    items = http.get(url + "/api/handoffs", params={"status": "waiting"}, headers=agent, timeout=10).json()
                    if any(i["id"] == hid for i in items):
                        return (time.perf_counter() - start) * 1000
                    time.sleep(poll_ms / 1000)

            rest_ms.append(await asyncio.to_thread(rest_seen))
            live_ms.append(await asyncio.wait_for(live_task, 10))
            if close_after:  # keep the queue short so runs are comparable
                await asyncio.to_thread(http.post, f"{url}/api/handoffs/{hid}/close", json={"back_to_bot": False},
                                        headers=agent, timeout=10)
    return rest_ms, live_ms


def report(name: str, values: List[float]) -> None:
    print(f"{name:<24} n={len(values):<4} median={statistics.median(values):7.1f} ms  "
          f"p95={percentile(values, 95):7.1f} ms  max={max(values):7.1f} ms")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=50)
    parser.add_argument("--url", help="a running desk; default: start one")
    parser.add_argument("--service-token")
    parser.add_argument("--username", default="agent1")
    parser.add_argument("--password", default="agent1-demo")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="REST polling interval")
    parser.add_argument("--keep", action="store_true", help="do not close the handoffs created")
    args = parser.parse_args(argv)

    desk = redis_server = recorder = None
    try:
        if args.url:
            if not args.service_token:
                parser.error("--service-token is required with --url")
            url, service_token = args.url.rstrip("/"), args.service_token
        else:
            tmp = Path(tempfile.mkdtemp(prefix="desk-bench-"))
            redis_server = RedisForTests(tmp / "redis")
            recorder = RecordingServer()
            desk = DeskProcess.configure(redis_url=redis_server.url, database_url=f"sqlite:///{tmp / 'desk.db'}",
                                         callback_url=recorder.base_url, run_dir=tmp, name="bench").start()
            url, service_token = desk.url, desk.env["AGENT_DESK_SERVICE_TOKEN"]
            print(f"started a desk at {url} (SQLite in {tmp}, Redis {redis_server.url}, prefix {desk.prefix})")
        login = requests.post(url + "/api/auth/login", json={"username": args.username, "password": args.password},
                              timeout=10)
        login.raise_for_status()
        rest_ms, live_ms = asyncio.run(measure(url, service_token, login.json()["access_token"], args.runs,
                                               args.poll_ms, not args.keep))
        report("REST (GET /api/handoffs)", rest_ms)
        report("live stream (WebSocket)", live_ms)
    finally:
        if desk:
            desk.stop()
            import redis

            client = redis.Redis.from_url(redis_server.url)
            keys = list(client.scan_iter(match=f"{desk.prefix}:*"))
            if keys:
                client.delete(*keys)
        if recorder:
            recorder.stop()
        if redis_server:
            redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
