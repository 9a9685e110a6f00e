"""Rasa's CPU per turn, in process, for variants of ours measured alternately (the steadier figure).

`bench/load.py` measures the whole stack over HTTP, and on this shared 2-core machine its
figures move by ±10 % from one repeat to the next: too much to see a lever worth 5 %. Here each
variant (an environment, e.g. RASA_SPEEDUPS_OFF=rule_index) is one process that loads the model
as the Rasa server does (bot/rasa_server.install(), endpoints.yml: the Redis tracker and lock
stores, the action server over HTTP) and plays bench/load.py's conversations one turn after
another through `Agent.handle_message`; the process's CPU time (all its threads: TensorFlow's
too) is divided by the turns. The variants are loaded side by side and measured in turn, round
after round, so a slower quarter of an hour hits them alike. The rest of the stack (action
server, core banking, agent desk, Redis) runs as `make run` starts it.

    PYTHONPATH=$PWD .venv/bin/python bench/turn_cpu.py --variant before:RASA_SPEEDUPS_OFF=rule_index \\
        [--variant base@../base-checkout:] [--turns 22] [--rounds 40] [--json results/bench/turn-cpu.json]

`LABEL@TREE:` runs the code of another checkout of the project (a git worktree of an earlier
commit, say) on the same model, to measure a change that has no switch.

Prints the CPU ms per turn of each variant over all its rounds, its ratio to `ours`, and the
median of its round-by-round ratios (the two agree when the machine's drift is evened out).
Every reply is checked as bench/load.py checks it; a wrong one is counted and printed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import DEMO_PASSWORD, OURS_SCRIPTS, Script, _reply_text, parse_env  # noqa: E402

# Messages forwarded to an agent are the connector's work, not Rasa's: left out here.
SCRIPTS: List[Script] = [Script(s.name, tuple(step for step in s.steps if step.kind != "forwarded"), s.customer)
                         for s in OURS_SCRIPTS]


PROTOCOL = "@@turn-cpu "  # the child's answers on stdout start with this


# -- the child: one variant, loaded once, measured on request --------------------------------
async def _play(agent, turns: int, tokens: Dict[str, str]) -> Dict[str, float]:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    wrong: List[str] = []
    done = 0
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    while done < turns:
        for script in SCRIPTS:
            sender = f"turn-cpu-{uuid.uuid4().hex[:12]}"
            metadata = {"customer_token": tokens[script.customer]} if script.customer else None
            for step in script.steps:
                output = CollectingOutputChannel()
                await agent.handle_message(UserMessage(step.text, output, sender_id=sender, metadata=metadata))
                text = _reply_text(output.messages)
                if step.expect and not any(phrase in text for phrase in step.expect):
                    wrong.append(f"{step.text!r}: {text[:80]!r}")
                done += 1
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started_wall
    return {"turns": done, "cpu_ms": 1000 * cpu / done, "wall_ms": 1000 * wall / done,
            "wrong": len(wrong), "wrong_samples": wrong[:3]}


def child(turns: int, tokens: Dict[str, str], model: str) -> None:
    os.chdir(ROOT)
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # Logging as `rasa run` sets it up (LOG_LEVEL, INFO by default): the same cost per turn.
    configure_logging_and_warnings(None, None, warn_only_once=True, filter_repeated_logs=True)
    configure_structlog(None)
    from bot import rasa_server

    rasa_server.install()
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints

    async def main() -> None:
        endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
        agent = await load_agent(model_path=model, endpoints=endpoints)
        await _play(agent, len(SCRIPTS) * 6, tokens)  # warm-up: TensorFlow's first calls, pools
        print(PROTOCOL + "ready", flush=True)
        for line in sys.stdin:
            if line.strip() != "round":
                break
            print(PROTOCOL + json.dumps(await _play(agent, turns, tokens)), flush=True)

    asyncio.run(main())


# -- the parent: the stack, the variants, the rounds -----------------------------------------
def demo_tokens(core_banking_url: str) -> Dict[str, str]:
    import requests

    tokens = {}
    for customer in sorted({s.customer for s in SCRIPTS if s.customer}):
        response = requests.post(f"{core_banking_url}/auth/login",
                                 json={"username": customer, "password": DEMO_PASSWORD}, timeout=10)
        response.raise_for_status()
        tokens[customer] = response.json()["access_token"]
    return tokens


def start_variant(label: str, env: Dict[str, str], turns: int, tokens: Dict[str, str], log: Path,
                  model: Path, tree: Path = ROOT) -> subprocess.Popen:
    """One variant's process; `tree`: another checkout of the project whose code it runs (the
    same model, this file copied in), e.g. the commit before a change."""
    if tree != ROOT:
        shutil.copy(__file__, tree / "bench" / "turn_cpu.py")
    command = [sys.executable, str(tree / "bench" / "turn_cpu.py"), "--child", "--turns", str(turns),
               "--tokens", json.dumps(tokens), "--model", str(model)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
                               env={**env, "PYTHONPATH": str(tree)}, cwd=tree)
    if _answer(process) != "ready":
        raise SystemExit(f"variant {label} did not start (exit {process.wait()}); its log: {log}")
    return process


def _answer(process: subprocess.Popen) -> str:
    """The child's next answer (Rasa's own log lines on stdout are skipped)."""
    for line in process.stdout:  # type: ignore[union-attr]
        if line.startswith(PROTOCOL):
            return line[len(PROTOCOL):].strip()
    return ""


def measure(process: subprocess.Popen) -> Dict[str, float]:
    process.stdin.write("round\n")  # type: ignore[union-attr]
    process.stdin.flush()  # type: ignore[union-attr]
    answer = _answer(process)
    if not answer:
        raise SystemExit(f"a variant stopped (exit {process.wait()})")
    return json.loads(answer)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL:KEY=VALUE[,KEY=VALUE]",
                        help="a variant of ours besides `ours` (everything on); repeatable")
    parser.add_argument("--turns", type=int, default=22, help="turns per round (22: each conversation once)")
    parser.add_argument("--rounds", type=int, default=40,
                        help="rounds; short rounds, alternated, so the machine's drifting speed hits every variant alike")
    parser.add_argument("--verbose", action="store_true", help="print every round")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tokens", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--model", help="the model (default: the current one of this checkout)")
    args = parser.parse_args(argv)
    if args.child:
        child(args.turns, json.loads(args.tokens), args.model)
        return 0

    from bot.model_cache import model_path
    from tests.support import stack as support

    variants: List[tuple] = [("ours", {}, ROOT)]
    for variant in args.variant:
        label, sep, pairs = variant.partition(":")
        label, _, tree = label.partition("@")
        if not sep or not label:
            raise SystemExit(f"--variant expects LABEL[@TREE]:KEY=VALUE[,KEY=VALUE...], got {variant!r}")
        variants.append((label, parse_env([p for p in pairs.split(",") if p]), Path(tree).resolve() if tree else ROOT))
    model = Path(args.model) if args.model else model_path()
    run_dir = Path(tempfile.mkdtemp(prefix="bench-turn-cpu-"))
    stack = support.build_stack(run_dir, extra_env={"RASA_MODEL": str(model)})
    stack.log_dir = run_dir / "logs"
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    stack.start(["core_banking", "agent_desk", "actions"])
    processes: Dict[str, subprocess.Popen] = {}
    results: Dict[str, List[Dict[str, float]]] = {label: [] for label, _, _ in variants}
    try:
        tokens = demo_tokens(stack.url("core_banking"))
        for label, extra, tree in variants:
            processes[label] = start_variant(label, {**stack.env, **extra}, args.turns, tokens,
                                             run_dir / "logs" / f"{label}.log", model, tree)
            print(f"[turn-cpu] {label} loaded ({extra or 'everything on'}{', code of ' + str(tree) if tree != ROOT else ''})",
                  flush=True)
        for round_number in range(1, args.rounds + 1):
            for label, _, _ in variants:
                figures = measure(processes[label])
                results[label].append(figures)
                if figures["wrong"] or args.verbose:
                    print(f"[turn-cpu] round {round_number} {label}: {figures['cpu_ms']:.2f} ms CPU/turn, "
                          f"{figures['wall_ms']:.2f} ms wall/turn, {figures['wrong']} wrong "
                          f"{figures['wrong_samples'] or ''}", flush=True)
    finally:
        for process in processes.values():
            process.stdin.close()  # type: ignore[union-attr]
            process.wait(timeout=60)
        stack.stop_all()
    print(f"\n{'variant':<24} {'CPU ms/turn':>12} {'× ours':>7} {'× ours by round: median':>24} {'wrong':>6}")
    summary = {}
    for label, extra, tree in variants:
        rounds = results[label]
        cpu = sum(r["cpu_ms"] * r["turns"] for r in rounds) / sum(r["turns"] for r in rounds)
        ours = sum(r["cpu_ms"] * r["turns"] for r in results["ours"]) / sum(r["turns"] for r in results["ours"])
        by_round = statistics.median(r["cpu_ms"] / o["cpu_ms"] for r, o in zip(rounds, results["ours"]))
        wrong = sum(r["wrong"] for r in rounds)
        summary[label] = {"env": extra, "tree": str(tree), "cpu_ms_per_turn": cpu, "ratio_to_ours": cpu / ours,
                          "median_ratio_by_round": by_round, "rounds": rounds}
        print(f"{label:<24} {cpu:>12.2f} {cpu / ours:>7.3f} {by_round:>24.3f} {wrong:>6}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
