"""Live load and responsiveness of the daemon (docs/RELIABILITY.md): one daemon, in one run,

- a baseline of 4 real-time streams, then 64 (admitted, refused, lateness p50/p99/max);
- health-check latency idle and while a heavy phonetic Animate (64 s of speech) runs, as a ratio;
- how long a new Stream waits for its header while 6 long Animate calls run;
- with ``--replicas 2``, the same load over two replicas behind gRPC round-robin (one per core);
- with ``--replicas 2 --nginx``, also behind nginx (deploy/nginx/facecast.conf);
- with ``--replicas 2 --ray``, then over the two replicas of deploy/ray_serve/serve.yaml behind Ray Serve's
  gRPC ingress (needs ``pip install 'facecast[ray]'``), with its start-up time.

    .venv/bin/python benchmarks/bench_live_load.py [--streams 64] [--seconds 10] [--replicas 2 [--nginx] [--ray]]

Clients run on the same machine as the daemon; figures from a shared box are lower bounds.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from facecast.audio import load_audio  # noqa: E402
from facecast.proto import facecast_pb2 as pb  # noqa: E402
from facecast.proto import facecast_pb2_grpc  # noqa: E402

from daemon import Daemon  # noqa: E402
from loadgen import rss_kb, run_load  # noqa: E402


def long_clip(seconds: int = 64) -> pb.AnimateRequest:
    audio = load_audio(ROOT / "assets" / "speech_en.wav")
    samples = np.tile(audio.samples, int(np.ceil(seconds / audio.duration)))[: seconds * 16_000]
    pcm = (samples * 32767).astype("<i2").tobytes()
    return pb.AnimateRequest(audio=pb.AudioInput(pcm=pb.Pcm(data=pcm, sample_rate=16_000)), animator="phonetic")


def health_ms(channel: grpc.Channel, n: int = 20) -> np.ndarray:
    stub = health_pb2_grpc.HealthStub(channel)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        stub.Check(health_pb2.HealthCheckRequest(), timeout=120)
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(0.05)
    return np.array(times)


def header_wait_s(channel: grpc.Channel) -> float:
    stub = facecast_pb2_grpc.FacecastStub(channel)
    start = time.perf_counter()

    def requests():
        yield pb.StreamRequest(config=pb.StreamConfig(sample_rate=16_000, fps=30))
        yield pb.StreamRequest(pcm=np.zeros(320, "<i2").tobytes())
        yield pb.StreamRequest(end=pb.End())

    call = stub.Stream(requests(), timeout=300)
    first = next(call)
    assert first.WhichOneof("kind") == "header"
    waited = time.perf_counter() - start
    list(call)
    return waited


def server_lateness(url: str) -> dict[str, float]:
    """The daemon's own lateness histogram (chunk arrival to frames handed to gRPC): cumulative counts by bound."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'facecast_frame_lateness_seconds_bucket\{le="([^"]+)"\} (\S+)', text)}


def capacity(url: str) -> str:
    """The daemon's live admission limit now and the CPU it measured in its last window."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    gauges = {m.group(1): float(m.group(2))
              for m in re.finditer(r"^(facecast_(?:live|machine)_\w+) (\S+)$", text, re.M)}
    return (f"limit {gauges.get('facecast_live_capacity', float('nan')):.0f} live streams, last window "
            f"{gauges.get('facecast_live_cpu_cores', float('nan')):.2f} cores "
            f"({gauges.get('facecast_live_python_cores', float('nan')):.2f} in Python threads), machine "
            f"{gauges.get('facecast_machine_idle', float('nan')):.0%} idle")


def within(before: dict[str, float], after: dict[str, float], bound: str) -> str:
    total = after["+Inf"] - before.get("+Inf", 0.0)
    inside = after[bound] - before.get(bound, 0.0)
    if not total:
        return "-"
    shares = ", ".join(f"{(after[b] - before.get(b, 0.0)) / total:.0%} within {float(b) * 1000:.0f} ms"
                       for b in ("0.01", "0.02"))
    return f"{inside / total:.1%} of {total:.0f} chunks' frames within {float(bound) * 1000:.0f} ms ({shares})"


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far, from ``/proc/PID/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    """CPU seconds of this process's ended and waited-for children (the load's client processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--ray", action="store_true", help="with --replicas 2: also behind Ray Serve's ingress")
    parser.add_argument("--nginx", action="store_true", help="with --replicas 2: also behind nginx")
    parser.add_argument("--animator", default="energy", help="the live streams' animator (energy, neural)")
    parser.add_argument("--client", choices=("threads", "aio"), default="threads",
                        help="load clients: facecast.Client in threads (default) or gRPC asyncio, one loop per process")
    parser.add_argument("--load-only", action="store_true", help="only the baseline and the load, no health checks")
    parser.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                        help="an extra `facecast serve` argument (repeat it), e.g. --serve-arg=--live-target-cores=1")
    args = parser.parse_args()
    if args.replicas > 1:
        replicas(args.streams, args.seconds, args.replicas, args.nginx)
        if args.ray:
            ray_serve(args.streams, args.seconds, args.replicas)
        return
    daemon = Daemon("--metrics-port", "0", *args.serve_arg)
    try:
        assert daemon.metrics_url
        start = server_lateness(daemon.metrics_url)
        baseline = run_load(daemon.address, 4, args.seconds, processes=2, animator=args.animator, client=args.client)
        middle = server_lateness(daemon.metrics_url)
        print(f"baseline: {baseline.summary()}; in the daemon: {within(start, middle, '0.033')}; then "
              f"{capacity(daemon.metrics_url)}")
        cpu, clients = process_cpu_s(daemon.process.pid), children_cpu_s()
        load = run_load(daemon.address, args.streams, args.seconds, animator=args.animator, client=args.client)
        used, clients = process_cpu_s(daemon.process.pid) - cpu, children_cpu_s() - clients
        end = server_lateness(daemon.metrics_url)
        print(f"load ({args.animator}): {load.summary()}; in the daemon: {within(middle, end, '0.033')}")
        served = sum(load.frames) / 30  # stream-seconds of 30 fps frames the admitted streams got
        print(f"daemon process CPU: {used:.1f} s for {served:.0f} stream-seconds = {used / max(served, 1e-9):.3f} "
              f"cores per stream (opening and flushing included); RSS {rss_kb(daemon.process.pid) / 1024:.0f} MB; "
              f"the client processes used {clients:.1f} s")
        print(f"p99 lateness, load / baseline: {load.p99_ms / baseline.p99_ms:.2f}")
        if args.load_only:
            return
        with grpc.insecure_channel(daemon.address) as channel:
            idle = health_ms(channel)
            stub = facecast_pb2_grpc.FacecastStub(channel)
            heavy = stub.Animate(long_clip(), timeout=300)
            time.sleep(1.0)
            busy = health_ms(channel)
            still_running = heavy.running()
            heavy.cancel()
            print(f"health check idle p50 {np.median(idle):.1f} ms max {idle.max():.1f} ms; during a 64 s phonetic "
                  f"Animate p50 {np.median(busy):.1f} ms max {busy.max():.1f} ms (ratio of p50s "
                  f"{np.median(busy) / np.median(idle):.2f}; Animate still running after: {still_running})")
            quiet = header_wait_s(channel)
            clips = [stub.Animate(long_clip(), timeout=300) for _ in range(6)]
            time.sleep(1.0)
            busy_wait = header_wait_s(channel)
            for clip in clips:
                clip.cancel()
            print(f"Stream header wait: quiet {quiet * 1000:.0f} ms; with 6 long Animate calls running "
                  f"{busy_wait * 1000:.0f} ms")
    finally:
        daemon.stop()


def replicas(streams: int, seconds: float, count: int, nginx: bool = False) -> None:
    daemons = [Daemon() for _ in range(count)]
    try:
        one = run_load(daemons[0].address, streams, seconds)
        print(f"1 replica: {one.summary()}")
        both = "ipv4:" + ",".join(d.address for d in daemons)
        spread = run_load(both, streams, seconds, load_balancing="round_robin")
        print(f"{count} replicas, round-robin: {spread.summary()}")
        if nginx:
            from nginx import Nginx

            proxy = Nginx([d.port for d in daemons])
            try:
                print(f"{count} replicas behind nginx: {run_load(proxy.address, streams, seconds).summary()}")
            finally:
                proxy.stop()
    finally:
        for d in daemons:
            d.stop()


def ray_serve(streams: int, seconds: float, count: int) -> None:
    from rayserve import RayServe

    for haproxy in (False, True):  # Serve's Python proxy, then its HAProxy ingress (RAY_SERVE_ENABLE_HA_PROXY=1)
        with tempfile.TemporaryDirectory() as avatars:
            started = time.monotonic()
            ingress = RayServe(Path(avatars), haproxy=haproxy, num_replicas=count, max_live_streams=1024)
            name = "HAProxy ingress" if haproxy else "gRPC proxy"
            try:
                print(f"Ray Serve ({name}) up, every replica ready, in {time.monotonic() - started:.1f} s")
                print(f"{count} replicas behind Ray Serve's {name}, no live cap: "
                      f"{run_load(ingress.address, streams, seconds).summary()}")
            finally:
                ingress.stop()


if __name__ == "__main__":
    main()
