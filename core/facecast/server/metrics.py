"""The daemon's metrics in the Prometheus text exposition format (version 0.0.4), written by hand so the
runtime needs no client library: counters and histograms with labels, gauges read when scraped.

``DAEMON`` holds what the servers of this process report; :func:`serve_metrics` answers ``GET /metrics``.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Iterable

LATENESS_BUCKETS = (0.005, 0.01, 0.02, 0.033, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    escaped = (f'{k}="{v}"'.replace("\n", " ") for k, v in labels)
    return "{" + ",".join(escaped) + "}"


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self._values: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(sorted(labels.items())), 0.0)

    def exposition(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for key, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(key)} {value:g}"


class Gauge:
    """A value read from ``read()`` when scraped: one sample, or one per label set given as a dict."""

    def __init__(self, name: str, help_text: str, read: Callable[[], float | dict[Labels, float]]) -> None:
        self.name, self.help, self.read = name, help_text, read

    def exposition(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} gauge"
        value = self.read()
        samples = value if isinstance(value, dict) else {(): value}
        for key, sample in sorted(samples.items()):
            yield f"{self.name}{_labels(key)} {sample:g}"


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = LATENESS_BUCKETS) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self._counts = [0] * (len(buckets) + 1)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        index = next((i for i, bound in enumerate(self.buckets) if value <= bound), len(self.buckets))
        with self._lock:
            self._counts[index] += 1
            self._sum += value

    @property
    def count(self) -> int:
        return sum(self._counts)

    def exposition(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        total = 0
        for bound, count in zip([*self.buckets, math.inf], self._counts):
            total += count
            le = "+Inf" if bound == math.inf else f"{bound:g}"
            yield f'{self.name}_bucket{{le="{le}"}} {total}'
        yield f"{self.name}_sum {self._sum:g}"
        yield f"{self.name}_count {total}"


class DaemonMetrics:
    def __init__(self) -> None:
        self.frames = Counter("facecast_frames_total", "Motion frames sent, by call kind.")
        self.calls = Counter("facecast_calls_total", "Calls started, by method.")
        self.refused = Counter("facecast_refused_total", "Calls refused for capacity, by reason.")
        self.errors = Counter("facecast_errors_total", "Calls ended in an error, by method and gRPC status code.")
        self.model_loads = Counter("facecast_model_loads_total", "Animator loads, by animator and result.")
        self.lateness = Histogram("facecast_frame_lateness_seconds",
                                  "Live frames: time from the audio chunk that determined them arriving to "
                                  "the frames being handed to gRPC.")
        self.gauges: list[Gauge] = []

    def gauge(self, name: str, help_text: str, read: Callable[[], float | dict[Labels, float]]) -> None:
        self.gauges = [g for g in self.gauges if g.name != name] + [Gauge(name, help_text, read)]

    def exposition(self) -> str:
        parts: list[Counter | Histogram | Gauge] = [
            self.calls, self.frames, self.refused, self.errors, self.model_loads, self.lateness, *self.gauges]
        return "\n".join(line for metric in parts for line in metric.exposition()) + "\n"


DAEMON = DaemonMetrics()


async def serve_metrics(host: str, port: int) -> tuple[asyncio.AbstractServer, int]:
    """An HTTP/1.0 listener answering ``GET /metrics`` (anything else: 404); returns it and its port."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5.0)
            path = request.split(b" ")[1] if request.count(b" ") >= 2 else b""
            if path.split(b"?")[0] == b"/metrics":
                body, status = DAEMON.exposition().encode(), b"200 OK"
            else:
                body, status = b"not found; try /metrics\n", b"404 Not Found"
            writer.write(b"HTTP/1.0 " + status + b"\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    return server, server.sockets[0].getsockname()[1]
