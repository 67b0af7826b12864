"""Speed and memory of the learned animator (ONNX Runtime, CPU): offline real-time factor, streaming compute per
20 ms chunk, batched steps of many streams (run_batch, as the daemon's scheduler calls it), and the RSS of a real
``facecast serve`` once GetInfo has loaded every animator.

    .venv/bin/python benchmarks/neural_speed.py [--repeats 5] [--streams 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from facecast.animators.neural import NeuralAnimator  # noqa: E402
from facecast.audio import MODEL_RATE, load_audio  # noqa: E402
from facecast.controls import Controls  # noqa: E402


def offline(animators: dict[str, NeuralAnimator], samples: np.ndarray, repeats: int) -> dict[str, list[float]]:
    """x real time of each animator's whole-clip ``animate``, the animators taking turns (same load for all)."""
    from facecast.audio import Audio

    audio = Audio(samples, MODEL_RATE)
    factors: dict[str, list[float]] = {name: [] for name in animators}
    for animator in animators.values():
        animator.animate(audio)  # warm up: sessions loaded
    for _ in range(repeats):
        for name, animator in animators.items():
            start = time.perf_counter()
            animator.animate(audio)
            factors[name].append(len(samples) / MODEL_RATE / (time.perf_counter() - start))
    return factors


def streaming(animator: NeuralAnimator, samples: np.ndarray) -> list[float]:
    session = animator.stream(Controls())
    chunk = MODEL_RATE // 50
    times = []
    for start in range(0, len(samples) - chunk, chunk):
        t = time.perf_counter()
        session.push(samples[start:start + chunk])
        times.append((time.perf_counter() - t) * 1000)
    return times


def batched(animator: NeuralAnimator, samples: np.ndarray, streams: int) -> list[float]:
    sessions = [animator.stream(Controls(seed=k)) for k in range(streams)]
    chunk = MODEL_RATE // 50
    times = []
    for start in range(0, len(samples) - chunk, chunk):
        t = time.perf_counter()
        animator.run_batch([(s, samples[start:start + chunk]) for s in sessions])
        times.append((time.perf_counter() - t) * 1000)
    return times


def daemon_rss_mb() -> float:
    """RSS of a real daemon after GetInfo (which loads every animator) and one neural Animate call."""
    sys.path.insert(0, str(ROOT / "tests"))
    from daemon import Daemon  # noqa: I001 - the tests' helper, found through the path above
    from facecast.client import Client

    d = Daemon()
    try:
        with Client(d.address) as client:
            client.info()
            client.animate(ROOT / "assets" / "speech_en.wav", animator="neural")
        status = Path(f"/proc/{d.process.pid}/status").read_text()
        return int(next(line for line in status.split("\n") if line.startswith("VmRSS")).split()[1]) / 1024
    finally:
        d.stop()


def summary(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {"median": round(float(np.median(a)), 2), "p95": round(float(np.percentile(a, 95)), 2),
            "min": round(float(a.min()), 2), "max": round(float(a.max()), 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--streams", type=int, default=32)
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    p.add_argument("--no-daemon", action="store_true")
    args = p.parse_args()
    animator = NeuralAnimator(threads=args.threads)
    speech = load_audio(ROOT / "assets" / "speech_en.wav").samples
    long = np.tile(speech, 8)  # about a minute
    clips = offline({"default": animator, "alone": NeuralAnimator(model=animator.model, fuse=False)}, long,
                    args.repeats)
    result = {
        "load_average": os.getloadavg(),
        "offline_x_realtime": summary(clips["default"]),  # neural's clips: the model fused with Whisper's jaw
        "offline_model_alone_x_realtime": summary(clips["alone"]),  # neural-fast, and what a stream computes
        "stream_ms_per_20ms_chunk": summary(streaming(animator, speech)),
        f"batch_of_{args.streams}_ms_per_20ms_step": summary(batched(animator, speech, args.streams)),
        "threads": args.threads,
    }
    if not args.no_daemon:
        result["daemon_rss_mb"] = round(daemon_rss_mb(), 1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
