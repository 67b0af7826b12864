"""Live Link timing: N subjects at F fps for S seconds through a real daemon, sent to a receiver on 127.0.0.1.

    .venv/bin/python benchmarks/bench_unreal.py [--subjects 8] [--fps 60] [--seconds 60] [--realtime]

Prints frames received per subject (expected: seconds x fps each), whether frame numbers arrived in order and
consecutive, and frame-interval jitter |interval - 1/fps| percentiles in ms at the sender and the receiver,
plus how late packets left relative to their due time.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from unreal_helpers import soak

from daemon import Daemon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=8)
    parser.add_argument("--fps", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--realtime", action="store_true", help="sender thread at real-time priority (SCHED_FIFO)")
    args = parser.parse_args()
    daemon = Daemon()
    try:
        result = soak(daemon.address, args.subjects, args.fps, args.seconds, realtime=args.realtime)
    finally:
        daemon.stop()
    lost = sum(max(0, result.expected_frames - n) for n in result.received.values())
    print(f"{result.subjects} subjects x {result.fps} fps x {result.seconds:g} s on loopback; "
          f"{'; '.join(result.notes) or 'sender at normal priority'}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"frames received per subject: {sorted(set(result.received.values()))} (expected {result.expected_frames})"
          f"; lost {lost}; in order {result.in_order}; consecutive frame numbers {result.consecutive}")
    for label, figures in (("send jitter", result.send_jitter_ms), ("arrival jitter", result.arrival_jitter_ms),
                           ("send lateness", result.late_ms)):
        print(f"{label:15s} " + "  ".join(f"{k} {v:.3f} ms" for k, v in figures.items()))
    if result.errors:
        print("errors:", *result.errors, sep="\n  ")


if __name__ == "__main__":
    main()
