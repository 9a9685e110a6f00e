"""`python -m bot.content <command>`: tools for the content team (guide: docs/content-guide.md).

  check   Rasa's validator + the project's lint (duplicates, too few examples, responses,
          entities, Traditional/full-width characters, unused entity patterns). Exit 1 on errors.
  report  evaluate the current model on tests/nlu/test_data.yml; HTML report in reports/nlu/
  mine    what real customers asked that the bot could not answer (Redis or exported logs); CSV
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from bot.content.project import DEFAULT_ROOT, ProjectPaths


def _paths(args: argparse.Namespace) -> ProjectPaths:
    return ProjectPaths(Path(args.root).resolve())


def cmd_check(args: argparse.Namespace) -> int:
    from bot.content.check import print_result, run_check

    result = run_check(_paths(args), with_rasa=not args.no_rasa, min_examples=args.min_examples,
                       near_duplicate_jaccard=args.jaccard)
    print_result(result, as_json=args.json)
    if args.strict and result.warnings:
        return 1
    return 0 if result.ok else 1


def cmd_report(args: argparse.Namespace) -> int:
    from bot.content.report import ReportOptions, run_report

    options = ReportOptions(
        paths=_paths(args),
        out_dir=Path(args.out),
        model=Path(args.model) if args.model else None,
        test_data=Path(args.test_data) if args.test_data else None,
        cross_validation=args.cross_validation,
        folds=args.folds,
        baseline=Path(args.baseline) if args.baseline else None,
        train=not args.no_train,
    )
    return run_report(options)


def cmd_mine(args: argparse.Namespace) -> int:
    from bot.content.mine import MineOptions, run_mine

    options = MineOptions(
        paths=_paths(args),
        out_dir=Path(args.out),
        events=[Path(p) for p in args.events or []],
        redis_url=args.redis_url,
        key_prefix=args.key_prefix,
        threshold=args.threshold,
        distance=args.distance,
        unanswered_intents=[s for s in args.unanswered_intents.split(",") if s],
        since=args.since,
    )
    return run_mine(options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.content", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(DEFAULT_ROOT), help="project folder (default: this repo)")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="validate and lint the content files")
    check.add_argument("--no-rasa", action="store_true", help="skip `rasa data validate` (lint only, ~1 s)")
    check.add_argument("--min-examples", type=int, default=25, help="minimum examples per intent (25)")
    check.add_argument("--jaccard", type=float, default=0.9,
                       help="char-bigram Jaccard at which examples of two intents count as near duplicates (0.9)")
    check.add_argument("--strict", action="store_true", help="also fail on warnings")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(func=cmd_check)

    report = commands.add_parser("report", help="evaluate the NLU model, write reports/nlu/index.html")
    report.add_argument("--model", help="model .tar.gz (default: the current one, trained if missing)")
    report.add_argument("--test-data", help="held-out test set (default tests/nlu/test_data.yml)")
    report.add_argument("--out", default="reports/nlu", help="output folder (default reports/nlu)")
    report.add_argument("--cross-validation", action="store_true",
                        help="also run k-fold cross-validation on data/nlu (trains k models: slow)")
    report.add_argument("--folds", type=int, default=3, help="folds for --cross-validation (3)")
    report.add_argument("--baseline", help="summary JSON to compare with (default reports/nlu/previous.json)")
    report.add_argument("--no-train", action="store_true", help="fail instead of training when no model exists")
    report.set_defaults(func=cmd_report)

    mine = commands.add_parser("mine", help="find unanswered questions in real conversations")
    mine.add_argument("--events", nargs="+", metavar="FILE",
                      help="exported event logs / tracker dumps (JSON or JSON lines) instead of Redis")
    mine.add_argument("--redis-url", help="redis://host:port/db (default: REDIS_URL, else the embedded Redis)")
    mine.add_argument("--key-prefix", help="Redis key prefix (default: REDIS_KEY_PREFIX or csbot)")
    mine.add_argument("--threshold", type=float, default=0.6,
                      help="messages whose top intent confidence is below this count as unanswered (0.6)")
    mine.add_argument("--distance", type=float, default=0.85,
                      help="cosine distance threshold for grouping similar questions (0.85; lower = tighter groups)")
    mine.add_argument("--unanswered-intents", default="nlu_fallback,out_of_scope",
                      help="comma-separated intents that mean 'not answered' (nlu_fallback,out_of_scope)")
    mine.add_argument("--since", help="only conversations from this date on (YYYY-MM-DD)")
    mine.add_argument("--out", default="reports/mine", help="output folder for the CSV files (reports/mine)")
    mine.set_defaults(func=cmd_mine)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "out", None) and not Path(args.out).is_absolute():
        args.out = str(Path(args.root).resolve() / args.out)  # reports/... inside the project
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
