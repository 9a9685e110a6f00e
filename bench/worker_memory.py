"""Resident memory of the Rasa server per Sanic worker count (issue 13 item 2).

For each SANIC_WORKERS value, starts the Procfile's `rasa` line (with the action server and
core banking, as tests/support/stack.py starts them: free ports, an isolated Redis prefix),
waits until every worker answers, sends a few turns through the REST channel to each worker,
and prints the memory of the Rasa parent process and of each worker (psutil):

  RSS  resident set size, as `ps` shows it: pages shared with the parent after Sanic's fork
       (the imported libraries) count in every process that maps them;
  PSS  proportional set size: shared pages divided among the processes sharing them, so the
       PSS of all processes adds up to what they take from the machine;
  USS  unique set size: what the process alone holds (what stopping it would free).

    PYTHONPATH=$PWD .venv/bin/python bench/worker_memory.py                 # 1, 2 and 4 workers
    PYTHONPATH=$PWD .venv/bin/python bench/worker_memory.py --workers 2 --turns 20 --json /tmp/mem.json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List

import psutil
import requests

from bot import model_cache
from bot.stack import available_cores, default_sanic_workers
from tests.support.stack import ARTIFACTS, RunningStack, build_stack

MB = 1024 * 1024
QUESTIONS = ["你好", "手机银行转账限额是多少", "跨行转账收费吗", "网点几点开门", "新卡怎么激活"]


def memory(process: psutil.Process) -> Dict[str, float]:
    info = process.memory_full_info()
    return {"pid": process.pid, "rss_mb": info.rss / MB, "pss_mb": info.pss / MB, "uss_mb": info.uss / MB}


def rasa_processes(stack: RunningStack) -> "tuple[psutil.Process, List[psutil.Process]]":
    """The Rasa parent (the Procfile line's process) and its Sanic workers (forked: the same
    command line). With one worker Sanic serves in the parent itself: no children."""
    parent = psutil.Process(stack.processes["rasa"].pid)
    children = [child for child in parent.children(recursive=False) if child.cmdline() == parent.cmdline()]
    return parent, sorted(children, key=lambda p: p.pid)


def warm_every_worker(stack: RunningStack, workers: int, turns: int, timeout: float) -> Dict[str, int]:
    """Turns on fresh connections until every worker answered `turns` of them."""
    served: Dict[str, int] = {}
    deadline = time.monotonic() + timeout
    number = 0
    while len(served) < workers or min(served.values()) < turns:
        if time.monotonic() > deadline:
            raise TimeoutError(f"workers {served} after {timeout}s\n" + stack.log_tail("rasa"))
        response = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", timeout=60,
                                 headers={"Connection": "close"},
                                 json={"sender": f"mem-{uuid.uuid4().hex[:10]}", "message": QUESTIONS[number % len(QUESTIONS)]})
        response.raise_for_status()
        worker = response.headers["X-Rasa-Worker"]
        served[worker] = served.get(worker, 0) + 1
        number += 1
    return served


def measure(workers: int, turns: int, timeout: float) -> Dict[str, object]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"worker-memory-{workers}-"))
    stack = build_stack(run_dir, extra_env={"SANIC_WORKERS": str(workers), "RASA_WORKER_HEADER": "true"})
    stack.log_dir = ARTIFACTS / "logs" / f"bench-worker-memory-{workers}"
    started = time.monotonic()
    try:
        stack.start(["core_banking", "actions", "rasa"])
        served = warm_every_worker(stack, workers, turns, timeout)
        ready_seconds = time.monotonic() - started
        time.sleep(2)
        parent, children = rasa_processes(stack)
        figures = {"workers": workers, "ready_seconds": round(ready_seconds, 1), "turns_per_worker": served,
                   "parent": memory(parent), "workers_memory": [memory(child) for child in children]}
    finally:
        stack.stop_all()
    everything = [figures["parent"], *figures["workers_memory"]]
    for kind in ("rss_mb", "pss_mb", "uss_mb"):
        figures[f"total_{kind}"] = sum(item[kind] for item in everything)
    return figures


def print_figures(figures: Dict[str, object]) -> None:
    def row(name: str, item: Dict[str, float]) -> str:
        return f"  {name:<10} pid {item['pid']:>7}  RSS {item['rss_mb']:7.0f} MB  PSS {item['pss_mb']:7.0f} MB  USS {item['uss_mb']:7.0f} MB"

    print(f"SANIC_WORKERS={figures['workers']} (every worker answered after {figures['ready_seconds']} s; "
          f"turns per worker {figures['turns_per_worker']})")
    print(row("parent" if figures["workers_memory"] else "worker", figures["parent"]))
    for number, item in enumerate(figures["workers_memory"], 1):
        print(row(f"worker {number}", item))
    print(f"  {'total':<10} {'':>11}  RSS {figures['total_rss_mb']:7.0f} MB  PSS {figures['total_pss_mb']:7.0f} MB  "
          f"USS {figures['total_uss_mb']:7.0f} MB", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated SANIC_WORKERS values (default 1,2,4)")
    parser.add_argument("--turns", type=int, default=5, help="REST turns each worker answers before measuring")
    parser.add_argument("--timeout", type=float, default=480, help="seconds for every worker to answer")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if not model_cache.model_path().exists():
        print(f"no trained model at {model_cache.model_path()}: run `python -m bot train`", file=sys.stderr)
        return 1
    total = psutil.virtual_memory().total / MB
    print(f"machine: {available_cores()} cores, {total:.0f} MB RAM; `make run` default SANIC_WORKERS="
          f"{default_sanic_workers()}; model {model_cache.model_path().name}", flush=True)
    results = []
    for workers in [int(value) for value in args.workers.split(",")]:
        figures = measure(workers, args.turns, args.timeout)
        print_figures(figures)
        results.append(figures)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
