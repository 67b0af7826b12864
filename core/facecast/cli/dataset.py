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
    build.add_argument("--offset", action="append", default=[], metavar="ORIGIN=FRAMES", type=origin_offset,
                       help="use this audio/video offset for an origin (a source folder, or misc:<prefix>) "
                            "instead of the measured one; positive: the sound trails the picture. Repeatable")
    build.set_defaults(run=run_build)


def origin_offset(text: str) -> tuple[str, int]:
    """``ORIGIN=FRAMES`` for ``--offset``: a whole number of frames within the lags the build searches."""
    from facecast.train.dataset import MAX_LAG

    origin, _, frames = text.partition("=")
    try:
        value = int(frames)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not ORIGIN=FRAMES (FRAMES a whole number)") from None
    if not origin or abs(value) > MAX_LAG:
        raise argparse.ArgumentTypeError(f"{text!r}: FRAMES must lie within ±{MAX_LAG} and ORIGIN be named")
    return origin, value


def run_build(args: argparse.Namespace) -> int:
    from facecast.train.dataset import build_dataset

    manifest = build_dataset(args.videos, args.out, threads=args.threads,
                             log=lambda line: print(line, file=sys.stderr, flush=True), offsets=dict(args.offset))
    used = [c for c in manifest["clips"] if not c["excluded"]]
    print(f"{len(used)} clips ({sum(c['seconds'] for c in used) / 60:.1f} min) in {args.out}")
    return 0
