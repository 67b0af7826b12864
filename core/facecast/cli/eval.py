"""``facecast eval``: quality metrics of the animators on a corpus's held-out voices (DESIGN.md definitions)."""

from __future__ import annotations

import argparse
import json
import sys

from facecast.errors import InvalidInput

EVAL_ANIMATORS = ("energy", "phonetic-recognition", "phonetic-alignment", "phonetic-given")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="measure bilabial closure, curve error, blinks and head jitter")
    parser.add_argument("corpus", help="corpus folder made by `facecast corpus build`")
    parser.add_argument("--limit", type=int, default=60, help="held-out items to use (default 60)")
    parser.add_argument("--animators", default=",".join(EVAL_ANIMATORS),
                        help=f"comma-separated, from: {', '.join(EVAL_ANIMATORS)}")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from facecast.fileio import atomic_write_text
    from facecast.train.evaluate import evaluate_items
    from facecast.train.evaluation_runs import animate_functions, heldout_items

    names = [n.strip() for n in args.animators.split(",") if n.strip()]
    unknown = set(names) - set(EVAL_ANIMATORS)
    if unknown:
        raise InvalidInput(f"unknown animator(s) for eval: {', '.join(sorted(unknown))}")
    items = heldout_items(args.corpus, args.limit)
    results = evaluate_items(items, {n: animate_functions()[n] for n in names})
    print(f"{len(items)} held-out items, {sum(i.info['duration'] for i in items) / 60:.1f} min", file=sys.stderr)
    print(f"{'animator':24} {'closure':>8} {'curve err':>10} {'blinks/min':>11} {'head jitter':>12}")
    for name, r in results.items():
        print(f"{name:24} {r['bilabial_closure']:8.3f} {r['curve_error']:10.4f} {r['blinks_per_minute']:11.1f} "
              f"{r['head_jitter']:12.6f}")
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0
