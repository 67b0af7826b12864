"""Real-time load on a daemon: N ``Stream`` calls from client processes, each sending 20 ms PCM chunks at the
pace a microphone delivers them; reports how many were admitted and refused and how late their frames were.

A frame's lateness is when it arrived minus when it was due: the stream's start, plus the frame's time, plus
the animator's lookahead (algorithmic latency), plus one chunk (the audio that determines it arrives in one).
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHUNK_MS = 20
RATE = 16_000
FRAME_MS = 1000 / 30


def frame_lateness(now: float, start: float, time_code: float, lookahead: float) -> float:
    """Seconds a frame arrived (``now``) after it was due (see the module docstring)."""
    return now - (start + time_code + lookahead + CHUNK_MS / 1000)


def read_lateness(live, start: float, lateness: list[float], first: list[float] | None = None) -> None:
    """Read a live stream's responses until it ends, appending each frame's lateness in seconds (arrival minus
    due, as above) to ``lateness``; ``first[0]`` (when given) gets frame 0's arrival after ``start``."""
    lookahead = 0.0
    for response in live.responses():
        now = time.monotonic()
        kind = response.WhichOneof("kind")
        if kind == "header":
            lookahead = response.header.lookahead_ms / 1000
        elif kind == "frames":
            for f in response.frames.frames:
                lateness.append(frame_lateness(now, start, f.time_code, lookahead))
                if first is not None and f.index == 0:
                    first[0] = now - start


@dataclass
class LoadResult:
    streams: int
    seconds: float
    admitted: int = 0
    refused: int = 0
    failed: list[str] = field(default_factory=list)  # anything but a capacity refusal
    refusal_messages: list[str] = field(default_factory=list)
    lateness_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    frames: list[int] = field(default_factory=list)  # frames per admitted stream

    @property
    def p99_ms(self) -> float:
        return float(np.percentile(self.lateness_ms, 99)) if len(self.lateness_ms) else float("nan")

    def assert_admitted_served_in_full(self, frames_per_stream: int) -> None:
        """Every stream was admitted or refused for capacity (nothing else), and each admitted one got all its
        frames."""
        assert not self.failed, self.failed[:3]
        assert self.admitted + self.refused == self.streams and self.admitted > 0, self.summary()
        assert all("measured capacity" in m for m in self.refusal_messages), self.refusal_messages[:3]
        assert min(self.frames) == max(self.frames) == frames_per_stream, (min(self.frames), max(self.frames))

    def summary(self) -> str:
        late = self.lateness_ms
        lateness = (f"lateness p50 {np.percentile(late, 50):.1f} ms, p99 {self.p99_ms:.1f} ms "
                    f"({self.p99_ms / FRAME_MS:.2f} frames), max {late.max():.1f} ms" if len(late) else "no frames")
        return (f"{self.streams} real-time streams for {self.seconds:g} s: admitted {self.admitted}, refused "
                f"{self.refused}, failed {len(self.failed)}; {lateness}")


def speech(seconds: float) -> bytes:
    from facecast.audio import load_audio

    audio = load_audio(ROOT / "assets" / "speech_en.wav")
    n = int(seconds * RATE)
    samples = np.tile(audio.samples, int(np.ceil(n / len(audio.samples))))[:n]
    return (samples * 32767).astype("<i2").tobytes()


def _client(address: str, streams: int, seconds: float, spread: float, out: mp.Queue,
            load_balancing: str | None, animator: str = "energy") -> None:
    """Runs ``streams`` Stream calls in threads of this process; puts one tuple per stream on ``out``."""
    from facecast.client import Client, ServerError

    pcm = speech(seconds)
    step = 2 * RATE * CHUNK_MS // 1000

    def one(client: Client, delay: float) -> None:
        time.sleep(delay)
        live = client.stream(sample_rate=RATE, fps=30, animator=animator)
        lateness: list[float] = []
        start = time.monotonic()
        outcome: list[object] = []

        def reader() -> None:
            try:
                read_lateness(live, start, lateness)
                outcome.append("ok")
            except ServerError as e:
                outcome.append(e)

        thread = threading.Thread(target=reader)
        thread.start()
        for i, offset in enumerate(range(0, len(pcm), step)):
            if not thread.is_alive():
                break  # refused or failed: stop sending
            time.sleep(max(0.0, start + (i + 1) * CHUNK_MS / 1000 - time.monotonic()))
            live.send(pcm[offset:offset + step])
        live.end()
        thread.join(seconds + 60)
        result = outcome[0] if outcome else "no answer"
        if result == "ok":
            out.put(("admitted", lateness, len(lateness)))
        elif isinstance(result, ServerError) and result.code == "RESOURCE_EXHAUSTED":
            out.put(("refused", str(result), 0))
        else:
            out.put(("failed", str(result), 0))

    with Client(address, timeout=seconds + 90, load_balancing=load_balancing) as client:
        threads = [threading.Thread(target=one, args=(client, i * spread)) for i in range(streams)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def _aio_client(address: str, streams: int, seconds: float, spread: float, out: mp.Queue,
                load_balancing: str | None, animator: str = "energy") -> None:
    """As :func:`_client`, with :class:`facecast.aio.AsyncClient`: one event loop in one thread carries all of
    this process's streams, where :func:`_client` runs three threads per stream (sender, reader, gRPC's request
    feeder) that take turns on the interpreter lock. A frame's arrival is read when its response reaches the
    loop. The client holds a stream's audio until the daemon's first response (see facecast.aio); a refusal that
    still races the config's write comes back as "failed: INTERNAL: Internal error from Core" (grpc/grpc#36066),
    not as "refused"."""
    import asyncio

    from facecast.aio import AsyncClient, AsyncLiveStream
    from facecast.client import ServerError

    pcm = speech(seconds)
    step = 2 * RATE * CHUNK_MS // 1000

    async def speak(live: AsyncLiveStream, start: float) -> None:  # paced like a microphone
        for i, offset in enumerate(range(0, len(pcm), step)):
            await asyncio.sleep(max(0.0, start + (i + 1) * CHUNK_MS / 1000 - time.monotonic()))
            await live.send(pcm[offset:offset + step])
        await live.end()

    async def one(client: AsyncClient, delay: float) -> None:
        await asyncio.sleep(delay)
        start = time.monotonic()
        live = client.stream(sample_rate=RATE, fps=30, animator=animator)
        speaking = asyncio.create_task(speak(live, start))
        lateness: list[float] = []
        lookahead = 0.0
        try:
            async for response in live.responses():
                now = time.monotonic()
                kind = response.WhichOneof("kind")
                if kind == "header":
                    lookahead = response.header.lookahead_ms / 1000
                elif kind == "frames":
                    lateness.extend(frame_lateness(now, start, f.time_code, lookahead) for f in response.frames.frames)
            out.put(("admitted", lateness, len(lateness)))
        except ServerError as e:
            out.put(("refused" if e.code == "RESOURCE_EXHAUSTED" else "failed", str(e), 0))
        finally:
            speaking.cancel()

    async def main() -> None:
        async with AsyncClient(address, timeout=seconds + 90, load_balancing=load_balancing) as client:
            await asyncio.gather(*(one(client, i * spread) for i in range(streams)))

    asyncio.run(main())


CLIENTS = {"threads": _client, "aio": _aio_client}


def run_load(address: str, streams: int, seconds: float, processes: int = 4, spread: float = 0.05,
             load_balancing: str | None = None, animator: str = "energy", client: str = "threads") -> LoadResult:
    """``streams`` streams (the i-th starting ``i * spread`` s after the first) from ``processes`` processes;
    ``load_balancing`` (e.g. "round_robin", with an address listing replicas) spreads each process's calls;
    ``client``: ``threads`` (facecast.Client) or ``aio`` (facecast.aio.AsyncClient, :func:`_aio_client`)."""
    context = mp.get_context("spawn")  # the test process may hold gRPC channels: never fork it
    out: mp.Queue = context.Queue()
    per = [streams // processes + (i < streams % processes) for i in range(processes)]
    procs = [context.Process(target=CLIENTS[client],
                             args=(address, n, seconds, spread * processes, out, load_balancing, animator),
                             daemon=True)
             for n in per if n]
    for p in procs:
        p.start()
    result = LoadResult(streams, seconds)
    late: list[float] = []
    deadline = time.monotonic() + seconds + 180
    for _ in range(streams):
        while True:
            try:
                kind, detail, frames = out.get(timeout=1.0)
                break
            except queue.Empty:
                if time.monotonic() > deadline or not any(p.is_alive() for p in procs):
                    raise RuntimeError(f"load clients ended without answers: {result.summary()}") from None
        if kind == "admitted":
            result.admitted += 1
            late += detail
            result.frames.append(frames)
        elif kind == "refused":
            result.refused += 1
            result.refusal_messages.append(detail)
        else:
            result.failed.append(detail)
    for p in procs:
        p.join(30)
    result.lateness_ms = np.array(late) * 1000
    return result


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_until(condition, seconds: float = 15.0, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


# a client process that streams silence until it is killed
VANISHING_CLIENT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from facecast.client import Client
    client = Client(sys.argv[1])
    live = client.stream(sample_rate=16000)
    for _ in range(1000):
        live.send(np.zeros(320, "<i2").tobytes())
        time.sleep(0.02)
""")
