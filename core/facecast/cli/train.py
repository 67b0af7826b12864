"""``facecast train --data DIR --out DIR``: train the learned animator (the same as ``python -m facecast.train``;
under ``torchrun`` use the module form). Needs the ``train`` extra (PyTorch)."""

from __future__ import annotations

import argparse
import importlib.util


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="train the learned (neural) animator on a dataset",
        description="Train the learned animator on a dataset from `facecast dataset build`: checkpoints in OUT "
        "(resume with --resume), held-out JawOpen r after each epoch. Export the result with "
        "`python -m facecast.train.export OUT/best.pt`. See docs/NEURAL.md.")
    from facecast.train.options import add_arguments

    add_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("torch") is None:
        from facecast.errors import FacecastError

        raise FacecastError("training needs PyTorch: pip install 'facecast[train]'")
    from facecast.train.fit import main

    result = main(args)
    truth = "the measured lip gap" if args.r_target == "opening" else "the captured JawOpen"
    print(f"best held-out JawOpen r {result['best']:.3f} (against {truth}) after {len(result['history'])} epochs; "
          f"checkpoints in {args.out}")
    return 0
