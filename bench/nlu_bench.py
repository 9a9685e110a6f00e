"""Training time and NLU parse latency of the trained model.

    .venv/bin/python bench/nlu_bench.py [--train] [--runs 300]

Loads the current model (bot.model_cache) in-process with Rasa's Agent, parses a fixed
mix of customer messages (short, long elderly-style, Traditional, full-width) and prints
p50/p95/max parse latency. With --train it first retrains from scratch in a temp folder
and prints the wall-clock training time. Figures go into docs/performance.md.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import model_cache  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402

MESSAGES = [
    "手机银行转账限额是多少",
    "我是退休的老人，手机上不太会弄，想给我儿子转五千块钱过去，怎么老是提示超过限额啊，我该怎么办才好",
    "請問網上銀行轉賬限額是多少",
    "ＡＴＭ一天能取多少钱",
    "申请经营贷要带什么材料",
    "实时到账和次日到账有什么区别",
    "我的信用卡丢了",
    "转人工",
    "你好",
    "今天天气怎么样",
]


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def time_training() -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain", "domain.yml",
                        "--data", *model_cache.TRAINING_DATA, "--out", out, "--quiet"],
                       cwd=PROJECT_ROOT, check=True, capture_output=True)
        return time.monotonic() - started


async def time_parsing(runs: int) -> list:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa logs every parse at debug level otherwise

    agent = Agent.load(str(model_cache.ensure_trained()))
    for message in MESSAGES:  # warm-up
        await agent.parse_message(message)
    timings = []
    for i in range(runs):
        started = time.perf_counter()
        await agent.parse_message(MESSAGES[i % len(MESSAGES)])
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", action="store_true", help="also time a full training from scratch")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    if args.train:
        print(f"training time (from scratch, 2 cores): {time_training():.0f} s")
    timings = asyncio.run(time_parsing(args.runs))
    print(f"NLU parse latency over {len(timings)} messages: p50 {statistics.median(timings):.1f} ms, "
          f"p95 {percentile(timings, 0.95):.1f} ms, max {max(timings):.1f} ms")


if __name__ == "__main__":
    main()
