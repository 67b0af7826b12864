"""``facecast dataset build``: capture the real training videos into the learned animator's paired dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dataset", help="build the paired (audio, captured motion) training set")
    actions = parser.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build", help="capture every video of a folder of sources into curves + 16 kHz audio",
        description="Capture VIDEOS/<source>/*.mp4 (cached per clip), measure and correct each source's "
        "audio/video offset, check quality, add GRID lip closures from word alignments, and write "
        "manifest.json + examples.npz with speaker-disjoint splits.")
    build.add_argument("videos", type=Path, help="folder of source folders (e.g. ../shared/data/train)")
    build.add_argument("--out", type=Path, required=True, help="dataset folder")
    build.add_argument("--threads", type=int, default=1, help="threads for the face-mesh model (default 1)")
    build.set_defaults(run=run_build)


def run_build(args: argparse.Namespace) -> int:
    from facecast.train.dataset import build_dataset

    manifest = build_dataset(args.videos, args.out, threads=args.threads,
                             log=lambda line: print(line, file=sys.stderr, flush=True))
    used = [c for c in manifest["clips"] if not c["excluded"]]
    print(f"{len(used)} clips ({sum(c['seconds'] for c in used) / 60:.1f} min) in {args.out}")
    return 0
