"""Where the time goes in a py-spy profile of the live Rasa server (`py-spy record -f raw`).

    py-spy record -p <worker pid> -d 30 -r 100 -f raw -o worker.txt --nonblocking
    python bench/profile_summary.py worker.txt [more.txt ...] [--top 25] [--under TEXT]

Prints the share of samples (inclusive: a frame and everything it calls) for the parts of a
turn named in PARTS, then the functions with the most inclusive samples. Threads waiting for
work are left out (with --nonblocking py-spy cannot tell that they are idle).
"""
from __future__ import annotations

import argparse
import collections
from pathlib import Path
from typing import Counter, Dict, Iterable, List, Tuple

# A part of a turn -> substrings of a frame ("function (module.py:line)") that mark it.
PARTS: Dict[str, Tuple[str, ...]] = {
    "NLU parse (whole)": ("parse_message (rasa/core/processor.py",),
    "  DIET": ("process (rasa/nlu/classifiers/diet_classifier.py",),
    "  spaCy": ("process (rasa/nlu/utils/spacy_utils.py", "process_training_data (rasa/nlu/utils/spacy_utils.py"),
    "  jieba tokenizer": ("jieba_tokenizer.py",),
    "  count vectors": ("count_vectors_featurizer.py",),
    "  our NLU components": ("bot/nlu/",),
    "prediction (whole)": ("_predict_next_with_tracker (",),
    "  TEDPolicy": ("predict_action_probabilities (rasa/core/policies/ted_policy.py",),
    "  RulePolicy": ("predict_action_probabilities (rasa/core/policies/rule_policy.py",),
    "  MemoizationPolicy": ("predict_action_probabilities (rasa/core/policies/memoization.py",),
    "  HandoffTriggerPolicy": ("predict_action_probabilities (bot/policies.py",),
    "  TensorFlow call machinery": ("_maybe_define_function", "_call_flat", "convert_inputs_to_signature",
                                     "_cast_inputs"),
    "running actions": ("_run_action (rasa/core/processor.py",),
    "  remote (custom) actions": ("run (rasa/core/actions/action.py:7",),
    "tracker store: retrieve": ("retrieve (bot/tracker_store.py", "retrieve_full_tracker"),
    "tracker store: save": ("save (bot/tracker_store.py", "save_tracker (rasa/core/processor.py"),
    "lock store": ("lock_store.py", "bot/rasa_server.py:2"),
    "Redis client (sync)": ("redis/connection.py", "redis/client.py"),
    "  HTTP to the action server (aiohttp)": ("aiohttp/",),
    "JSON": ("json/encoder.py", "json/decoder.py", "ujson", "orjson"),
    "suggested replies": ("bot/suggestions.py",),
    "several questions (planning)": ("plan (bot/several_questions.py",),
}


# Threads waiting for work: with --nonblocking py-spy cannot tell they are idle.
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py:81)", "wait (threading.py:")


def read_raw(paths: Iterable[Path]) -> List[Tuple[List[str], int]]:
    """The stacks and their sample counts, without those of idle threads."""
    stacks: List[Tuple[List[str], int]] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            if stack and count.isdigit() and not frames[-1].startswith(IDLE_LEAVES):
                stacks.append((frames, int(count)))
    return stacks


def inclusive_shares(stacks: List[Tuple[List[str], int]]) -> Tuple[int, Dict[str, int], Counter]:
    total = sum(count for _, count in stacks)
    parts = dict.fromkeys(PARTS, 0)
    functions: Counter = collections.Counter()
    for frames, count in stacks:
        for part, marks in PARTS.items():
            if any(mark in frame for frame in frames for mark in marks):
                parts[part] += count
        for frame in set(frames):
            functions[frame] += count
    return total, parts, functions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--under", help="only stacks with a frame containing this text, e.g. "
                        "'handle_message (rasa/core/agent.py' (leaves out model loading)")
    args = parser.parse_args()
    stacks = read_raw(args.profiles)
    if args.under:
        stacks = [(frames, count) for frames, count in stacks if any(args.under in frame for frame in frames)]
    total, parts, functions = inclusive_shares(stacks)
    if not total:
        print("no samples")
        return 1
    print(f"{total} samples")
    for part, count in parts.items():
        print(f"{100.0 * count / total:6.1f} %  {part}")
    print(f"\ntop {args.top} frames (inclusive):")
    for frame, count in functions.most_common(args.top):
        print(f"{100.0 * count / total:6.1f} %  {frame[:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
