"""Motion benchmarks: offline real-time factor, streaming latency, concurrent real-time streams, daemon RSS, cold start.

    .venv/bin/python benchmarks/bench_motion.py [--animator energy] [--streams 32] [--seconds 20]

Prints one line per figure. Timings are measured here, in one run, on whatever machine runs it; the daemon and
its clients share the machine, so the concurrent-stream figure is a lower bound for a dedicated server.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from facecast.animators import get_animator  # noqa: E402
from facecast.audio import MODEL_RATE, Audio, load_audio  # noqa: E402
from facecast.controls import Controls  # noqa: E402

from daemon import Daemon  # noqa: E402
from loadgen import read_lateness  # noqa: E402

CHUNK_MS = 20


def speech_60s() -> Audio:
    shared = ROOT.parent / "shared/data/speech/musetalk_eng.wav"
    audio = load_audio(shared if shared.exists() else ROOT / "assets/speech_en.wav")
    reps = int(np.ceil(60 * MODEL_RATE / len(audio.samples)))
    return Audio(np.tile(audio.samples, reps)[: 60 * MODEL_RATE], MODEL_RATE, audio.sha256)


def offline_rtf(animator_name: str, audio: Audio, repeats: int = 5) -> float:
    animator = get_animator(animator_name)
    animator.animate(audio, Controls())  # warm up
    best = min(_timed(lambda: animator.animate(audio, Controls())) for _ in range(repeats))
    return audio.duration / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def streaming_latency(animator_name: str, audio: Audio) -> tuple[float, float, float]:
    """Compute time per 20 ms chunk (push until its frames are out): p50, p95, max in ms."""
    session = get_animator(animator_name).stream(Controls(), fps=30)
    step = MODEL_RATE * CHUNK_MS // 1000
    times = []
    for start in range(0, len(audio.samples), step):
        times.append(_timed(lambda s=start: session.push(audio.samples[s:s + step])))
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(ms.max())


def _client_process(address: str, streams: int, seconds: float, animator: str, queue: mp.Queue) -> None:
    """Runs ``streams`` real-time Stream calls in threads; reports per-frame lateness and first-frame latency."""
    from facecast.client import Client

    samples = speech_60s().samples[: int(seconds * MODEL_RATE)]
    pcm = (samples * 32767).astype("<i2").tobytes()
    step = 2 * MODEL_RATE * CHUNK_MS // 1000
    results: list[tuple[list[float], float, int]] = []
    lock = threading.Lock()

    def one_stream(client: Client) -> None:
        live = client.stream(sample_rate=MODEL_RATE, fps=30, animator=animator)
        lateness: list[float] = []
        first = [float("nan")]
        start = time.monotonic()

        def reader() -> None:
            read_lateness(live, start, lateness, first)

        thread = threading.Thread(target=reader)
        thread.start()
        for i, offset in enumerate(range(0, len(pcm), step)):
            time.sleep(max(0.0, start + (i + 1) * CHUNK_MS / 1000 - time.monotonic()))
            live.send(pcm[offset:offset + step])
        live.end()
        thread.join()
        with lock:
            results.append((lateness, first[0], len(lateness)))

    with Client(address) as client:
        threads = [threading.Thread(target=one_stream, args=(client,)) for _ in range(streams)]
        for t in threads:
            t.start()
            time.sleep(0.013)  # spread the start times as real sessions would be
        for t in threads:
            t.join()
    queue.put(results)


def concurrent_streams(address: str, streams: int, seconds: float, animator: str, processes: int = 4):
    queue: mp.Queue = mp.Queue()
    per = [streams // processes + (i < streams % processes) for i in range(processes)]
    procs = [mp.Process(target=_client_process, args=(address, n, seconds, animator, queue)) for n in per if n]
    for p in procs:
        p.start()
    results = [r for _ in procs for r in queue.get()]
    for p in procs:
        p.join()
    lateness = np.concatenate([np.array(r[0]) for r in results]) * 1000
    first = np.array([r[1] for r in results]) * 1000
    frames = [r[2] for r in results]
    return lateness, first, frames


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--animator", default="energy")
    parser.add_argument("--streams", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()

    audio = speech_60s()
    print(f"offline {args.animator}: {offline_rtf(args.animator, audio):.0f}x real time (60 s of speech)")
    p50, p95, worst = streaming_latency(args.animator, audio)
    print(f"streaming {args.animator}: compute per {CHUNK_MS} ms chunk p50 {p50:.3f} ms, p95 {p95:.3f} ms, "
          f"max {worst:.3f} ms; lookahead {get_animator(args.animator).lookahead_ms:.0f} ms")

    start = time.monotonic()
    daemon = Daemon()
    cold = time.monotonic() - start
    try:
        from facecast.client import Client

        with Client(daemon.address) as client:
            assert client.health() == "SERVING"
        idle = rss_mb(daemon.process.pid)
        print(f"cold start: facecast serve ready (health SERVING) in {cold:.2f} s; idle RSS {idle:.0f} MB")
        lateness, first, frames = concurrent_streams(daemon.address, args.streams, args.seconds, args.animator)
        expected = int(np.ceil(args.seconds * 30))
        frame_ms = 1000 / 30
        print(f"daemon, {args.streams} concurrent real-time streams at 30 fps for {args.seconds:.0f} s: "
              f"lateness p50 {np.percentile(lateness, 50):.1f} ms, p99 {np.percentile(lateness, 99):.1f} ms "
              f"({np.percentile(lateness, 99) / frame_ms:.2f} frames), max {lateness.max():.1f} ms; "
              f"frames {min(frames)}..{max(frames)} of {expected} per stream")
        print(f"first-frame latency (from first audio sent): p50 {np.nanpercentile(first, 50):.1f} ms, "
              f"p95 {np.nanpercentile(first, 95):.1f} ms")
        print(f"daemon RSS after load: {rss_mb(daemon.process.pid):.0f} MB")
    finally:
        daemon.stop()


if __name__ == "__main__":
    main()
