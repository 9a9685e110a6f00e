"""The load generator (bench/load.py): its statistics on synthetic data, and a very short
run against the real stack (zero errors, sensible figures)."""
from __future__ import annotations

import math

import pytest

import os

from bench.load import (OURS_LONG_CUSTOMER, OURS_LONG_CYCLE, OURS_SCRIPTS, Summary, Target, Turn, cpu_per_turn,
                        cpu_seconds, long_figures, median_summary, percentile, ratio, run_level, summarize)


def test_percentile_interpolates_between_closest_ranks_like_numpy():
    values = [float(v) for v in range(1, 101)]          # 1..100, shuffled order must not matter
    shuffled = values[::2] + values[1::2]
    assert percentile(shuffled, 50) == pytest.approx(50.5)
    assert percentile(shuffled, 95) == pytest.approx(95.05)
    assert percentile(shuffled, 99) == pytest.approx(99.01)
    assert percentile(shuffled, 0) == 1 and percentile(shuffled, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([10.0, 20.0], 50) == 15.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_counts_correct_turns_over_the_window_and_keeps_errors_apart():
    # 100 turns, one every 0.1 s, each taking 50 ms except every 10th taking 250 ms,
    # plus one HTTP error and one wrong answer that must not count as served.
    start = 1000.0
    turns = [Turn(start + i * 0.1, start + i * 0.1 + (0.25 if i % 10 == 9 else 0.05), kind="faq")
             for i in range(100)]
    turns.append(Turn(start + 1.0, start + 1.01, kind="faq", error="HTTP 500"))
    turns.append(Turn(start + 2.0, start + 2.02, kind="action", wrong=True))
    summary = summarize(turns, window_start=start)
    assert summary.turns == 100 and summary.errors == 1 and summary.wrong == 1
    # the last turn (i=99, slow) ends at 9.9 + 0.25 = 10.15 s after the window start
    assert summary.elapsed_s == pytest.approx(10.15)
    assert summary.turns_per_s == pytest.approx(100 / 10.15)
    assert summary.p50_ms == pytest.approx(50)
    assert summary.p95_ms == pytest.approx(250)          # 10 % of the turns are slow
    assert summary.max_ms == pytest.approx(250)
    assert summary.mean_ms == pytest.approx(70)
    assert summary.by_kind_p50_ms == {"faq": pytest.approx(50)}


def test_summary_of_only_failures_has_no_latency_and_no_throughput():
    summary = summarize([Turn(0.0, 0.1, error="timeout")], window_start=0.0)
    assert summary.turns == 0 and summary.errors == 1 and summary.turns_per_s == 0
    assert math.isnan(summary.p95_ms)


def test_repeats_are_combined_by_median_and_errors_are_summed():
    def s(tps, p95, errors):
        return Summary(10, errors, 0, 1.0, tps, 10.0, p95, 300.0, 400.0, 20.0, {"faq": p95})

    combined = median_summary([s(10, 100, 0), s(30, 300, 1), s(20, 200, 2)])
    assert combined.turns_per_s == 20 and combined.p95_ms == 200 and combined.errors == 3
    assert combined.by_kind_p50_ms == {"faq": 200}
    assert ratio(30, 10) == 3 and math.isnan(ratio(1, 0))


def test_long_figures_compare_the_first_and_last_ten_turns():
    slow_growth = [float(10 + i) for i in range(200)]   # turn i takes 10 + i ms
    figures = long_figures([slow_growth, slow_growth])
    assert figures["turn1_ms"] == 10 and figures["turnN_ms"] == 209
    assert figures["first10_ms"] == pytest.approx(14.5) and figures["last10_ms"] == pytest.approx(204.5)
    assert figures["ratio"] == pytest.approx(204.5 / 14.5)


def test_cpu_per_turn_is_the_cpu_time_used_in_the_window_divided_by_the_turns():
    per = cpu_per_turn({"rasa": 10.0, "actions": 1.0}, {"rasa": 12.0, "actions": 1.5}, turns=100)
    assert per == {"rasa": pytest.approx(20.0), "actions": pytest.approx(5.0), "total": pytest.approx(25.0)}
    # this test's own session has used some CPU; an unknown session none
    used = cpu_seconds({"me": os.getsid(0), "nobody": 2 ** 22 + 12345})
    assert used["me"] > 0 and used["nobody"] == 0


def test_the_long_cycle_repeats_every_ten_turns():
    # so turns 1-10 and 191-200 of a 200-turn conversation are the same messages
    assert len(OURS_LONG_CYCLE) == 10 and OURS_LONG_CUSTOMER


@pytest.mark.stack
def test_smoke_two_seconds_at_concurrency_two_against_the_stack(stack):
    target = Target("ours", stack.rasa_url, OURS_SCRIPTS, OURS_LONG_CYCLE, OURS_LONG_CUSTOMER,
                    stack.url("core_banking"), processes={name: p.pid for name, p in stack.processes.items()})
    result = run_level(target, concurrency=2, duration=2.0, warmup=0.5, timeout=30)
    s = result.summary
    assert s.errors == 0 and s.wrong == 0, result.samples
    assert s.turns >= 4 and 0 < s.turns_per_s < 1000
    assert 0 < s.p50_ms <= s.p95_ms <= s.p99_ms <= s.max_ms < 30_000
    assert {"faq", "action"} <= set(s.by_kind_p50_ms)
    # Rasa itself does work on every turn: its CPU time per turn is measured and positive
    assert s.cpu_ms_per_turn["rasa"] > 0 and s.cpu_ms_per_turn["total"] >= s.cpu_ms_per_turn["rasa"]
