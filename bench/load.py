"""Load generator: whole banking conversations through the REST channel, side by side with
a stock `rasa init` bot, in one run on one machine.

    .venv/bin/python bench/load.py                                  # everything (about 25 minutes)
    .venv/bin/python bench/load.py --levels 1,10 --duration 5       # short development run
    .venv/bin/python bench/load.py --mode load --bots ours --env SANIC_WORKERS=2   # try a lever
    .venv/bin/python bench/load.py --mode long --long-turns 200 --long-repeats 3

What it starts (and stops at the end):
- ours: the project's stack from the Procfile (core banking, agent desk, action server,
  Rasa with the trained model and as many Sanic workers as `make run` gives it: one per
  core, at most 4; Redis tracker and lock stores) through
  `tests/support/stack.py`, on free ports, with a random Redis key prefix (deleted at the
  end). Redis is the one at 127.0.0.1:6379 (or TEST_REDIS_URL) when reachable, otherwise an
  embedded one. `--env KEY=VALUE` adds environment variables to those processes (e.g.
  `SANIC_WORKERS=2`, `ACTION_SERVER_SANIC_WORKERS=2`, `RASA_ENDPOINTS=/tmp/other.yml`).
- stock: the bot `rasa init --no-prompt` creates and trains, cached per Rasa version under
  `~/.cache/bank-cs-bench/rasa-init-<version>/` (or `--stock-dir`), so only the first run
  trains (1-2 minutes); served with `rasa run --enable-api` on a free port, as shipped
  (in-memory tracker and lock stores, no action server). `--stock-env` as `--env`.
`--variant LABEL:KEY=VALUE[,KEY=VALUE]` (repeatable) starts one more stack of ours with that
environment, shown as `ours[LABEL]` and measured alternately with the others in the same
run, so a lever is compared under the same background load (ratios to ours and to stock).
Or point at servers already running: `--ours-url` (with `--core-banking-url` for the demo
logins) and `--stock-url`.

Mode `load` (per concurrency level, per bot): N virtual customers, each running
conversations one after another (fresh sender id per conversation, one turn at a time,
no think time). Ours: FAQ turns (转账限额, 到账时间, 手续费, 贷款材料, ...), logged-in turns that
run custom actions against core banking (余额, 我的限额, 转账状态; the token of a demo login
C1001-C1003 travels in `metadata.customer_token`) and a conversation that ends with 转人工
(registered at the agent desk) plus one message forwarded to the desk. Stock: greet / mood /
bot-challenge / goodbye conversations. Every reply is checked for an expected phrase, so a
fast wrong answer (e.g. "banking system busy") counts as `wrong`, not as a turn served.
Before the first level every conversation runs once; for ours, until every Sanic worker
has answered every conversation (each answer names its worker, `X-Rasa-Worker`), because
each worker's first TensorFlow call and custom action are slow.
After an unrecorded warm-up of `--warmup` seconds, turns started within `--duration`
seconds are recorded; turns/s = turns answered correctly / time until the last of them
finished. Printed per level: turns/s, p50/p95/p99/max latency (ms), errors (HTTP status
other than 200, timeouts, connection errors), wrong answers, p50 by kind of turn, and the
CPU time (ms) the bot's own processes used per answered turn (from /proc, all workers; on
a shared machine a steadier figure than turns/s); then ours/stock ratios. Each level runs
`--repeats` times (default 2, bots alternating) and the medians are printed.
`--compare-keepalive` also drives every bot with a new TCP connection per request.

Mode `long`: one conversation of `--long-turns` turns (a fixed 10-turn cycle, so turns
1-10 and 191-200 are the same messages), one turn at a time; prints turn 1, turn N, the
median of the first and of the last 10 turns, and the ratio last-10/first-10 (medians over
`--long-repeats` conversations; `--long-bots` picks the bots). With Rasa 3.6's Redis tracker
store a 200-turn conversation of ours takes about 4 minutes (docs/performance.md says why).

`--json FILE` writes every figure. Method and results: docs/performance.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import aiohttp

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from tests.support.net import answers_ok, free_port  # noqa: E402  (after the path above)
from bot.stack import default_sanic_workers  # noqa: E402

REST_PATH = "/webhooks/rest/webhook"
WORKER_HEADER = "X-Rasa-Worker"  # ours, with RASA_WORKER_HEADER=true (bot/rasa_server.py)
WARM_LIMIT_SECONDS = 180.0
DEMO_CUSTOMERS = ("C1001", "C1002", "C1003")
DEMO_PASSWORD = "demo1234"


# -- statistics ----------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks
    (numpy's default 'linear' method). Raises ValueError on an empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass
class Turn:
    """One message sent and its answer, times from time.perf_counter() (seconds)."""

    started: float
    finished: float
    kind: str = ""            # faq / action / handoff / chitchat
    error: str = ""           # transport or HTTP error; empty when answered with 200
    wrong: bool = False       # answered, but without the expected phrase
    worker: str = ""          # ours: the Sanic worker that answered (X-Rasa-Worker, a pid)

    @property
    def latency(self) -> float:
        return self.finished - self.started

    @property
    def ok(self) -> bool:
        return not self.error and not self.wrong


@dataclass
class Summary:
    turns: int                # answered correctly
    errors: int
    wrong: int
    elapsed_s: float
    turns_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    by_kind_p50_ms: Dict[str, float] = field(default_factory=dict)
    # CPU time the bot's own processes used per answered turn, by process (when we started
    # them): independent of what else runs on a shared machine, unlike turns/s.
    cpu_ms_per_turn: Dict[str, float] = field(default_factory=dict)
    # Ours: answered turns per Sanic worker (X-Rasa-Worker), to see how the load is shared.
    turns_by_worker: Dict[str, int] = field(default_factory=dict)


def summarize(turns: Sequence[Turn], window_start: float) -> Summary:
    """Throughput and latency of the turns of one measurement window.

    turns/s counts correctly answered turns over the time from the window's start to the end
    of the last recorded turn (every turn started in the window is waited for). Latency
    percentiles are over correctly answered turns; errors and wrong answers are counted apart.
    """
    good = [t for t in turns if t.ok]
    errors = sum(1 for t in turns if t.error)
    wrong = sum(1 for t in turns if t.wrong and not t.error)
    end = max((t.finished for t in turns), default=window_start)
    elapsed = max(end - window_start, 1e-9)
    latencies = [t.latency * 1000 for t in good]
    if not latencies:
        return Summary(0, errors, wrong, elapsed, 0.0, *(float("nan"),) * 5)
    by_kind: Dict[str, List[float]] = {}
    for t in good:
        by_kind.setdefault(t.kind or "-", []).append(t.latency * 1000)
    return Summary(
        turns=len(good), errors=errors, wrong=wrong, elapsed_s=elapsed,
        turns_per_s=len(good) / elapsed,
        p50_ms=percentile(latencies, 50), p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99), max_ms=max(latencies), mean_ms=statistics.fmean(latencies),
        by_kind_p50_ms={k: percentile(v, 50) for k, v in sorted(by_kind.items())},
        turns_by_worker=dict(sorted(Counter(t.worker for t in good if t.worker).items())),
    )


def median_summary(summaries: Sequence[Summary]) -> Summary:
    """Field-by-field median of repeated measurements (errors, wrong answers and the turns per
    worker: summed)."""
    if len(summaries) == 1:
        return summaries[0]
    med = lambda name: statistics.median(getattr(s, name) for s in summaries)  # noqa: E731
    kinds = sorted({k for s in summaries for k in s.by_kind_p50_ms})
    return Summary(
        turns=int(med("turns")), errors=sum(s.errors for s in summaries), wrong=sum(s.wrong for s in summaries),
        elapsed_s=med("elapsed_s"), turns_per_s=med("turns_per_s"), p50_ms=med("p50_ms"), p95_ms=med("p95_ms"),
        p99_ms=med("p99_ms"), max_ms=med("max_ms"), mean_ms=med("mean_ms"),
        by_kind_p50_ms={k: statistics.median(s.by_kind_p50_ms[k] for s in summaries if k in s.by_kind_p50_ms)
                        for k in kinds},
        cpu_ms_per_turn={k: statistics.median(s.cpu_ms_per_turn[k] for s in summaries if k in s.cpu_ms_per_turn)
                         for k in sorted({k for s in summaries for k in s.cpu_ms_per_turn})},
        turns_by_worker=dict(sorted(sum((Counter(s.turns_by_worker) for s in summaries), Counter()).items())),
    )


def ratio(ours: float, stock: float) -> float:
    return ours / stock if stock else float("nan")


# -- conversations -------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    text: str
    kind: str
    expect: Tuple[str, ...] = ()   # one of these phrases must be in the joined reply text
    allow_empty: bool = False      # e.g. a message forwarded to an agent: no bot reply


@dataclass(frozen=True)
class Script:
    name: str
    steps: Tuple[Step, ...]
    customer: Optional[str] = None  # demo customer whose token goes in the metadata


OURS_SCRIPTS: Tuple[Script, ...] = (
    Script("faq", (
        Step("你好", "chitchat", ("您好",)),
        Step("手机银行转账限额是多少", "faq", ("限额",)),
        Step("实时到账和次日到账有什么区别", "faq", ("到账",)),
        Step("转账要手续费吗", "faq", ("手续费",)),
        Step("申请经营贷要带什么材料", "faq", ("经营贷",)),
        Step("网点几点开门", "faq", ("营业时间",)),
        Step("谢谢", "chitchat", ("不客气",)),
    )),
    Script("my-data", (
        Step("你好", "chitchat", ("您好",)),
        Step("帮我查一下余额", "action", ("您的账户余额",)),
        Step("我的转账限额是多少", "action", ("您目前的转账额度",)),
        Step("我转的钱对方还没收到", "action", ("转给",)),
        Step("办经营贷要准备什么材料", "action", ("经营贷",)),
        Step("谢谢", "chitchat", ("不客气",)),
    ), customer="C1003"),
    Script("to-a-person", (
        Step("你好", "chitchat", ("您好",)),
        Step("我卡里还有多少钱", "action", ("您的账户余额",)),
        Step("转账多久能到账", "faq", ("到账",)),
        Step("转人工", "handoff", ("人工",)),
        Step("还在吗", "forwarded", allow_empty=True),
    ), customer="C1001"),
    Script("my-data-2", (
        Step("我的转账限额是多少", "action", ("您目前的转账额度",)),
        Step("我转的钱对方还没收到", "action", ("转给",)),
        Step("转账要手续费吗", "faq", ("手续费",)),
        Step("帮我查一下余额", "action", ("您的账户余额",)),
    ), customer="C1002"),
)

STOCK_SCRIPTS: Tuple[Script, ...] = (
    Script("happy", (
        Step("hello", "chitchat", ("Hey! How are you?",)),
        Step("I am great", "chitchat", ("Great, carry on!",)),
        Step("bye", "chitchat", ("Bye",)),
    )),
    Script("sad", (
        Step("hi", "chitchat", ("Hey! How are you?",)),
        Step("I am sad", "chitchat", ("Did that help you?",)),
        Step("yes", "chitchat", ("Great, carry on!",)),
        Step("goodbye", "chitchat", ("Bye",)),
    )),
    Script("bot", (
        Step("hey", "chitchat", ("Hey! How are you?",)),
        Step("are you a bot?", "chitchat", ("I am a bot",)),
        Step("good bye", "chitchat", ("Bye",)),
    )),
)

# Long conversations: a 10-turn cycle, so turns 1-10 and 191-200 are the same messages.
OURS_LONG_CYCLE: Tuple[Step, ...] = (
    Step("你好", "chitchat", ("您好",)),
    Step("转账要手续费吗", "faq", ("手续费",)),
    Step("帮我查一下余额", "action", ("您的账户余额",)),
    Step("实时到账和次日到账有什么区别", "faq", ("到账",)),
    Step("我的转账限额是多少", "action", ("您目前的转账额度",)),
    Step("网点几点开门", "faq", ("营业时间",)),
    Step("我转的钱对方还没收到", "action", ("转给",)),
    Step("贷款利率是多少", "faq", ("利率",)),
    Step("办经营贷要准备什么材料", "action", ("经营贷",)),
    Step("谢谢", "chitchat", ("不客气",)),
)
OURS_LONG_CUSTOMER = "C1003"
STOCK_LONG_CYCLE: Tuple[Step, ...] = (
    STOCK_SCRIPTS[0].steps + STOCK_SCRIPTS[1].steps + STOCK_SCRIPTS[2].steps
)


@dataclass
class Target:
    """One bot to drive: where its REST channel is, its conversations, demo tokens."""

    name: str
    url: str
    scripts: Tuple[Script, ...]
    long_cycle: Tuple[Step, ...]
    long_customer: Optional[str] = None
    core_banking_url: Optional[str] = None
    tokens: Dict[str, str] = field(default_factory=dict)
    # process name -> pid of a session leader whose whole session is that process (workers too)
    processes: Dict[str, int] = field(default_factory=dict)
    keepalive: bool = True     # reuse the client's TCP connections (HTTP keep-alive)
    workers: int = 1           # Rasa's Sanic workers (SANIC_WORKERS), each warmed before measuring

    def refresh_tokens(self) -> None:
        """Demo logins (tokens live 30 minutes: refreshed before every level)."""
        import requests

        if not self.core_banking_url:
            return
        needed = {s.customer for s in self.scripts if s.customer} | ({self.long_customer} - {None})
        for customer in sorted(needed):
            response = requests.post(f"{self.core_banking_url}/auth/login",
                                     json={"username": customer, "password": DEMO_PASSWORD}, timeout=10)
            response.raise_for_status()
            self.tokens[customer] = response.json()["access_token"]


def _reply_text(messages: object) -> str:
    if not isinstance(messages, list):
        return ""
    return "\n".join(str(m.get("text") or "") for m in messages if isinstance(m, dict))


async def send(session: aiohttp.ClientSession, target: Target, sender: str, step: Step,
               customer: Optional[str], samples: Optional[List[str]] = None) -> Turn:
    body: Dict[str, object] = {"sender": sender, "message": step.text}
    if customer:
        body["metadata"] = {"customer_token": target.tokens[customer]}
    started = time.perf_counter()
    error, wrong, text, worker = "", False, "", ""
    try:
        async with session.post(target.url + REST_PATH, json=body) as response:
            worker = response.headers.get(WORKER_HEADER, "")
            if response.status != 200:
                error = f"HTTP {response.status}"
                await response.read()
            else:
                text = _reply_text(await response.json(content_type=None))
    except asyncio.TimeoutError:
        error = "timeout"
    except (aiohttp.ClientError, ValueError) as exc:
        error = type(exc).__name__
    finished = time.perf_counter()
    if not error:
        if not text:
            wrong = not step.allow_empty
        elif step.expect:
            wrong = not any(phrase in text for phrase in step.expect)
    if (error or wrong) and samples is not None and len(samples) < 5:
        samples.append(f"{target.name} {step.text!r}: {error or 'unexpected reply ' + repr(text[:120])}")
    return Turn(started, finished, step.kind, error, wrong, worker)


def new_session(concurrency: int, timeout: float, keepalive: bool = True) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=max(concurrency, 1) + 4, force_close=not keepalive)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout))


# -- load mode -----------------------------------------------------------------------------
@dataclass
class LevelResult:
    bot: str
    concurrency: int
    summary: Summary
    repeats: List[Summary] = field(default_factory=list)
    samples: List[str] = field(default_factory=list)


async def _drive(target: Target, concurrency: int, seconds: float, timeout: float, keepalive: bool,
                 samples: List[str]) -> Tuple[List[Turn], float]:
    """N customers, conversations back to back, for `seconds`; returns turns and window start."""
    turns: List[Turn] = []
    run_id = uuid.uuid4().hex[:8]
    async with new_session(concurrency, timeout, keepalive) as session:
        start = time.perf_counter()
        deadline = start + seconds

        async def customer(index: int) -> None:
            conversation = 0
            while time.perf_counter() < deadline:
                script = target.scripts[(index + conversation) % len(target.scripts)]
                sender = f"load-{run_id}-{index}-{conversation}"
                conversation += 1
                for step in script.steps:
                    if time.perf_counter() >= deadline:
                        return
                    turns.append(await send(session, target, sender, step, script.customer, samples))

        await asyncio.gather(*(customer(i) for i in range(concurrency)))
    return turns, start


def run_level(target: Target, concurrency: int, duration: float, warmup: float = 2.0,
              timeout: float = 30.0) -> LevelResult:
    """One measurement at one concurrency (blocking; starts its own event loop)."""
    keepalive = target.keepalive
    target.refresh_tokens()
    samples: List[str] = []
    if warmup > 0:
        asyncio.run(_drive(target, concurrency, warmup, timeout, keepalive, []))
    cpu_before = cpu_seconds(target.processes)
    turns, start = asyncio.run(_drive(target, concurrency, duration, timeout, keepalive, samples))
    cpu_after = cpu_seconds(target.processes)
    summary = summarize(turns, start)
    if summary.turns:
        summary.cpu_ms_per_turn = cpu_per_turn(cpu_before, cpu_after, summary.turns + summary.wrong + summary.errors)
    return LevelResult(target.name, concurrency, summary, samples=samples)


def cpu_seconds(sessions: Dict[str, int]) -> Dict[str, float]:
    """user+system CPU seconds so far of every live process in each session (Linux /proc)."""
    if not sessions:
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    totals = {name: 0.0 for name in sessions}
    by_sid = {sid: name for name, sid in sessions.items()}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "pid (comm)": state ppid pgrp session ... utime(12) stime(13)
        name = by_sid.get(int(fields[3]))
        if name is not None:
            totals[name] += (int(fields[11]) + int(fields[12])) / tick
    return totals


def cpu_per_turn(before: Dict[str, float], after: Dict[str, float], turns: int) -> Dict[str, float]:
    per = {name: (after[name] - before.get(name, 0.0)) * 1000 / turns for name in after}
    if per:
        per["total"] = sum(per.values())
    return per


# -- long-conversation mode ----------------------------------------------------------------
@dataclass
class LongResult:
    bot: str
    turns: int
    turn1_ms: float
    turnN_ms: float
    first10_ms: float
    last10_ms: float
    ratio: float              # last10 / first10
    ratio_single: float       # turnN / turn1
    errors: int
    wrong: int
    samples: List[str] = field(default_factory=list)


async def _long_conversation(target: Target, turns: int, timeout: float, samples: List[str]) -> List[Turn]:
    sender = f"long-{uuid.uuid4().hex[:12]}"
    out: List[Turn] = []
    async with new_session(1, timeout) as session:
        for index in range(turns):
            step = target.long_cycle[index % len(target.long_cycle)]
            out.append(await send(session, target, sender, step, target.long_customer, samples))
    return out


def long_figures(latencies_ms: Sequence[Sequence[float]], window: int = 10) -> Dict[str, float]:
    """Turn 1, turn N, first-window and last-window medians of each conversation, then the
    median of each over the conversations."""
    first = [lat[0] for lat in latencies_ms]
    last = [lat[-1] for lat in latencies_ms]
    first_w = [statistics.median(lat[:window]) for lat in latencies_ms]
    last_w = [statistics.median(lat[-window:]) for lat in latencies_ms]
    figures = {
        "turn1_ms": statistics.median(first), "turnN_ms": statistics.median(last),
        "first10_ms": statistics.median(first_w), "last10_ms": statistics.median(last_w),
    }
    figures["ratio"] = ratio(figures["last10_ms"], figures["first10_ms"])
    figures["ratio_single"] = ratio(figures["turnN_ms"], figures["turn1_ms"])
    return figures


def run_long(target: Target, turns: int, repeats: int, timeout: float = 30.0) -> LongResult:
    samples: List[str] = []
    runs: List[List[Turn]] = []
    for _ in range(repeats):
        target.refresh_tokens()
        runs.append(asyncio.run(_long_conversation(target, turns, timeout, samples)))
    figures = long_figures([[t.latency * 1000 for t in run] for run in runs])
    return LongResult(target.name, turns, errors=sum(1 for r in runs for t in r if t.error),
                      wrong=sum(1 for r in runs for t in r if t.wrong and not t.error), samples=samples, **figures)


# -- the processes -------------------------------------------------------------------------
def base_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false", "PYTHONUNBUFFERED": "1"})
    return env


def default_stock_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "bank-cs-bench" / f"rasa-init-{package_version('rasa')}"


def ensure_stock_bot(directory: Path) -> Path:
    """The `rasa init --no-prompt` project with its trained model; trains only when missing."""
    if list((directory / "models").glob("*.tar.gz")):
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rasa-init-", dir=directory.parent))
    print(f"[stock] no cached stock bot: `rasa init --no-prompt` in {work} (trains, 1-2 minutes) ...", flush=True)
    started = time.monotonic()
    log_path = work.parent / (work.name + ".log")
    with open(log_path, "w") as log:
        result = subprocess.run([sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(work)],
                                cwd=work, env=base_env(), stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0 or not list((work / "models").glob("*.tar.gz")):
        raise RuntimeError(f"rasa init failed ({result.returncode}); log: {log_path}")
    print(f"[stock] trained in {time.monotonic() - started:.0f} s", flush=True)
    if directory.exists():
        shutil.rmtree(directory)
    work.rename(directory)
    log_path.rename(directory / "rasa-init.log")
    return directory


class StockServer:
    """`rasa run --enable-api` of the stock bot on a free port."""

    def __init__(self, directory: Path, log_dir: Path, extra_env: Dict[str, str]) -> None:
        self.directory, self.port = directory, free_port()
        self.log = log_dir / "stock-rasa.log"
        self.extra_env = extra_env
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        model = sorted((self.directory / "models").glob("*.tar.gz"))[-1]
        env = {**base_env(), **self.extra_env}
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rasa", "run", "--enable-api", "--port", str(self.port), "--model", str(model)],
                cwd=self.directory, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not answers_ok(self.url + "/", self.process, 300, interval=0.5):
            state = "exited" if self.process.poll() is not None else "not up after 300 s"
            raise RuntimeError(f"stock rasa at {self.url} {state}; log: {self.log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


def project_model(explicit: Optional[str]) -> Path:
    """--model, else the model for the current training inputs, else the newest one."""
    from bot import model_cache
    from bot.settings import MODELS_DIR

    if explicit:
        return Path(explicit).resolve()
    current = model_cache.model_path()
    if current.exists():
        return current
    models = sorted(MODELS_DIR.glob(f"{model_cache.MODEL_NAME_PREFIX}*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit(f"no trained model ({current.name} missing): run `python -m bot train` or pass --model")
    print(f"[ours] {current.name} (current training inputs) is not trained; using the newest model, "
          f"{models[-1].name}", flush=True)
    return models[-1]


class OursStack:
    """The project's Procfile processes via tests/support/stack.py, logs in `run_dir/logs`.

    Every stack of one run starts the Procfile as it was when the run began (`procfile`),
    so an edit of the Procfile during a run cannot make variants differ in more than their
    environment.
    """

    PROCESSES = ["core_banking", "agent_desk", "actions", "rasa"]

    def __init__(self, run_dir: Path, model: Path, extra_env: Dict[str, str],
                 procfile: Optional[Dict[str, str]] = None) -> None:
        from tests.support import stack as support

        if procfile is not None:
            support.read_procfile = lambda *_: dict(procfile)
        # A hex token: build_stack's token_urlsafe() may begin with "-", which `rasa run
        # --auth-token` then takes for an option (the stack fails to start).
        # As `make run` starts it: one Sanic worker per core (bot/stack.py) unless the variant
        # says otherwise; each answer names its worker so the warm-up can reach every one.
        self.stack = support.build_stack(run_dir, extra_env={
            "RASA_MODEL": str(model), "RASA_TOKEN": secrets.token_hex(24),
            "SANIC_WORKERS": str(default_sanic_workers()), "RASA_WORKER_HEADER": "true", **extra_env})
        self.workers = int(self.stack.env["SANIC_WORKERS"])
        self.stack.log_dir = run_dir / "logs"

    def start(self) -> None:
        self.stack.start(self.PROCESSES)

    def stop(self) -> None:
        self.stack.stop_all()
        self.delete_redis_keys()

    def delete_redis_keys(self) -> None:
        import redis

        try:
            client = redis.Redis.from_url(self.stack.env["REDIS_URL"], socket_timeout=5)
            keys = list(client.scan_iter(self.stack.key_prefix + "*", count=1000))
            for chunk in range(0, len(keys), 500):
                client.delete(*keys[chunk:chunk + 500])
        except Exception as exc:  # a cleanup failure must not hide the figures
            print(f"[ours] could not delete Redis keys {self.stack.key_prefix}*: {exc}", flush=True)


# -- reporting -----------------------------------------------------------------------------
def fmt(value: float, digits: int = 0) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"


def print_level_table(results: Sequence[LevelResult]) -> None:
    width = max([6] + [len(r.bot) for r in results])
    print(f"{'bot':<{width}} {'conc':>4} {'turns':>6} {'turns/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7} {'errors':>6} {'wrong':>5} {'CPU ms/turn':>11}  p50 by kind (ms)")
    for r in results:
        s = r.summary
        kinds = " ".join(f"{k}={fmt(v)}" for k, v in s.by_kind_p50_ms.items())
        print(f"{r.bot:<{width}} {r.concurrency:>4} {s.turns:>6} {fmt(s.turns_per_s, 1):>8} {fmt(s.p50_ms):>7} "
              f"{fmt(s.p95_ms):>7} {fmt(s.p99_ms):>7} {fmt(s.max_ms):>7} {s.errors:>6} {s.wrong:>5} {fmt(s.cpu_ms_per_turn.get('total', float('nan'))):>11}  {kinds}")
    if any(r.summary.cpu_ms_per_turn for r in results):
        print("CPU ms per answered turn, by process: " + "; ".join(
            f"{r.bot} c={r.concurrency} " + " ".join(f"{k}={fmt(v, 1)}" for k, v in r.summary.cpu_ms_per_turn.items())
            for r in results if r.summary.cpu_ms_per_turn))
    if any(r.summary.turns_by_worker for r in results):
        print("answered turns per Sanic worker: " + "; ".join(
            f"{r.bot} c={r.concurrency} " + " ".join(f"{w}={n}" for w, n in r.summary.turns_by_worker.items())
            for r in results if r.summary.turns_by_worker))
    for r in results:
        for sample in r.samples:
            print(f"  ! c={r.concurrency} {sample}")


def print_ratios(results: Sequence[LevelResult]) -> Dict[str, Dict[int, Dict[str, float]]]:
    """ours/stock for ours and each variant; each variant against what it varies
    (ours[x]/ours, ours[x][client-no-keepalive]/ours[x], stock[...]/stock)."""
    by = {(r.bot, r.concurrency): r.summary for r in results}
    ratios: Dict[str, Dict[int, Dict[str, float]]] = {}
    bots = list(dict.fromkeys(r.bot for r in results))
    pairs = [(b, "stock") for b in bots if b.startswith("ours")]
    pairs += [(b, b[:b.rindex("[")]) for b in bots if b.endswith("]")]
    for top, bottom in pairs:
        for c in sorted({r.concurrency for r in results}):
            if (top, c) in by and (bottom, c) in by:
                o, s = by[(top, c)], by[(bottom, c)]
                entry = {"turns_per_s": ratio(o.turns_per_s, s.turns_per_s), "p95": ratio(o.p95_ms, s.p95_ms)}
                ratios.setdefault(f"{top}/{bottom}", {})[c] = entry
                print(f"{top}/{bottom} at concurrency {c:>2}: turns/s x{fmt(entry['turns_per_s'], 2)}, "
                      f"p95 x{fmt(entry['p95'], 2)}")
    return ratios


def print_long(results: Sequence[LongResult]) -> None:
    for r in results:
        print(f"{r.bot:<14} {r.turns} turns: turn 1 {fmt(r.turn1_ms)} ms, turn {r.turns} {fmt(r.turnN_ms)} ms "
              f"(x{fmt(r.ratio_single, 2)}); first 10 median {fmt(r.first10_ms)} ms, last 10 median "
              f"{fmt(r.last10_ms)} ms (x{fmt(r.ratio, 2)}); errors {r.errors}, wrong {r.wrong}")
        for sample in r.samples:
            print(f"  ! {sample}")


def machine_info() -> Dict[str, object]:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "rasa": package_version("rasa"),
            "rasa_sdk": package_version("rasa-sdk"), "loadavg": os.getloadavg()}


# -- CLI -------------------------------------------------------------------------------------
def parse_env(pairs: Sequence[str]) -> Dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--env expects KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("load", "long", "both"), default="both")
    parser.add_argument("--bots", default="ours,stock", help="comma-separated: ours, stock")
    parser.add_argument("--levels", default="1,10,50", help="concurrency levels, comma-separated")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=3.0, help="unrecorded seconds before each level")
    parser.add_argument("--repeats", type=int, default=2, help="measurements per level; medians printed")
    parser.add_argument("--long-turns", type=int, default=200)
    parser.add_argument("--long-repeats", type=int, default=1, help="200-turn conversations per bot")
    parser.add_argument("--long-bots", help="bots for the long mode, e.g. 'ours,stock' (default: all started)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--no-keepalive", action="store_true", help="new TCP connection for every request")
    parser.add_argument("--compare-keepalive", action="store_true",
                        help="also drive every bot with a new TCP connection per request, as `<bot>[client-no-keepalive]`")
    parser.add_argument("--model", help="project model (default: the current one from bot.model_cache)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for our processes (repeatable)")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL:KEY=VALUE[,KEY=VALUE]",
                        help="also start ours with this environment, measured alternately (repeatable)")
    parser.add_argument("--stock-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--stock-dir", type=Path, default=None, help="cache of the `rasa init` bot")
    parser.add_argument("--ours-url", help="use this running Rasa instead of starting the stack")
    parser.add_argument("--core-banking-url", help="with --ours-url: where to log the demo customers in")
    parser.add_argument("--stock-url", help="use this running stock Rasa instead of starting one")
    parser.add_argument("--json", type=Path, help="write all figures to this file")
    parser.add_argument("--label", default="", help="a name for this run in the output")
    args = parser.parse_args(argv)

    bots = [b.strip() for b in args.bots.split(",") if b.strip()]
    levels = [int(c) for c in args.levels.split(",") if c.strip()]
    run_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    (run_dir / "logs").mkdir()  # the stock server's log; each stack of ours logs in its own folder
    info = machine_info()
    print(f"[bench] {args.label or 'run'}: {info['cpus']} CPUs ({info['cpu']}), rasa {info['rasa']}, "
          f"rasa-sdk {info['rasa_sdk']}, load average {info['loadavg']}; logs in {run_dir / 'logs'}", flush=True)
    print(f"[bench] ours env: {parse_env(args.env) or '-'}; stock env: {parse_env(args.stock_env) or '-'}; "
          f"client keep-alive: {not args.no_keepalive}", flush=True)

    # ours (and its variants: the same stack with other environment variables) and stock.
    ours_stacks: List[Tuple[str, Dict[str, str]]] = []
    if "ours" in bots:
        ours_stacks.append(("ours", parse_env(args.env)))
    for variant in args.variant:
        label, sep, pairs = variant.partition(":")
        if not sep or not label:
            raise SystemExit(f"--variant expects LABEL:KEY=VALUE[,KEY=VALUE...], got {variant!r}")
        ours_stacks.append((f"ours[{label}]", {**parse_env(args.env), **parse_env(pairs.split(","))}))
    from bot.stack import read_procfile

    procfile = read_procfile()
    if ours_stacks:
        print(f"[bench] ours: rasa process `{procfile['rasa'].split(' --model')[0]}`, "
              f"actions `{procfile['actions'].split(' --actions')[0]}` (Procfile as of now)", flush=True)
    targets: Dict[str, Target] = {}
    stoppers: List[Callable[[], None]] = []
    try:
        if "stock" in bots:
            if args.stock_url:
                url = args.stock_url.rstrip("/")
            else:
                directory = ensure_stock_bot(args.stock_dir or default_stock_dir())
                server = StockServer(directory, run_dir / "logs", parse_env(args.stock_env))
                started = time.monotonic()
                server.start()
                stoppers.append(server.stop)
                print(f"[stock] rasa run up at {server.url} in {time.monotonic() - started:.0f} s", flush=True)
                url = server.url
            targets["stock"] = Target("stock", url, STOCK_SCRIPTS, STOCK_LONG_CYCLE,
                                      processes={"rasa": server.process.pid} if not args.stock_url else {})
        for name, env in ours_stacks:
            processes: Dict[str, int] = {}
            workers = 1  # a server already running: warmed like the stock bot
            if args.ours_url and name == "ours":
                url, core = args.ours_url.rstrip("/"), args.core_banking_url
                if not core:
                    raise SystemExit("--ours-url needs --core-banking-url for the demo logins")
            else:
                model = project_model(args.model)
                stack_dir = run_dir / name.replace("[", "-").replace("]", "")
                stack_dir.mkdir()
                ours = OursStack(stack_dir, model, env, procfile)
                started = time.monotonic()
                try:
                    ours.start()
                finally:
                    stoppers.append(ours.stop)
                print(f"[{name}] stack up ({model.name}, Redis {ours.stack.env['REDIS_URL']}, env {env or '-'}) "
                      f"in {time.monotonic() - started:.0f} s; logs in {ours.stack.log_dir}", flush=True)
                url, core = ours.stack.rasa_url, ours.stack.url("core_banking")
                processes = {n: p.pid for n, p in ours.stack.processes.items()}
                workers = ours.workers
            targets[name] = Target(name, url, OURS_SCRIPTS, OURS_LONG_CYCLE, OURS_LONG_CUSTOMER, core,
                                   processes=processes, workers=workers)
        for target in targets.values():
            target.keepalive = not args.no_keepalive
        if args.compare_keepalive:
            for name, target in list(targets.items()):
                copy = Target(**{**vars(target), "name": f"{name}[client-no-keepalive]", "keepalive": False,
                                 "tokens": target.tokens})
                targets[copy.name] = copy
        # Ours first in every table; stock last.
        targets = dict(sorted(targets.items(), key=lambda item: (item[0].startswith("stock"), item[0])))

        # Warm-up: every conversation once, so first-request costs are not measured; ours
        # (several Sanic workers) until every worker has answered every conversation.
        for target in targets.values():
            target.refresh_tokens()
            if target.workers > 1:
                counts = asyncio.run(_warm_every_worker(target, target.workers, args.timeout))
                print(f"[{target.name}] warmed {len(counts)} workers: {counts}", flush=True)
                continue
            for script in target.scripts:
                asyncio.run(_drive_one(target, script, args.timeout))

        output: Dict[str, object] = {"label": args.label, "machine": info, "args": vars(args), "procfile": procfile}
        if args.mode in ("load", "both"):
            results: List[LevelResult] = []
            for concurrency in levels:
                per_bot: Dict[str, List[LevelResult]] = {name: [] for name in targets}
                for _ in range(args.repeats):
                    for name, target in targets.items():
                        result = run_level(target, concurrency, args.duration, args.warmup, args.timeout)
                        per_bot[name].append(result)
                        s = result.summary
                        print(f"[{name}] c={concurrency}: {s.turns_per_s:.1f} turns/s, p50 {fmt(s.p50_ms)} ms, "
                              f"p95 {fmt(s.p95_ms)} ms, errors {s.errors}, wrong {s.wrong}, CPU ms/turn "
                              f"{fmt(s.cpu_ms_per_turn.get('total', float('nan')), 1)}", flush=True)
                for name, runs in per_bot.items():
                    results.append(LevelResult(name, concurrency, median_summary([r.summary for r in runs]),
                                               [r.summary for r in runs], [x for r in runs for x in r.samples]))
            print(f"\n== load: {args.duration:g} s per level, {args.repeats} repeat(s), medians ==")
            print_level_table(results)
            output["load"] = [asdict(r) for r in results]
            output["ratios"] = print_ratios(results)
        if args.mode in ("long", "both"):
            wanted = [b.strip() for b in args.long_bots.split(",") if b.strip()] if args.long_bots else None
            long_results = []
            for name, target in targets.items():
                if (wanted is None or name in wanted) and "[client-no-keepalive]" not in name:
                    started = time.monotonic()
                    long_results.append(run_long(target, args.long_turns, args.long_repeats, args.timeout))
                    r = long_results[-1]
                    print(f"[{name}] long: first 10 {fmt(r.first10_ms)} ms, last 10 {fmt(r.last10_ms)} ms "
                          f"(x{fmt(r.ratio, 2)}) in {time.monotonic() - started:.0f} s", flush=True)
            print(f"\n== long conversation: {args.long_turns} turns, median of {args.long_repeats} conversation(s) ==")
            print_long(long_results)
            output["long"] = [asdict(r) for r in long_results]
        output["loadavg_end"] = os.getloadavg()
        print(f"[bench] load average at the end {output['loadavg_end']}")
        if args.json:
            args.json.write_text(json.dumps(output, indent=2, ensure_ascii=False, default=str))
            print(f"[bench] figures written to {args.json}")
    finally:
        for stop in reversed(stoppers):
            stop()
    shutil.rmtree(run_dir, ignore_errors=True)
    return 0


async def _drive_one(target: Target, script: Script, timeout: float,
                     session: Optional[aiohttp.ClientSession] = None) -> List[Turn]:
    sender = f"warmup-{uuid.uuid4().hex[:12]}"
    if session is None:
        async with new_session(1, timeout) as own:
            return await _drive_one(target, script, timeout, own)
    return [await send(session, target, sender, step, script.customer) for step in script.steps]


async def _warm_every_worker(target: Target, workers: int, timeout: float,
                             limit_seconds: float = WARM_LIMIT_SECONDS) -> Dict[str, int]:
    """Every conversation answered by every Sanic worker at least once (each worker's first
    TensorFlow call and first custom action are slow). New connections for every conversation,
    so the kernel spreads them over the workers; returns conversations answered per worker."""
    served: Dict[str, Set[int]] = {}
    deadline = time.monotonic() + limit_seconds
    async with new_session(workers * 2, timeout, keepalive=False) as session:
        while time.monotonic() < deadline:
            done = [worker for worker, scripts in served.items() if len(scripts) == len(target.scripts)]
            if len(done) >= workers:
                break
            runs = [(index, _drive_one(target, script, timeout, session))
                    for index, script in enumerate(target.scripts) for _ in range(2)]
            results = await asyncio.gather(*(run for _, run in runs))
            for (index, _), turns in zip(runs, results):
                for turn in turns:
                    if turn.worker and not turn.error:
                        served.setdefault(turn.worker, set()).add(index)
    counts = {worker: len(scripts) for worker, scripts in served.items()}
    if sum(1 for n in counts.values() if n == len(target.scripts)) < workers:
        print(f"[{target.name}] warm-up: not every worker answered every conversation within "
              f"{limit_seconds:.0f} s ({counts}); measuring anyway", flush=True)
    return counts


if __name__ == "__main__":
    sys.exit(main())
