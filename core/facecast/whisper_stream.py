"""Whisper tiny.en's first two layers computed frame by frame, for live streams, from numpy and ONNX Runtime only.

A stream cannot run the clip path's encoder (:mod:`facecast.whisper_states`): each of its states sees 20 s of
audio in both directions. What a stream can compute instead (measured in docs/NEURAL.md, "Whisper's jaw in
streams"): each layer's attention limited to the last ``history`` frames and **one frame ahead**, inside windows
whose positions restart at 0 where speech starts after a second without, and after 20 s at the latest, as the
clip path's windows do (:func:`next_window`). With two layers and the convolutions that is 60 ms of lookahead
(:data:`AHEAD_S` past a frame's start), within the learned model's own.

The exported step (``whisper_tiny_en_stream.onnx``, written by ``python -m facecast.train.whisper_stream_export``)
computes one 20 ms frame for a batch of streams: both convolutions on the two newest mel frames, then in each
layer the keys and values of its newest input and the output of the frame before it (the one frame of
lookahead). The keys and values live here, in each stream's ring of ``history`` frames (:class:`StreamEncoder`'s
pool), and the step's masks say which of them a frame may see (written, and in the query's window).

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
from collections.abc import Callable, Sequence

import numpy as np

from facecast.features import strided_windows
from facecast.runtime import inference_session
from facecast.whisper_states import HOP, N_FFT, N_MELS, STATE_DIMS, mel_power

STREAM_FILE = "whisper_tiny_en_stream.onnx"
WINDOW_FRAMES = 1000  # positions restart after 20 s (1000 states) at the latest, as the clip path's windows ...
ONSET_QUIET = 50  # ... and where speech starts after 1 s without (:func:`next_window`)
MASKED = -1e9  # a large finite mask: a frame that sees nothing yields finite garbage, never NaN
LAYERS = 2
HEADS, HEAD_DIMS = 6, 64
PAD = N_FFT // 2  # Whisper's centred STFT: frame m covers samples 160 m - 200 ... 160 m + 200
AHEAD_S = 0.0725  # audio beyond a frame's start that its state needs (see the module docstring)
SPEECH_FLOOR = -2.5  # heard speech: a mel frame whose peak log10 power is at least this ...
SPEECH_BELOW = 3.0  # ... and within 30 dB (log10 units) of the loudest frame so far


class StreamingLogMel:
    """Whisper's log-mel of audio arriving in pieces: frame ``m`` once the samples up to ``160 m + 200`` are in."""

    def __init__(self) -> None:
        self._buffer = np.zeros(0, np.float32)  # padded samples from the next mel frame's first
        self._raw = np.zeros(0, np.float32)  # the first samples, until the start's reflection can be made
        self._started = False
        self._max = -np.inf
        self.speech = np.zeros(0, bool)  # of the frames the last floor() gave out: loud enough to be speech

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
        windows = strided_windows(self._buffer, count, N_FFT, HOP)
        self._buffer = self._buffer[count * HOP:]
        return windows

    def floor(self, log_spec: np.ndarray) -> np.ndarray:
        """The mel frames [m, 80] from the :func:`log_power` of :meth:`take`'s windows, in order (each frame
        floored 8 below the loudest frame so far: the same whatever pieces the audio comes in); their speech
        flags go to :attr:`speech`: loud in itself (room tone at -45 dBFS peaks near -3.4, speech at -20 dBFS
        near +0.3, log10 of the mel power) and within 30 dB of the loudest frame so far."""
        if not len(log_spec):
            self.speech = np.zeros(0, bool)
            return np.zeros((0, N_MELS), np.float32)
        mel, speech = floor_together([self], log_spec[None])
        self.speech = speech[0]
        return mel[0]


NO_WINDOWS = np.zeros((0, N_FFT), np.float32)


def log_power(windows: np.ndarray) -> np.ndarray:
    """log10 of the mel power [m, 80] of ``m`` STFT windows [m, 400] (before Whisper's floor)."""
    if not len(windows):
        return np.zeros((0, N_MELS), np.float32)
    return np.log10(np.maximum(mel_power(windows), 1e-10)).T


def next_window(start: int, quiet: int, frame: int, heard: bool) -> tuple[int, int]:
    """The first frame of ``frame``'s window, and the frames without speech before it, from the previous frame's
    (``start``, ``quiet``) and whether ``frame`` is heard speech.

    Why restart at an onset: Whisper reads speech best near the start of its positions (a clip's window starting
    at position 300 or 1400 lost 0.024 and 0.098 on the folds, docs/NEURAL.md, eleventh round), and a stream's
    speech starts anywhere, for an NPC after any wait. A restart after 1 s without speech loses no context worth
    keeping; a window also restarts after 1000 frames, as the clip path's 20 s windows do."""
    if frame - start >= WINDOW_FRAMES or (heard and quiet >= ONSET_QUIET and frame > start):
        start = frame
    return start, 0 if heard else quiet + 1


def window_starts(heard: np.ndarray) -> np.ndarray:
    """Each frame's window start for a whole clip's per-frame ``heard`` [T] (what a stream computes frame by
    frame with :func:`next_window`)."""
    starts, start, quiet = np.zeros(len(heard), np.int64), 0, 0
    for frame, speech in enumerate(np.asarray(heard, bool).tolist()):
        start, quiet = next_window(start, quiet, frame, speech)
        starts[frame] = start
    return starts


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
        pool["windows"] = np.full((capacity, LAYERS, self.history), -1, np.int64)  # and its window's start
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
                array[slot] = -1 if name in ("frames", "windows") else 0
            return slot

    def release(self, slot: int) -> None:
        with self._lock:
            self._free.append(slot)

    def run(self, streams: Sequence[WhisperStream], sink: StateSink | None = None) -> None:
        """Every step the streams' mel frames allow, one ONNX Runtime call per step for all the streams that
        have one. A step's new states go to ``sink`` (the streams that gave one, their states [n, 384], frame
        indices [n] and whether each frame was heard as speech: one call for all of them), by default to each
        stream's ``states`` list. A stream named twice (two chunks of one stream in a daemon batch) is run once,
        with all its audio."""
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
                # the windows of frames s - 1 (the new input), s - 2 and s - 3 (the two layers' queries)
                windows = np.array([s.windows_of_step() for s in ready], np.int64)
                frames, kept = self.pool["frames"][part], self.pool["windows"][part]
                feeds = {name: self.pool[name][part] for name in ("mel_prev", "conv_prev", "query0", "keys0",
                                                                  "values0", "query1", "keys1", "values1")}
                feeds |= {"mel": mel, "position": (steps - 1 - windows[:, 0]).astype(np.int64),
                          "mask0": _masks(frames[:, 0], kept[:, 0], windows[:, 1], windows[:, 0]),
                          "mask1": _masks(frames[:, 1], kept[:, 1], windows[:, 2], windows[:, 1])}
                out = dict(zip(self.output_names, self.session.run(None, feeds)))
                self._keep(slots, steps, windows, mel, out)
                done = [stream.advance() for stream in ready]  # (frame, heard) of the state each step gave
                gave = [k for k, frame in enumerate(done) if frame is not None]
                if gave:
                    states = out["state"][gave, 0]
                    frame_heard = np.array([done[k] for k in gave], np.int64).reshape(-1, 2)
                    (sink or _append)([ready[k] for k in gave], states, frame_heard[:, 0], frame_heard[:, 1] > 0)

    def _keep(self, slots: np.ndarray, steps: np.ndarray, windows: np.ndarray, mel: np.ndarray,
              out: dict[str, np.ndarray]) -> None:
        """One step's outputs into the pool: the new keys and values into the rings, the new pending queries,
        the convolutions' last inputs."""
        pool = self.pool
        pool["mel_prev"][slots], pool["conv_prev"][slots] = mel, out["conv"]
        pool["query0"][slots], pool["query1"][slots] = out["x0"], out["y0"]
        for layer, frames, starts in ((0, steps - 1, windows[:, 0]), (1, steps - 2, windows[:, 1])):
            real = frames >= 0
            rows, frame = slots[real], frames[real]
            ring = frame % self.history
            # [rows, heads, dims] at each row's own ring slot: one scatter per array
            pool[f"keys{layer}"][rows, :, :, ring] = out[f"key{layer}"][real, :, :, 0]
            pool[f"values{layer}"][rows, :, ring, :] = out[f"value{layer}"][real, :, 0, :]
            pool["frames"][rows, layer, ring] = frame
            pool["windows"][rows, layer, ring] = starts[real]


StateSink = Callable[[list["WhisperStream"], np.ndarray, np.ndarray, np.ndarray], None]


def _append(streams: list[WhisperStream], states: np.ndarray, frames: np.ndarray, heard: np.ndarray) -> None:
    """The default sink: each stream's new state onto its ``states`` (and ``heard``) list."""
    for stream, state, speech in zip(streams, states, heard.tolist()):
        stream.states.append(np.array(state, np.float32))
        stream.heard.append(speech)


def hear(streams: Sequence[WhisperStream]) -> None:
    """The mel frames of the audio the streams took: the spectra of all of them in one call, then the floors of
    the streams with as many new frames together (in a live batch, all of them: two frames per 20 ms)."""
    pending = [s for s in streams if len(s.windows)]
    if not pending:
        return
    parts = [np.concatenate(s.windows) if len(s.windows) > 1 else s.windows[0] for s in pending]
    spectra = log_power(np.concatenate(parts))
    starts = np.cumsum([0] + [len(part) for part in parts])
    groups: dict[int, list[int]] = {}
    for k, part in enumerate(parts):
        groups.setdefault(len(part), []).append(k)
    for count, members in groups.items():
        rows = (starts[members][:, None] + np.arange(count)[None, :]).reshape(-1)
        floored, speech = floor_together([pending[k].mel for k in members],
                                         spectra[rows].reshape(len(members), count, N_MELS))
        for k, mel, heard in zip(members, floored, speech):
            pending[k].add_mel(mel, heard)
            pending[k].windows = []


def floor_together(mels: Sequence[StreamingLogMel], log_spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`StreamingLogMel.floor` of several streams' next frames at once (``log_spec`` [streams, m, 80]):
    their mel frames [streams, m, 80] and speech flags [streams, m]."""
    peaks = log_spec.max(axis=2)
    before = np.array([mel._max for mel in mels], np.float32)  # float32 throughout, as one stream's
    running = np.maximum.accumulate(np.maximum(peaks, before[:, None]), axis=1)
    for mel, loudest in zip(mels, running[:, -1].tolist()):
        mel._max = loudest
    speech = (peaks >= SPEECH_FLOOR) & (peaks - running >= -SPEECH_BELOW)
    return ((np.maximum(log_spec, running[..., None] - 8.0) + 4.0) / 4.0).astype(np.float32), speech


def _masks(frames: np.ndarray, kept: np.ndarray, query: np.ndarray, ahead: np.ndarray) -> np.ndarray:
    """Each row's mask [H + 1] over its ring (``frames`` and their window starts ``kept`` [B, H]) and the frame
    after the query: 0 for the written frames of the query's window (``query`` [B]: its start), and for the
    frame ahead if its window (``ahead`` [B]) is the query's; :data:`MASKED` for the rest."""
    seen = (frames >= 0) & (kept == query[:, None])
    return np.where(np.concatenate([seen, (ahead == query)[:, None]], 1), 0.0, MASKED).astype(np.float32)


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
        self.heard: list[bool] = []  # beside states: the frame's loudness says speech (take_heard)
        self._speech = np.zeros(0, bool)  # mel frames' StreamingLogMel.speech, from mel frame _speech_start
        self._speech_start = 0
        self._frames: dict[int, tuple[int, bool]] = {}  # recent frames' (window start, heard speech)
        self._start, self._quiet = 0, 0  # the last decided frame's window start, and frames without speech

    def push(self, samples: np.ndarray) -> None:
        """Audio in: its mel windows wait for the encoder's ``run`` (which computes every stream's together)."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        self.samples += len(samples)
        windows = self.mel.take(samples)
        if len(windows):
            self.windows.append(windows)

    def add_mel(self, mel: np.ndarray, speech: np.ndarray) -> None:
        """New mel frames [m, 80] and their speech flags [m] (:func:`hear`)."""
        self._speech = np.concatenate([self._speech, speech])
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

    def advance(self) -> tuple[int, bool] | None:
        """One step done, its two mel frames used: the frame whose state it gave (step - 3) and whether that
        frame was heard as speech, or None before frame 0."""
        self._queue = self._queue[2:]
        frame = self.step - 3
        gave = (frame, self._frames[frame][1]) if frame >= 0 else None
        self._frames.pop(frame - 1, None)  # the oldest a later step asks for is frame step - 2
        self.step += 1
        return gave

    def windows_of_step(self) -> tuple[int, int, int]:
        """The window starts of the next step's frames s - 1 (its new input: decided here, :func:`next_window`,
        from whether its mel frames are speech), s - 2 and s - 3 (the layers' queries); -1 before frame 0."""
        frame = self.step - 1
        if frame >= 0 and frame not in self._frames:
            at = 2 * frame - self._speech_start  # mel frames 2 frame and 2 frame + 1 are this frame's own
            heard = bool(self._speech[max(at, 0):at + 2].any())
            self._start, self._quiet = next_window(self._start, self._quiet, frame, heard)
            self._frames[frame] = (self._start, heard)
            self._speech, self._speech_start = self._speech[max(at, 0):], self._speech_start + max(at, 0)
        return tuple(self._frames[f][0] if f in self._frames else -1  # type: ignore[return-value]
                     for f in (frame, frame - 1, frame - 2))

    def take(self) -> np.ndarray:
        """The states computed since the last take [n, 384]."""
        out = np.stack(self.states) if self.states else np.zeros((0, STATE_DIMS), np.float32)
        self.states = []
        return out

    def take_heard(self) -> np.ndarray:
        """For the same states, whether each frame was loud enough to be speech (:data:`SPEECH_FLOOR`,
        :data:`SPEECH_BELOW`): what a stream's fusion learns its statistics from."""
        out = np.array(self.heard, bool)
        self.heard = []
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
