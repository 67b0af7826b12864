"""Rendered portrait frames for Unreal: a live MJPEG stream over HTTP, or an image sequence + wav on disk.

Both work with any iterator of RGB uint8 frames (``facecast.render.render_frames`` or anything else) at a
frame rate, so they do not depend on how the frames were made.

- :class:`MjpegServer` serves ``multipart/x-mixed-replace`` JPEG frames on 127.0.0.1 (``/stream.mjpg``), the
  newest frame (``/frame.jpg``) and the utterance audio (``/audio.wav``). Frame ``i`` is published at
  ``start + i / fps`` on the monotonic clock; pass the same ``start`` as the Live Link subject's first frame
  (``Bridge.sender.deadline(fps, tick)``) and the picture, the Live Link motion and the audio line up.
- :func:`write_image_sequence` writes ``frame_000000.jpg`` ... plus ``audio.wav`` and ``sequence.json`` for
  an Img Media Source in Unreal's Media Framework (and a Sound Wave in the same Sequencer shot).
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import threading
import time
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facecast.errors import InvalidInput
from facecast.fileio import atomic_dir
from facecast.media import encode_jpeg, write_wav
from facecast.motion import MotionClip, check_fps

if TYPE_CHECKING:
    from facecast.unreal.bridge import Bridge

BOUNDARY = "facecastframe"
DEFAULT_HTTP_PORT = 8554


def bind_error(host: str, port: int, error: OSError) -> InvalidInput:
    """A one-line message for a listener that cannot bind."""
    if error.errno == errno.EADDRINUSE:
        return InvalidInput(f"port {port} on {host} is already in use; stop the other program or choose another port")
    if error.errno == errno.EADDRNOTAVAIL:
        return InvalidInput(f"cannot listen on {host}: no such address on this machine")
    return InvalidInput(f"cannot listen on {host}:{port}: {error.strerror or error}")


class FramePublisher:
    """Holds the newest JPEG frame; frame ``i`` becomes current at ``start + i / fps`` (monotonic seconds)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.jpeg: bytes | None = None
        self.index = -1
        self.published: list[float] = []
        self.start: float | None = None
        self.finished = False

    def play(self, frames: Iterable[np.ndarray], fps: int, start: float | None = None) -> None:
        """Encode and publish every frame at its time; returns when the last one is out."""
        check_fps(fps)
        start = self.start = time.monotonic() if start is None else start
        for index, frame in enumerate(frames):
            jpeg = encode_jpeg(frame)
            delay = start + index / fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with self._changed:
                self.jpeg, self.index = jpeg, index
                self.published.append(time.monotonic())
                self._changed.notify_all()
        with self._changed:
            self.finished = True
            self._changed.notify_all()

    def wait_newer(self, index: int, timeout: float = 1.0) -> tuple[int, bytes | None]:
        """The first frame after ``index`` (waits up to ``timeout``); (index, None) when playback is over."""
        with self._changed:
            self._changed.wait_for(lambda: self.index > index or self.finished, timeout)
            if self.index > index:
                return self.index, self.jpeg
            return index, None


class MjpegServer:
    """A small HTTP server for one presenter. Start it, then :meth:`play` frames; ``stop`` when done."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_HTTP_PORT) -> None:
        self.publisher = FramePublisher()
        self.audio_wav: bytes | None = None
        handler = _handler_for(self)
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as e:
            raise bind_error(host, port, e) from None
        self._server.daemon_threads = True
        address = self._server.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="mjpeg-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/stream.mjpg"

    def start(self) -> MjpegServer:
        self._thread.start()
        return self

    def play(self, frames: Iterable[np.ndarray], fps: int, audio: np.ndarray | None = None,
             sample_rate: int = 16000, start: float | None = None) -> None:
        """Publish ``frames`` at ``fps`` from ``start`` (monotonic; default now); ``audio`` at /audio.wav."""
        if audio is not None:
            buffer = io.BytesIO()
            write_wav(buffer, audio, sample_rate)
            self.audio_wav = buffer.getvalue()
        self.publisher.play(frames, fps, start)

    def stop(self) -> None:
        with self.publisher._changed:
            self.publisher.finished = True
            self.publisher._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> MjpegServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: MjpegServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: object) -> None:  # keep the console for the bridge's own messages
            pass

        def _send_bytes(self, data: bytes | None, content_type: str) -> None:
            if data is None:
                self.send_error(HTTPStatus.NOT_FOUND, "nothing to serve yet")
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # the name http.server calls
            path = self.path.split("?")[0]
            if path == "/frame.jpg":
                self._send_bytes(server.publisher.jpeg, "image/jpeg")
            elif path == "/audio.wav":
                self._send_bytes(server.audio_wav, "audio/wav")
            elif path == "/stream.mjpg":
                self._stream()
            else:
                self.send_error(HTTPStatus.NOT_FOUND, "try /stream.mjpg, /frame.jpg or /audio.wav")

        def _stream(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            index = -1
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                while True:
                    index, jpeg = server.publisher.wait_newer(index)
                    if jpeg is None:
                        if server.publisher.finished:
                            break
                        continue
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n"
                                     f"X-Frame-Index: {index}\r\n\r\n".encode("ascii") + jpeg + b"\r\n")
                    self.wfile.flush()

    return Handler


def present_with_subject(server: MjpegServer, bridge: Bridge, subject: str, clip: MotionClip,
                         frames: list[np.ndarray], audio: np.ndarray | None = None, sample_rate: int = 16000) -> None:
    """Send ``clip`` as Live Link ``subject`` on a running ``bridge`` and publish ``frames`` on ``server`` from
    the same moment: the subject's frame 0 deadline is the picture's frame 0 time. Returns when both are done."""
    from facecast.unreal.sources import SpeechQueue, utterance_from_clip

    done = threading.Event()

    def start_frames(moment: float) -> None:
        def play() -> None:
            try:
                server.play(frames, clip.fps, audio, sample_rate, start=moment)
            finally:
                done.set()

        threading.Thread(target=play, name="presenter-frames", daemon=True).start()

    utterance = utterance_from_clip(subject, clip, audio, sample_rate)
    utterance.on_start = start_frames
    queue = SpeechQueue()
    queue.say(utterance)
    queue.close()
    bridge.add_subject(subject, queue, clip.fps)
    bridge.wait()
    done.wait()


def write_image_sequence(folder: str | os.PathLike[str], frames: Iterable[np.ndarray], fps: int,
                         audio: np.ndarray | None = None, sample_rate: int = 16000, quality: int = 90) -> Path:
    """Write ``frame_000000.jpg``… plus ``audio.wav`` and ``sequence.json``; the folder appears whole or not at all.

    Frame ``i`` shows time ``i / fps`` and the wav starts at time 0, so an Img Media Source at ``fps`` and the
    Sound Wave placed at the same Sequencer frame stay in sync.
    """
    check_fps(fps)
    final = Path(folder)
    if final.exists() and any(final.iterdir()):
        raise InvalidInput(f"image sequence folder {final} already exists and is not empty")
    with atomic_dir(final) as partial:
        count, size = 0, (0, 0)
        for count, frame in enumerate(frames, start=1):
            size = (int(frame.shape[1]), int(frame.shape[0]))
            (partial / f"frame_{count - 1:06d}.jpg").write_bytes(encode_jpeg(frame, quality))
        if count == 0:
            raise InvalidInput("no frames to write")
        if audio is not None:
            write_wav(partial / "audio.wav", audio, sample_rate)
        (partial / "sequence.json").write_text(json.dumps({
            "fps": fps, "frames": count, "width": size[0], "height": size[1], "first_frame": "frame_000000.jpg",
            "audio": "audio.wav" if audio is not None else None, "audio_sample_rate": sample_rate,
            "audio_offset_seconds": 0.0}, indent=2), encoding="utf-8")
    return final
