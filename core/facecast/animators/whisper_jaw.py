"""The mouth opening read from Whisper tiny.en's encoder states, for whole clips.

Whisper's encoder was trained on 680 000 hours of many voices to carry what was said. A linear read-out of its
states (a ridge "head" fitted on the captured lip gap of ``../shared/data/train``) follows unseen speakers'
mouths better than any network this project can train on 55 minutes of mostly one speaker (docs/NEURAL.md,
"Whisper's states in the clip path"). It sees the whole clip in both directions (20 s windows), so only whole
clips use it: the ``neural`` animator fuses its curve with the learned model's JawOpen (:mod:`fusion`).

The head is pure numpy: the states' principal components (``mean``, ``basis``, ``scale``), each 20 ms frame with
its neighbours at ``lags`` frames, one weight per (lag, component) and a bias, and beside it a small
convolution on the same components (:class:`ConvHead`; causal in a stream's head). It predicts the lip gap in
the clip's standard units (mean 0, spread 1), as the fusion wants. Files (``core/facecast/models/neural/``):
``whisper_tiny_en_encoder.onnx`` (the encoder, run by ONNX Runtime: :mod:`facecast.whisper_states`) and
``whisper_jaw.npz`` (the head, ``python -m facecast.train.whisper_jaw fit``).
"""

from __future__ import annotations

import threading
from dataclasses import astuple, dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facecast.animators.fusion import FusionPrior, RunningFusion
from facecast.audio import MODEL_RATE
from facecast.errors import InvalidInput
from facecast.features import FRAME_S
from facecast.motion import ProgressCallback

if TYPE_CHECKING:
    from facecast.whisper_stream import StreamEncoder, WhisperStream

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "neural"
ENCODER_FILE = MODEL_DIR / "whisper_tiny_en_encoder.onnx"
HEAD_FILE = MODEL_DIR / "whisper_jaw.npz"
STREAM_FILE = MODEL_DIR / "whisper_tiny_en_stream.onnx"  # the streaming step (facecast.whisper_stream)
STREAM_HEAD_FILE = MODEL_DIR / "whisper_stream_jaw.npz"  # its head: lags -8 ... 0, and the fusion's prior
# What a stream's fusion trusts its prior for before its own speech (RunningFusion's prior_frames): 10 s. A few
# seconds of one speaker give noisy statistics; 500 frames against 50 (the fourteenth stop's) gained 0.007-0.009
# on the leave-one-source-out folds (docs/NEURAL.md, "A steadier stream fusion").
STREAM_PRIOR_FRAMES = 500
# The encoder is 95 % of a whole clip's work: two intra-op threads (a 2-core machine's both cores, for the
# fraction of a second a clip takes) make a clip 1.7 times as fast (docs/NEURAL.md, "Speed and memory")
THREADS = 2


def lagged(pcs: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Rows [T, len(lags) * D]: each frame's components beside those ``lag`` frames later (ends held)."""
    frames = len(pcs)
    index = np.clip(np.arange(frames)[:, None] + np.asarray(lags)[None, :], 0, max(frames - 1, 0))
    return pcs[index].reshape(frames, -1)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function to within 1.5e-7 (Abramowitz and Stegun 7.1.26), in numpy alone: the Blender add-on
    runs the ``neural`` animator in Blender's Python, which has no scipy."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


def gelu(x: np.ndarray) -> np.ndarray:
    """PyTorch's GELU (the exact, erf form)."""
    x = np.asarray(x, np.float64)
    return (0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))).astype(np.float32)


@dataclass(frozen=True)
class ConvHead:
    """A small causal convolution on a head's components, added to its ridge read-out (a stream's head):
    Conv1d(k1) -> GELU -> Conv1d(k2), each output frame seeing its own frame and those before it, zeros before
    the first. The head's output is then ``ridge / ridge_spread + conv / conv_spread`` (each over its spread on
    the training clips). Why: beside the ridge head it follows unseen speakers' mouths better on the
    leave-one-source-out folds (docs/NEURAL.md, "A convolution beside the stream's ridge head")."""

    w1: np.ndarray  # [W, D, k1], as torch's Conv1d weight
    b1: np.ndarray  # [W]
    w2: np.ndarray  # [W, k2] (the second convolution's one output channel)
    b2: float
    ridge_spread: float
    conv_spread: float
    centred: bool = False  # a whole clip's head: each tap window centred on its frame (odd taps), zeros past the ends

    @cached_property
    def _taps1(self) -> np.ndarray:  # [k1 * D, W]: the first convolution as one product of a tap window
        return np.ascontiguousarray(self.w1.transpose(2, 1, 0).reshape(-1, self.w1.shape[0]))

    @cached_property
    def _taps2(self) -> np.ndarray:  # [k2 * W]
        return np.ascontiguousarray(self.w2.T.reshape(-1))

    def first(self, windows: np.ndarray) -> np.ndarray:
        """The first convolution after the GELU [n, W] of ``n`` windows of components [n, k1, D], oldest first."""
        return gelu(windows.reshape(len(windows), -1) @ self._taps1 + self.b1)

    def second(self, windows: np.ndarray) -> np.ndarray:
        """The convolution's output [n] of ``n`` windows of :meth:`first`'s values [n, k2, W], oldest first."""
        return (windows.reshape(len(windows), -1) @ self._taps2 + self.b2).astype(np.float32)

    def _windows(self, x: np.ndarray, taps: int) -> np.ndarray:
        """Each frame's tap window [T, taps, C] of ``x`` [T, C]: the frame and those before it (causal) or around
        it (centred), zeros past the ends."""
        before, after = (taps // 2, taps // 2) if self.centred else (taps - 1, 0)
        padded = np.concatenate([np.zeros((before, x.shape[1]), np.float32), x,
                                 np.zeros((after, x.shape[1]), np.float32)])
        return padded[np.arange(len(x))[:, None] + np.arange(taps)[None, :]]

    def predict(self, pcs: np.ndarray) -> np.ndarray:
        """The convolution's output [T] from components [T, D]."""
        hidden = self.first(self._windows(pcs, self.w1.shape[2]))
        return self.second(self._windows(hidden, self.w2.shape[1]))


@dataclass(frozen=True)
class JawHead:
    """A linear read-out of Whisper states (see the module docstring), with a :class:`ConvHead` beside it where
    ``conv`` is given."""

    mean: np.ndarray  # [384]
    basis: np.ndarray  # [384, D]
    scale: float
    lags: np.ndarray  # [K] ints, frames of 20 ms
    weights: np.ndarray  # [K * D]
    bias: float
    conv: ConvHead | None = None

    def components(self, states: np.ndarray) -> np.ndarray:
        return ((states - self.mean) @ self.basis / self.scale).astype(np.float32)

    def ridge(self, states: np.ndarray) -> np.ndarray:
        """The linear read-out alone [T]."""
        if len(states) == 0:
            return np.zeros(0, np.float32)
        return (lagged(self.components(states), self.lags) @ self.weights + self.bias).astype(np.float32)

    def predict(self, states: np.ndarray) -> np.ndarray:
        """The lip gap [T] at 50 frames/s, in standard units, from states [T, 384]."""
        ridge = self.ridge(states)
        if self.conv is None or len(states) == 0:
            return ridge
        conv = self.conv.predict(self.components(states))
        return (ridge / self.conv.ridge_spread + conv / self.conv.conv_spread).astype(np.float32)

    def save(self, path: Path, prior: FusionPrior | None = None) -> None:
        """Write the head (and, for a stream's head, the fusion's ``prior``)."""
        from facecast.fileio import atomic_path

        arrays: dict[str, np.ndarray] = {
            "mean": self.mean.astype(np.float32), "basis": self.basis.astype(np.float32),
            "scale": np.float32(self.scale), "lags": self.lags.astype(np.int64),
            "weights": self.weights.astype(np.float32), "bias": np.float32(self.bias)}
        if prior is not None:
            arrays["prior"] = np.array(astuple(prior), np.float32)
        if self.conv is not None:
            c = self.conv
            arrays |= {"conv_w1": c.w1.astype(np.float32), "conv_b1": c.b1.astype(np.float32),
                       "conv_w2": c.w2.astype(np.float32), "conv_b2": np.float32(c.b2),
                       "conv_spreads": np.array([c.ridge_spread, c.conv_spread], np.float32),
                       "conv_centred": np.array(c.centred)}
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> JawHead:
        try:
            with np.load(path, allow_pickle=False) as d:
                conv = None
                if "conv_w1" in d.files:
                    spreads = d["conv_spreads"]
                    conv = ConvHead(d["conv_w1"], d["conv_b1"], d["conv_w2"], float(d["conv_b2"]),
                                    float(spreads[0]), float(spreads[1]),
                                    bool(d["conv_centred"]) if "conv_centred" in d.files else False)
                return cls(d["mean"], d["basis"], float(d["scale"]), d["lags"], d["weights"], float(d["bias"]),
                           conv)
        except (OSError, KeyError, ValueError) as e:
            raise InvalidInput(f"{path}: not a Whisper jaw head ({e})") from e


def at_fps(curve: np.ndarray, fps: int, frames: int) -> np.ndarray:
    """A 50 frames/s curve sampled at output frames ``i / fps`` (linear, ends held)."""
    if len(curve) == 0:
        return np.zeros(frames, np.float32)
    t = np.arange(frames) / fps / FRAME_S
    return np.interp(t, np.arange(len(curve)), curve).astype(np.float32)


class WhisperJaw:
    """The encoder's ONNX Runtime session and the head: ``jaw(samples, fps, frames)`` for a whole clip."""

    def __init__(self, encoder_path: Path = ENCODER_FILE, head_path: Path = HEAD_FILE, threads: int = THREADS) -> None:
        from facecast.whisper_states import WhisperStates

        self.head = JawHead.load(head_path)
        self.states = WhisperStates(encoder_path, threads=threads)

    def jaw(self, samples: np.ndarray, fps: int, frames: int,
            progress: ProgressCallback | None = None) -> np.ndarray:
        """The lip gap [frames] in standard units at ``fps`` for 16 kHz float samples; ``progress(seconds heard,
        seconds in all)`` after each 20 s window."""
        seconds = len(samples) / MODEL_RATE

        def heard(done: int, windows: int) -> None:
            if progress is not None:
                progress(seconds * done / max(windows, 1), seconds)

        states = self.states.states(samples, progress=heard)
        return at_fps(self.head.predict(states), fps, frames)


def available() -> bool:
    """Whether the shipped encoder and head are present (without them, whole clips are the model's alone, or
    fused with ``phonetic`` where a transcript aligns or it is asked for)."""
    return ENCODER_FILE.is_file() and HEAD_FILE.is_file()


def stream_available() -> bool:
    """Whether the streaming step and its head are present (without them, streams are the model's alone)."""
    return STREAM_FILE.is_file() and STREAM_HEAD_FILE.is_file()


def load_prior(path: Path) -> FusionPrior:
    try:
        with np.load(path, allow_pickle=False) as d:
            return FusionPrior(*(float(v) for v in d["prior"]))
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise InvalidInput(f"{path}: not a stream's Whisper jaw head ({e})") from e


class StreamWhisper:
    """What every stream shares: the streaming step's session and pool (:class:`facecast.whisper_stream.
    StreamEncoder`), the head and the fusion's prior. :meth:`session` makes one stream's :class:`StreamJaw`."""

    def __init__(self, head: JawHead, prior: FusionPrior, encoder: StreamEncoder,
                 prior_frames: int = STREAM_PRIOR_FRAMES) -> None:
        if int(head.lags.max()) > 0:
            raise InvalidInput(f"a stream's Whisper jaw head cannot look ahead (its lags reach {head.lags.max()})")
        if head.conv is not None and head.conv.centred:
            raise InvalidInput("a stream's Whisper jaw head cannot look ahead (its convolution is centred)")
        self.head, self.prior, self.encoder, self.prior_frames = head, prior, encoder, prior_frames
        # the head as one product per state: state @ project + offset is that state's term for each lag
        lag_weights = head.weights.reshape(len(head.lags), -1)  # [K, D], as ``lagged`` lays the rows out
        self.project = (head.basis @ lag_weights.T / head.scale).astype(np.float32)  # [384, K]
        self.offset = (-head.mean @ self.project).astype(np.float32)
        # each encoder slot's ring of its stream's last terms [slots, 1 - lags.min(), K] (:meth:`_collect`)
        self._terms = np.zeros((0, 1 - int(head.lags.min()), len(head.lags)), np.float32)
        # with a convolution: each slot's last components [slots, k1, D] and hidden values [slots, k2, W]
        conv = head.conv
        self._pcs = np.zeros((0, conv.w1.shape[2], conv.w1.shape[1]) if conv else (0, 1, 1), np.float32)
        self._hidden = np.zeros((0, conv.w2.shape[1], conv.w2.shape[0]) if conv else (0, 1, 1), np.float32)

    @classmethod
    def load(cls, step_path: Path = STREAM_FILE, head_path: Path = STREAM_HEAD_FILE,
             threads: int = 1) -> StreamWhisper:
        from facecast.whisper_stream import StreamEncoder

        return cls(JawHead.load(head_path), load_prior(head_path), StreamEncoder(step_path, threads))

    def session(self, weight: float) -> StreamJaw:
        return StreamJaw(self, weight)

    def hear(self, jaws: list[StreamJaw]) -> None:
        """The steps for the audio the streams were given (one ONNX Runtime call per step for all of them), and
        after each step the head on all its new states at once (:meth:`_collect`)."""
        by_stream = {id(jaw.stream): jaw for jaw in jaws}

        def sink(streams: list[WhisperStream], states: np.ndarray, frames: np.ndarray, heard: np.ndarray) -> None:
            self._collect([by_stream[id(s)] for s in streams], states, frames, heard)

        self.encoder.run([jaw.stream for jaw in jaws], sink)

    def _collect(self, jaws: list[StreamJaw], states: np.ndarray, frames: np.ndarray, heard: np.ndarray) -> None:
        """The head's jaw of one new frame each for ``jaws`` (frame indices ``frames``, states [n, 384]): each
        state's term for every lag goes into its stream's ring of the last ``1 - lags.min()`` frames' terms, and
        frame t's jaw is the sum over lags k of frame t + lag_k's k-th term, and the bias. At frame 0 the whole
        ring is frame 0's: before it the first frame is held, as the clip path holds its ends (``lagged``)."""
        slots = np.array([jaw.stream.slot for jaw in jaws])
        if len(self._terms) <= slots.max():  # the encoder's pool grew
            self._terms, self._pcs, self._hidden = (_grown(ring, len(self.encoder.pool["frames"]))
                                                    for ring in (self._terms, self._pcs, self._hidden))
        span = self._terms.shape[1]
        terms = states @ self.project + self.offset  # [n, K]
        self._terms[slots, frames % span] = terms
        first = frames == 0
        if first.any():
            self._terms[slots[first]] = terms[first][:, None, :]
        lags = np.arange(len(self.head.lags))
        jaw = self._terms[slots[:, None], (frames[:, None] + self.head.lags[None, :]) % span, lags[None, :]]
        ridge = jaw.sum(axis=1) + self.head.bias
        values = (ridge if self.head.conv is None else self._with_conv(ridge, slots, states, frames)).tolist()
        for stream_jaw, value, speech in zip(jaws, values, heard.tolist()):
            stream_jaw.jaw.append(value)
            stream_jaw.heard.append(speech)

    def _with_conv(self, ridge: np.ndarray, slots: np.ndarray, states: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """The ridge values [n] with the head's convolution added (:class:`ConvHead`), one frame per slot: each
        slot's rings hold its last components and hidden values, zeros before its frame 0."""
        conv = self.head.conv
        assert conv is not None
        first = frames == 0
        self._pcs[slots[first]] = 0.0
        self._hidden[slots[first]] = 0.0
        k1, k2 = self._pcs.shape[1], self._hidden.shape[1]
        self._pcs[slots, frames % k1] = self.head.components(states)
        hidden = conv.first(self._pcs[slots[:, None], (frames[:, None] - k1 + 1 + np.arange(k1)[None, :]) % k1])
        self._hidden[slots, frames % k2] = hidden
        out = conv.second(self._hidden[slots[:, None], (frames[:, None] - k2 + 1 + np.arange(k2)[None, :]) % k2])
        return ridge / conv.ridge_spread + out / conv.conv_spread


def _grown(ring: np.ndarray, slots: int) -> np.ndarray:
    """A per-slot ring with room for ``slots`` slots (the new ones zero)."""
    grown = np.zeros((slots, *ring.shape[1:]), np.float32)
    grown[:len(ring)] = ring
    return grown


def shared_stream_whisper() -> StreamWhisper:
    """The shipped streaming step and head, loaded once per process: every ``neural`` stream shares them, and
    their pool (the daemon opens streams from several threads at once; each must find the same one)."""
    global _shared
    with _loading:
        if _shared is None:
            _shared = StreamWhisper.load()
        return _shared


_loading = threading.Lock()
_shared: StreamWhisper | None = None


class StreamJaw:
    """One stream's Whisper jaw: its audio into the step, the head on each new state (its neighbours up to
    ``-lags.min()`` frames back), and the fusion of the model's JawOpen with it, frame by frame.

    The state of frame ``t`` needs the audio up to ``t`` * 20 ms + 72.5 ms (:mod:`facecast.whisper_stream`), within
    the learned model's 80 ms, so it is there when the model's frame ``t`` is, if the audio is pushed here first."""

    def __init__(self, shared: StreamWhisper, weight: float) -> None:
        from facecast.whisper_stream import WhisperStream

        self.shared = shared
        self.stream = WhisperStream(shared.encoder)
        self.fusion = RunningFusion(shared.prior, (1.0, weight), prior_frames=shared.prior_frames)
        self.jaw: list[float] = []  # the head's jaw from frame self._jaw_start (StreamWhisper._collect)
        self.heard: list[bool] = []  # beside it: loud enough to be speech (WhisperStream's heard)
        self._jaw_start = 0

    def push(self, pcm: np.ndarray) -> None:
        self.stream.push(pcm)

    def finish(self, frames: int) -> None:
        """The end of the audio: ``frames`` model frames in all."""
        self.stream.finish(frames)

    def fuse(self, model_jaw: np.ndarray, start: int) -> np.ndarray:
        """The fused JawOpen of model frames ``start`` ... (``model_jaw`` [n]); frames the head has not reached
        (none, when the audio came here first) keep the model's."""
        n = len(model_jaw)
        have = max(0, min(n, self._jaw_start + len(self.jaw) - start))
        out = np.asarray(model_jaw, np.float32).copy()
        if have:
            offset = start - self._jaw_start
            out[:have] = self.fusion(model_jaw[:have], self.jaw[offset:offset + have],
                                     self.heard[offset:offset + have])
            drop = offset + have
            del self.jaw[:drop], self.heard[:drop]
            self._jaw_start += drop
        return out
