"""Live preview without bpy: stream audio to the daemon in real time and keep the frames as they arrive.

:class:`LiveSession` sends 16 kHz float32 chunks paced by the wall clock (as a microphone would) on one
thread and reads frames on another. The Blender side plays the same audio and, on each timer tick, asks
:meth:`LiveSession.frame_at` for the frame that belongs to the playback time. Playback starts
``lookahead`` seconds after streaming, the animator's look-ahead plus a margin, so frames are there in time.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from facecast.client import Client, LiveStream
from facecast.controls import Controls
from facecast.motion import MotionFrame
from facecast.wire import frames_from_batch

from .jobs import error_text

SAMPLE_RATE = 16000
CHUNK_SECONDS = 0.02
MARGIN_SECONDS = 0.15  # network and scheduling slack on top of the animator's look-ahead


class LiveSession:
    """One live preview: ``start()``, then poll :meth:`frame_at` until :attr:`finished`; ``stop()`` any time."""

    def __init__(self, address: str, token: str | None, samples: np.ndarray, fps: int, animator: str | None,
                 controls: Controls) -> None:
        self.samples = np.ascontiguousarray(samples, np.float32)
        self.fps = fps
        self.frames: list[MotionFrame] = []
        self.error: str | None = None
        self.lookahead = MARGIN_SECONDS
        self._client = Client(address, token or None)
        self._stream: LiveStream = self._client.stream(SAMPLE_RATE, animator or None, fps, controls,
                                                       sample_format="float32")
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._header_seen = threading.Event()
        self._receiver_done = threading.Event()
        self._threads = [threading.Thread(target=self._send, daemon=True, name="facecast-live-send"),
                         threading.Thread(target=self._receive, daemon=True, name="facecast-live-receive")]

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def start(self, header_timeout: float = 10.0) -> None:
        """Start streaming and wait for the daemon's header (raises the daemon's error as ``RuntimeError``)."""
        for thread in self._threads:
            thread.start()
        if not self._header_seen.wait(header_timeout) or self.error:
            self.stop()
            raise RuntimeError(self.error or f"the daemon sent no stream header within {header_timeout:g} s")

    def _send(self) -> None:
        step = int(SAMPLE_RATE * CHUNK_SECONDS)
        began = time.monotonic()
        for start in range(0, len(self.samples), step):
            if self._stopped.is_set():
                return
            self._stream.send(self.samples[start:start + step])
            # pace by the clock: chunk k is due at k * CHUNK_SECONDS after the first
            delay = began + (start + step) / SAMPLE_RATE - time.monotonic()
            if delay > 0 and self._stopped.wait(delay):
                return
        self._stream.end()

    def _receive(self) -> None:
        try:
            for response in self._stream.responses():
                kind = response.WhichOneof("kind")
                if kind == "header":
                    self.lookahead = response.header.lookahead_ms / 1000 + MARGIN_SECONDS
                    self._header_seen.set()
                elif kind == "frames":
                    with self._lock:
                        self.frames += frames_from_batch(response.frames)
        except Exception as e:  # a dropped daemon must end the preview with a message, not a dead thread
            if not self._stopped.is_set():
                self.error = error_text(e)
        finally:
            self._receiver_done.set()
            self._header_seen.set()

    def frame_at(self, seconds: float) -> MotionFrame | None:
        """The newest received frame at or before playback time ``seconds`` (None before the first)."""
        index = int(seconds * self.fps)
        with self._lock:
            if not self.frames or index < 0:
                return None
            return self.frames[min(index, len(self.frames) - 1)]

    @property
    def finished(self) -> bool:
        """The daemon closed the stream (all frames are in, or it failed: see :attr:`error`)."""
        return self._receiver_done.is_set()

    def stop(self) -> None:
        """Stop sending, cancel the call and close the connection; safe to call twice."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if not self._receiver_done.is_set():
            self._stream.cancel()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2)
        self._client.close()
