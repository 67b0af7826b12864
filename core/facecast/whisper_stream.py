"""Whisper tiny.en's first two layers computed frame by frame, for live streams, from numpy and ONNX Runtime only.

A stream cannot run the clip path's encoder (:mod:`facecast.whisper_states`): each of its states sees 20 s of
audio in both directions. What a stream can compute instead (measured in docs/NEURAL.md, "Whisper's jaw in
streams"): each layer's attention limited to the last ``history`` frames and **one frame ahead**, inside 20 s
windows whose positions restart at 0, as the clip path's windows do. With two layers and the convolutions that is
60 ms of lookahead, within the learned model's own.

The exported step (``whisper_tiny_en_stream.onnx``, written by ``python -m facecast.train.whisper_stream_export``)
computes one 20 ms frame for a batch of streams: both convolutions on the two newest mel frames, then in each
layer the keys and values of its newest input and the output of the frame before it (the one frame of
lookahead). The keys and values live here, in each stream's ring of ``history`` frames (:class:`StreamEncoder`'s
pool), and the step's masks say which of them a frame may see (written, and in the query's 20 s window).

Timing: step ``s`` takes mel frames ``2s - 1`` and ``2s`` (audio up to ``20 s + 12.5`` ms) and gives layer 1's
state of frame ``s - 3``, so frame ``t``'s state needs the audio up to ``20 t + 72.5`` ms.

Mel frames are Whisper's (:func:`facecast.whisper_states.log_mel`: centred, reflect-padded at the start) with
one difference a stream cannot avoid: each frame's floor is 8 below the largest value up to that frame, not the
whole clip's.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence

import numpy as np

from facecast.runtime import inference_session
from facecast.whisper_states import HOP, N_FFT, N_MELS, STATE_DIMS, _window, mel_filters

STREAM_FILE = "whisper_tiny_en_stream.onnx"
WINDOW_FRAMES = 1000  # positions restart every 20 s (1000 states), as the clip path's windows
MASKED = -1e9  # a large finite mask: a frame that sees nothing yields finite garbage, never NaN
LAYERS = 2
HEADS, HEAD_DIMS = 6, 64
PAD = N_FFT // 2  # Whisper's centred STFT: frame m covers samples 160 m - 200 ... 160 m + 200
AHEAD_S = 0.0725  # audio beyond a frame's start that its state needs (see the module docstring)


class StreamingLogMel:
    """Whisper's log-mel of audio arriving in pieces: frame ``m`` once the samples up to ``160 m + 200`` are in."""

    def __init__(self) -> None:
        self._buffer = np.zeros(0, np.float32)  # padded samples from frame self.frames's first
        self._raw = np.zeros(0, np.float32)  # the first samples, until the start's reflection can be made
        self._started = False
        self.frames = 0  # mel frames given out
        self._max = -np.inf

    def push(self, samples: np.ndarray) -> np.ndarray:
        """The new mel frames [m, 80] (float32) that ``samples`` complete."""
        return self.floor(log_power(self.take(samples)))

    def take(self, samples: np.ndarray) -> np.ndarray:
        """The windows [m, 400] of the mel frames that ``samples`` complete (their :func:`log_power` goes to
        :meth:`floor`: many streams' windows are computed together)."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        if not self._started:
            self._raw = np.concatenate([self._raw, samples])
            if len(self._raw) <= PAD:
                return NO_WINDOWS
            self._buffer = np.concatenate([self._raw[PAD:0:-1], self._raw])  # reflect padding, as Whisper's
            self._started, self._raw = True, np.zeros(0, np.float32)
        else:
            self._buffer = np.concatenate([self._buffer, samples])
        count = max(0, (len(self._buffer) - N_FFT) // HOP + 1)
        if count == 0:
            return NO_WINDOWS
        buffer = self._buffer  # windows every HOP samples: a strided view (sliding_window_view costs more)
        windows = np.lib.stride_tricks.as_strided(buffer, (count, N_FFT), (HOP * buffer.strides[0], buffer.strides[0]),
                                                  writeable=False)
        self._buffer = self._buffer[count * HOP:]
        return windows

    def floor(self, log_spec: np.ndarray) -> np.ndarray:
        """The mel frames [m, 80] from the :func:`log_power` of :meth:`take`'s windows, in order."""
        if not len(log_spec):
            return np.zeros((0, N_MELS), np.float32)
        running = np.maximum.accumulate(np.maximum(log_spec.max(axis=1), self._max))  # frame by frame: the same
        self._max = float(running[-1])  # whatever pieces the audio comes in
        self.frames += len(log_spec)
        return ((np.maximum(log_spec, running[:, None] - 8.0) + 4.0) / 4.0).astype(np.float32)


NO_WINDOWS = np.zeros((0, N_FFT), np.float32)


def log_power(windows: np.ndarray) -> np.ndarray:
    """log10 of the mel power [m, 80] of ``m`` STFT windows [m, 400] (before Whisper's floor)."""
    if not len(windows):
        return np.zeros((0, N_MELS), np.float32)
    spectrum = np.fft.rfft(windows * _window(), axis=-1).astype(np.complex64)
    power = spectrum.real ** 2 + spectrum.imag ** 2
    return np.log10(np.maximum(power @ mel_filters().T, 1e-10))


class StreamEncoder:
    """The exported step's ONNX Runtime session (one for all streams), and every stream's kept state in one pool
    of arrays, a slot per stream, so that a step's ONNX Runtime call reads the rings in place where the stepping
    streams' slots are consecutive (copying 1.2 MB per stream per step cost more than the step itself)."""

    def __init__(self, path: str | os.PathLike[str], threads: int = 1) -> None:
        self.path = os.fspath(path)
        self.session = inference_session(self.path, threads)
        shapes = {i.name: i.shape for i in self.session.get_inputs()}
        self.history = int(shapes["keys0"][-1])
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._lock = threading.RLock()
        self._free: list[int] = []
        self.pool: dict[str, np.ndarray] = {}
        self._grow(4)

    def _grow(self, capacity: int) -> None:
        shapes = {"mel_prev": (2, N_MELS), "conv_prev": (1, STATE_DIMS), "query0": (1, STATE_DIMS),
                  "query1": (1, STATE_DIMS), "keys0": (HEADS, HEAD_DIMS, self.history),
                  "keys1": (HEADS, HEAD_DIMS, self.history), "values0": (HEADS, self.history, HEAD_DIMS),
                  "values1": (HEADS, self.history, HEAD_DIMS)}
        old = len(self.pool.get("frames", ()))
        pool = {name: np.zeros((capacity, *shape), np.float32) for name, shape in shapes.items()}
        pool["frames"] = np.full((capacity, LAYERS, self.history), -1, np.int64)  # frame in each ring slot
        for name, array in self.pool.items():
            pool[name][:old] = array
        self.pool = pool
        self._free += list(range(capacity - 1, old - 1, -1))

    def allocate(self) -> int:
        """A fresh slot (the lowest free one, so that a batch's slots tend to be consecutive)."""
        with self._lock:
            if not self._free:
                self._grow(2 * len(self.pool["frames"]))
            self._free.sort(reverse=True)
            slot = self._free.pop()
            for name, array in self.pool.items():
                array[slot] = -1 if name == "frames" else 0
            return slot

    def release(self, slot: int) -> None:
        with self._lock:
            self._free.append(slot)

    def run(self, streams: Sequence[WhisperStream]) -> None:
        """Every step the streams' mel frames allow, one ONNX Runtime call per step for all the streams that
        have one; each stream's new states go to its ``states`` list. A stream named twice (two chunks of one
        stream in a daemon batch) is run once, with all its audio."""
        streams = list({id(s): s for s in streams}.values())
        with self._lock:
            hear(streams)
            while True:
                ready = sorted((s for s in streams if s.steps_ready()), key=lambda s: s.slot)
                if not ready:
                    return
                slots = np.array([s.slot for s in ready])
                if slots[-1] - slots[0] == len(slots) - 1:  # consecutive: the pool's own memory
                    part: slice | np.ndarray = slice(int(slots[0]), int(slots[-1]) + 1)
                else:
                    part = slots
                steps = np.array([s.step for s in ready])
                mel = np.stack([s.next_mel() for s in ready])
                frames = self.pool["frames"][part]
                feeds = {name: self.pool[name][part] for name in ("mel_prev", "conv_prev", "query0", "keys0",
                                                                  "values0", "query1", "keys1", "values1")}
                feeds |= {"mel": mel, "position": ((steps - 1) % WINDOW_FRAMES).astype(np.int64),
                          "mask0": _masks(frames[:, 0], steps - 2), "mask1": _masks(frames[:, 1], steps - 3)}
                out = dict(zip(self.output_names, self.session.run(None, feeds)))
                self._keep(slots, steps, mel, out)
                for k, stream in enumerate(ready):
                    stream.advance(out["state"][k, 0])

    def _keep(self, slots: np.ndarray, steps: np.ndarray, mel: np.ndarray, out: dict[str, np.ndarray]) -> None:
        """One step's outputs into the pool: the new keys and values into the rings, the new pending queries,
        the convolutions' last inputs."""
        pool = self.pool
        pool["mel_prev"][slots], pool["conv_prev"][slots] = mel, out["conv"]
        pool["query0"][slots], pool["query1"][slots] = out["x0"], out["y0"]
        cell = np.arange(HEADS * HEAD_DIMS)  # (head, dim) of a key or value, in order
        for layer, frames in ((0, steps - 1), (1, steps - 2)):
            real = frames >= 0
            rows, frame = slots[real], frames[real]
            ring = frame % self.history
            # flat indices into the contiguous pool arrays: one scatter per array instead of one write per stream
            keys = (rows[:, None] * (HEADS * HEAD_DIMS) + cell[None, :]) * self.history + ring[:, None]
            head, dim = np.divmod(cell, HEAD_DIMS)
            values = ((rows[:, None] * HEADS + head[None, :]) * self.history + ring[:, None]) * HEAD_DIMS + dim
            width = HEADS * HEAD_DIMS
            pool[f"keys{layer}"].reshape(-1)[keys] = out[f"key{layer}"][real].reshape(len(rows), width)
            pool[f"values{layer}"].reshape(-1)[values] = out[f"value{layer}"][real].reshape(len(rows), width)
            pool["frames"][rows, layer, ring] = frame


def hear(streams: Sequence[WhisperStream]) -> None:
    """The mel frames of the audio the streams took, the spectra of all of them in one call."""
    pending = [s for s in streams if len(s.windows)]
    if not pending:
        return
    parts = [np.concatenate(s.windows) if len(s.windows) > 1 else s.windows[0] for s in pending]
    spectra = log_power(np.concatenate(parts))
    at = 0
    for stream, part in zip(pending, parts):
        stream.add_mel(stream.mel.floor(spectra[at:at + len(part)]))
        at += len(part)
        stream.windows = []


def _masks(frames: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Each row's mask [H + 1] for query frame ``queries[k]`` over ring frames ``frames[k]`` and the frame after
    the query: 0 for the written frames of the query's 20 s window, :data:`MASKED` for the rest."""
    window = (queries // WINDOW_FRAMES)[:, None]
    seen = (frames >= 0) & (frames // WINDOW_FRAMES == window)
    ahead = (queries[:, None] + 1) // WINDOW_FRAMES == window
    return np.where(np.concatenate([seen, ahead], 1), 0.0, MASKED).astype(np.float32)


class WhisperStream:
    """One stream: its mel frames and step count here, its kept state in its ``encoder``'s pool slot.
    :meth:`push` audio, ``encoder.run`` the streams, then :meth:`take` the new states."""

    def __init__(self, encoder: StreamEncoder) -> None:
        self.mel = StreamingLogMel()
        self._queue = np.zeros((0, N_MELS), np.float32)  # mel frames not yet stepped
        self.slot = encoder.allocate()
        weakref.finalize(self, encoder.release, self.slot)
        self._encoder = encoder
        self.step = 0  # steps done; step s takes mel frames 2s - 1 and 2s and gives the state of frame s - 3
        self.samples = 0
        self.states: list[np.ndarray] = []  # [384] each, in frame order: taken by the caller
        self.windows: list[np.ndarray] = []  # mel windows taken, not yet computed

    @property
    def frames_out(self) -> int:
        """States computed so far (frames 0 ... frames_out - 1)."""
        return max(0, self.step - 3)

    def push(self, samples: np.ndarray) -> None:
        """Audio in: its mel windows wait for the encoder's ``run`` (which computes every stream's together)."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        self.samples += len(samples)
        windows = self.mel.take(samples)
        if len(windows):
            self.windows.append(windows)

    def add_mel(self, mel: np.ndarray) -> None:
        if self.step == 0 and len(mel):  # mel frame 0 starts the convolutions (zero padding before it)
            with self._encoder._lock:
                self._encoder.pool["mel_prev"][self.slot, 1] = mel[0]
            mel, self.step = mel[1:], 1
        self._queue = np.concatenate([self._queue, mel])

    def finish(self, frames: int) -> None:
        """Silence after the end, enough for the states of frames 0 ... ``frames`` - 1."""
        needed = HOP * 2 * (frames + 2) + PAD + 1  # step frames + 2 takes mel frame 2 (frames + 2)
        if self.samples < needed:
            self.push(np.zeros(needed - self.samples, np.float32))

    def steps_ready(self) -> bool:
        return self.step > 0 and len(self._queue) >= 2

    def next_mel(self) -> np.ndarray:
        """The next step's two mel frames [2, 80]."""
        return self._queue[:2]

    def advance(self, state: np.ndarray) -> None:
        """One step done: its two mel frames used, ``state`` [384] (frame step - 3's) kept if it is a frame."""
        self._queue = self._queue[2:]
        if self.step >= 3:
            self.states.append(np.array(state, np.float32).reshape(-1))
        self.step += 1

    def take(self) -> np.ndarray:
        """The states computed since the last take [n, 384]."""
        out = np.stack(self.states) if self.states else np.zeros((0, STATE_DIMS), np.float32)
        self.states = []
        return out


def stream_states(encoder: StreamEncoder, clips: Sequence[np.ndarray], chunk: int = 0,
                  frames: Sequence[int] | None = None) -> list[np.ndarray]:
    """The states [len(audio) // 320, 384] a stream computes for each 16 kHz clip, all the clips run as one batch
    of streams; ``chunk`` > 0: the audio arrives in pieces of that many samples (the same states: tests)."""
    streams = [WhisperStream(encoder) for _ in clips]
    counts = [len(a) // (2 * HOP) for a in clips] if frames is None else list(frames)
    parts: list[list[np.ndarray]] = [[] for _ in clips]
    longest = max((len(a) for a in clips), default=0)
    step = chunk if chunk > 0 else max(longest, 1)
    for at in range(0, longest, step):
        for stream, audio in zip(streams, clips):
            if at < len(audio):
                stream.push(audio[at:at + step])
        encoder.run(streams)
        for stream, part in zip(streams, parts):
            part.append(stream.take())
    for stream, count in zip(streams, counts):
        stream.finish(count)
    encoder.run(streams)
    out = []
    for stream, part, count in zip(streams, parts, counts):
        states = np.concatenate([*part, stream.take()])[:count]
        out.append(np.ascontiguousarray(states, dtype=np.float32))
    return out
