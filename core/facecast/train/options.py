"""The training command's options, in a module without PyTorch so that the ``facecast`` CLI can list them
without importing it."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The training options (shared by ``python -m facecast.train`` and ``facecast train``)."""
    p.add_argument("--data", type=Path, required=True, help="dataset folder (facecast dataset build)")
    p.add_argument("--out", type=Path, required=True, help="folder for checkpoints and the training log")
    p.add_argument("--epochs", type=int, default=12, help="passes over the training clips (default 12)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: no limit)")
    p.add_argument("--batch", type=int, default=32, help="training windows per step and process (default 32)")
    p.add_argument("--crop", type=int, default=128, help="frames (50 per second) per training window")
    p.add_argument("--lr", type=float, default=2e-3,
                   help="peak AdamW learning rate, warmed up over 100 steps then cosine-decayed (default 2e-3)")
    p.add_argument("--width", type=int, default=128, help="channels of the audio encoder (default 128)")
    p.add_argument("--lifter", type=int, default=0,
                   help="keep this many cepstral coefficients of each log-mel frame: the spectral envelope "
                        "without the pitch harmonics (0: the whole log-mel; default 0)")
    p.add_argument("--norm", choices=("fixed", "running"), default="fixed",
                   help="how log-mel is standardised: fixed constants, or each band's causal running mean and "
                        "spread over speech (the training voices' as the prior; default fixed)")
    p.add_argument("--holdout-source", default="", help="leave this source out (evaluate on it)")
    p.add_argument("--max-clips-per-source", type=int, default=0,
                   help="train on at most this many clips of each source (0: all), for quick folds")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the initial weights, the windows, their order and augmentation")
    p.add_argument("--threads", type=int, default=0, help="torch threads per process (0: cores / processes)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--teacher", type=Path, default=None,
                   help="Whisper teacher states (python -m facecast.train.teacher) for an auxiliary target")
    p.add_argument("--teacher-weight", type=float, default=0.5,
                   help="loss weight of the auxiliary Whisper-state regression (default 0.5)")
    p.add_argument("--teacher-kind", choices=("states", "classes"), default="states",
                   help="what the teacher cache holds: states to regress (Whisper's, MSE) or class probabilities "
                        "per frame (cross-entropy; default states)")
    p.add_argument("--teacher-pause-db", type=float, default=0.0,
                   help="leave the teacher out of frames this many dB under the clip's loud frames (0: nowhere)")
    p.add_argument("--room-tone", action="store_true",
                   help="also add coloured room noise and mains hum under 40%% of the training clips")
    p.add_argument("--vtlp", type=float, default=0.0,
                   help="vocal-tract length perturbation: warp each window's frequency axis by exp(U(-x, x)) "
                        "(0.1: about +-10%%; 0: off, the default)")
    p.add_argument("--band-masks", type=int, default=0,
                   help="mask this many random runs of up to 8 mel bands in each training window (SpecAugment's "
                        "frequency masking; 0: off, the default)")
    p.add_argument("--source-power", type=float, default=1.0,
                   help="sample each source's windows in proportion to its minutes to this power "
                        "(1: as the data has them, 0.5: square-root balancing; default 1)")
    p.add_argument("--corpus", type=Path, default=None,
                   help="synthetic speech corpus (facecast corpus build) whose training voices join the videos")
    p.add_argument("--corpus-share", type=float, default=0.25,
                   help="share of each epoch's windows taken from the corpus (default 0.25; needs --corpus)")
    p.add_argument("--r-target", choices=("jawopen", "opening"), default="jawopen",
                   help="what the Pearson-r loss and best.pt follow: the captured JawOpen, or the measured lip gap "
                        "(inner-lip gap over inter-ocular distance, the mouth opening itself)")
    p.add_argument("--whole-clip", action="store_true",
                   help="every encoder block symmetric (0.62 s of lookahead): a model for whole clips, not streams")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
