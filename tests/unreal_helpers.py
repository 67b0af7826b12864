"""A Live Link Face packet reader written from the protocol description alone (not from facecast's sender),
and a UDP receiver on 127.0.0.1, for the Unreal bridge tests and benchmark."""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Packet:
    version: int
    device_id: str
    subject: str
    frame_number: int
    sub_frame: float
    fps_numerator: int
    fps_denominator: int
    count: int
    values: tuple[float, ...]


def parse_llf(data: bytes) -> Packet:
    """uint8 version; int32 BE length + device id; int32 BE length + subject; int32 frame, float32 sub-frame,
    int32 fps numerator, int32 fps denominator; uint8 count; count big-endian float32 values."""
    pos = 0

    def take(fmt: str):
        nonlocal pos
        size = struct.calcsize(fmt)
        out = struct.unpack(fmt, data[pos:pos + size])
        pos += size
        return out

    (version,) = take(">B")
    (device_length,) = take(">i")
    device = data[pos:pos + device_length].decode()
    pos += device_length
    (subject_length,) = take(">i")
    subject = data[pos:pos + subject_length].decode()
    pos += subject_length
    frame, sub_frame, numerator, denominator = take(">ifii")
    (count,) = take(">B")
    values = take(f">{count}f")
    assert pos == len(data), f"{len(data) - pos} trailing bytes"
    return Packet(version, device, subject, frame, sub_frame, numerator, denominator, count, values)


def read_gesichter(path: Path) -> list[bytes]:
    """Packets of an LLV recording: gzip of uint8 version, BE uint32 count, then BE uint32 size + packet each."""
    data = gzip.decompress(path.read_bytes())
    (count,) = struct.unpack(">I", data[1:5])
    pos, packets = 5, []
    for _ in range(count):
        (size,) = struct.unpack(">I", data[pos:pos + 4])
        packets.append(data[pos + 4:pos + 4 + size])
        pos += 4 + size
    return packets


class Receiver:
    """Collects (arrival time, bytes) of every UDP datagram sent to 127.0.0.1:port.

    Arrival times are the kernel's receive timestamps (SO_TIMESTAMPNS, wall-clock seconds) where Linux offers
    them, so a slow reading thread does not show up as network jitter; else the time the datagram was read.
    """

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self.kernel_times = hasattr(socket, "SO_TIMESTAMPNS")
        if self.kernel_times:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_TIMESTAMPNS, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.packets: list[tuple[float, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, ancillary, _, _ = self.socket.recvmsg(65536, 64)
            except TimeoutError:
                continue
            arrived = time.monotonic()
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == getattr(socket, "SO_TIMESTAMPNS", None):
                    seconds, nanoseconds = struct.unpack("qq", payload[:16])
                    arrived = seconds + nanoseconds / 1e9
            self.packets.append((arrived, data))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()

    def by_subject(self) -> dict[str, list[tuple[float, Packet]]]:
        out: dict[str, list[tuple[float, Packet]]] = {}
        for arrived, data in self.packets:
            packet = parse_llf(data)
            out.setdefault(packet.subject, []).append((arrived, packet))
        return out


@dataclass
class SoakResult:
    subjects: int
    fps: int
    seconds: float
    expected_frames: int
    received: dict[str, int]
    in_order: bool
    consecutive: bool
    send_jitter_ms: dict[str, float]     # |interval - 1/fps| at the sender (monotonic send times)
    arrival_jitter_ms: dict[str, float]  # the same on arrival at the loopback receiver
    late_ms: dict[str, float]            # send time - due time
    errors: list[str]
    notes: list[str]


def _percentiles(values, points=(50, 99, 100)) -> dict[str, float]:
    import numpy as np

    values = np.asarray(values, np.float64) * 1000
    return {f"p{p}": float(np.percentile(values, p)) if len(values) else float("nan") for p in points}


def soak(daemon_address: str, subjects: int = 8, fps: int = 60, seconds: float = 60.0,
         speech: Path | None = None, realtime: bool = False) -> SoakResult:
    """``subjects`` subjects each say ``seconds`` of speech through their own daemon Stream, sent at ``fps`` to a
    receiver on 127.0.0.1; frame-interval jitter is measured at the sender and at the receiver."""
    import numpy as np

    from facecast.audio import load_audio
    from facecast.unreal.bridge import Bridge

    speech = speech or Path(__file__).resolve().parents[1] / "assets" / "speech_en.wav"
    audio = load_audio(speech)
    samples = np.resize(audio.samples, int(seconds * audio.sample_rate))
    receiver = Receiver()
    errors: list[str] = []
    notes: list[str] = []

    def collect(subject: str, kind: str, message: str) -> None:
        {"error": errors, "note": notes}.get(kind, []).append(f"{subject}: {message}")
    try:
        with Bridge(daemon=daemon_address, port=receiver.port, prebuffer=0.5, realtime=realtime,
                    on_event=collect) as bridge:
            bridge.check_daemon()
            for i in range(subjects):
                subject = bridge.add_subject(f"NPC_{i:02d}", fps=fps)
                subject.say(samples, audio.sample_rate)
                subject.source.close()
            bridge.wait(timeout=seconds * 4 + 60)
            logs = {name: s.log for name, s in bridge.subjects.items()}
        time.sleep(0.3)
    finally:
        receiver.close()
    received = receiver.by_subject()
    expected = int(round(seconds * fps))
    in_order = consecutive = True
    arrival, sending, late = {}, {}, {}
    for name, log in logs.items():
        packets = received.get(name, [])
        numbers = [p.frame_number for _, p in packets]
        in_order &= numbers == sorted(numbers)
        consecutive &= numbers == list(range(numbers[0], numbers[0] + len(numbers))) if numbers else False
        period = 1 / fps
        arrival[name] = np.abs(np.diff([t for t, _ in packets]) - period)
        sending[name] = np.abs(np.diff(log.sent_at) - period)
        late[name] = np.asarray(log.sent_at) - np.asarray(log.deadlines)
    every = np.concatenate
    return SoakResult(
        subjects, fps, seconds, expected, {n: len(p) for n, p in received.items()}, in_order, consecutive,
        _percentiles(every(list(sending.values()))), _percentiles(every(list(arrival.values()))),
        _percentiles(every(list(late.values()))), errors, notes)
