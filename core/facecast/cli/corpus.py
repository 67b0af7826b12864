"""``facecast corpus build``: the synthetic speech corpus (TTS voices, exact phone timings, teacher curves)."""

from __future__ import annotations

import argparse
import os
import sys

from tqdm import tqdm


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("corpus", help="build the synthetic speech corpus for training")
    actions = parser.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="synthesise speech with phone timings and teacher motion curves")
    build.add_argument("--hours", type=float, default=5.0, help="hours of audio to build (default 5)")
    build.add_argument("--out", required=True, help="output folder (shards + manifest.json)")
    build.add_argument("--seed", type=int, default=0, help="random seed: same seed, same corpus")
    build.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    build.set_defaults(run=run_build)


def run_build(args: argparse.Namespace) -> int:
    from facecast.train.corpus import build_corpus

    with tqdm(total=round(args.hours * 3600), unit="s audio", file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(seconds: float) -> None:
            bar.update(min(round(seconds), bar.total) - bar.n)

        manifest = build_corpus(args.out, args.hours, seed=args.seed, jobs=args.jobs, progress=progress)
    voices = {item["voice"] for item in manifest["items"]}
    print(f"{len(manifest['items'])} items, {manifest['hours']:.2f} h, {len(voices)} voices "
          f"({len(manifest['heldout_voices'])} held out) in {args.out}")
    return 0
