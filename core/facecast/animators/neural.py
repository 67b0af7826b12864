"""The ``neural`` animator: the learned audio-to-motion model (``facecast.train.model``) run by ONNX Runtime.

Per 20 ms model frame the network gives the 52 blendshapes and a lip-closure probability deterministically from
the audio, and samples head rotation and translation, brows and lids from a flow conditioned on the audio, the
head-motion control and seeded noise (so two seeds or two NPCs move differently with the same mouth). On top of
that, as in the other animators: blinks and gaze saccades (:mod:`facecast.animators.idle`, which follow the blink
rate and gaze target), emotion offsets and expression intensity, all changeable mid-stream.

Streaming and whole clips share one path. The exported graph carries the encoder's state (each block's last
inputs) between calls, so every 20 ms of audio is computed once; a session starts from the state of silence,
feeds each new feature frame, and emits the fps frames whose two neighbouring model frames are known. The model's
outputs trail its input by ``lookahead`` frames, plus 2 for interpolating to the output fps: 100 ms.
``run_batch`` gathers the work of many streams into one ONNX Runtime call per distinct number of new frames.
A stream's JawOpen is fused frame by frame (:class:`facecast.animators.fusion.RunningFusion`) with the jaw a ridge
head reads from Whisper tiny.en's first two layers computed within the stream's lookahead
(:mod:`facecast.whisper_stream`, :class:`facecast.animators.whisper_jaw.StreamJaw`): its state of frame ``t``
needs the audio up to 72.5 ms past ``t``, the model's 80 ms, so both are ready together and the lookahead stays
100 ms. All streams share one streaming step, and ``run_batch`` steps them together.

Whole clips (``animate``, the daemon's Animate) are known in advance, so they get more than a stream can: the
model's take is computed first and its JawOpen fused with 3 times the jaw that a ridge head reads from Whisper
tiny.en's encoder states (:mod:`facecast.animators.whisper_jaw`, which sees the whole clip in both directions;
:func:`facecast.animators.fusion.fuse_jaw`), then replayed as the audio arrives. With a transcript the
``phonetic`` animator's JawOpen on the aligned phones joins the fusion, and the aligned /p b m/ make the lips
close, fused with the model's own closure estimate. ``neural-fast`` (:class:`NeuralFastAnimator`,
``NeuralAnimator(fuse=False)``) gives clips and streams the model alone: about 3x faster on clips and on
streams, following the mouth less well.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facecast import features
from facecast.animators import whisper_jaw
from facecast.animators.base import Animator, StreamingSession, run_session
from facecast.animators.expression import emotion_offset
from facecast.animators.idle import IdleMotion, set_eye_rotation
from facecast.audio import Audio
from facecast.controls import Controls
from facecast.errors import FacecastError
from facecast.features import (
    FEATURES,
    FRAME_S,
    FRAME_SAMPLES,
    HOP,
    N_FFT,
    STACK,
    RunningNorm,
    Standardiser,
    silence_frame,
)
from facecast.motion import CHANNEL_INDEX as C
from facecast.motion import (
    DEFAULT_FPS,
    NUM_BLENDSHAPES,
    NUM_CHANNELS,
    MotionFrame,
    ProgressCallback,
    progress_span,
)

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "neural"
FORMAT_VERSION = 2  # of neural.json/neural.onnx; 1 was a windowed graph without state (R + L frames per new frame)
NOISE_TIME_S = 0.2  # the motion noise is an AR(1) process with this time constant (head speed as captured)
SMOOTH_S = {"head": 0.07, "face": 0.04}  # one-pole smoothing of the sampled channels
MIN_HEAD_LEVEL = 0.25  # the flow's head-motion condition goes no lower
# The sampled head's rotation and translation at head_motion 1 (see head_scale). The weights learned their head
# mostly from GRID's studio speakers (50 of the 55 minutes), who hold their heads still: unscaled, the head moves
# at 0.13-0.15 rad/s on every source's audio, against 0.21-0.44 captured on the interview, VoxCeleb2 and demo
# videos (geometric mean 0.31) and 0.08 on GRID. 2.2 puts head_motion 1 at the interviews' speed (0.7-1.5x of
# each of them); GRID's studio stillness is head_motion 0.45. Measured by scripts/head_speed_by_source.py
# (docs/NEURAL.md, "Head motion"); re-measure when the weights change.
HEAD_GAIN = 2.2
# Whole clips: how the model's JawOpen is fused with the second voices (docs/NEURAL.md, "Whisper's states in the
# clip path", chosen on the leave-one-source-out folds): the Whisper jaw head counts WHISPER_WEIGHT times the
# model; phonetic (pocketsphinx's recognised phones) added nothing there at 8 times the cost, so it joins only
# with a transcript (its phones are then the alignment's, which the lips' closures need anyway) or when asked
# (fuse_phonetic=True). PHONE_SHARE: the phones' part of the prework's progress when both run.
WHISPER_WEIGHT = 3.0
# Streams: the model's JawOpen fused frame by frame with the jaw a ridge head reads from Whisper's first two
# layers computed within the stream's lookahead (facecast.whisper_stream; docs/NEURAL.md, "Whisper's jaw in
# streams"), which counts STREAM_WHISPER_WEIGHT times the model (chosen on the leave-one-source-out folds; 5
# since the sixteenth stop's steadier fusion, whisper_jaw.STREAM_PRIOR_FRAMES).
STREAM_WHISPER_WEIGHT = 5.0
# What such a stream costs the daemon against one of the model alone (``Animator.stream_units``, the capacity's
# prior): 0.029-0.030 cores per stream against 0.021-0.022 for neural-fast, 24-32 streams on the 2-core box
# (docs/BENCHMARKS.md, "Faster neural streams").
STREAM_UNITS = 2.0
FUSE_PHONETIC = False
PHONE_SHARE = 0.85
CLOSURE_THRESHOLD = 0.5
BILABIALS = ("P", "B", "M")
MODEL_FRAMES_PER_S = round(1 / FRAME_S)
LIPS = [C[n] for n in ("MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight")]
HEAD = [C["HeadYaw"], C["HeadPitch"], C["HeadRoll"]]
BLINKS = [C["EyeBlinkLeft"], C["EyeBlinkRight"]]
NO_WINDOWS = np.zeros((0, N_FFT), np.float32)


@dataclass
class Job:
    """One session's share of a model call: its new feature frames, noise, condition and encoder state."""

    features: np.ndarray  # [n, F]
    noise: np.ndarray  # [n, D]
    cond: np.ndarray  # [2]
    state: np.ndarray  # [S, C]


class NeuralModel:
    """The exported network and its settings; one ONNX Runtime session shared by all streams."""

    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        from facecast.runtime import inference_session

        path = Path(model_path) if model_path else MODEL_DIR / "neural.onnx"
        self.threads = threads
        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise FacecastError(f"the neural model {path} (and its .json) is missing; train and export one with "
                                "`facecast train` (see docs/NEURAL.md)")
        self.path = path
        self.meta = json.loads(meta_path.read_text())
        if self.meta.get("version") != FORMAT_VERSION:
            raise FacecastError(f"the neural model {path} has format version {self.meta.get('version')}, this "
                                f"facecast reads {FORMAT_VERSION}: export it again (python -m facecast.train.export)")
        config = self.meta["config"]
        self.history, self.lookahead = int(config["history"]), int(config["lookahead"])
        self.sampled: list[str] = list(config["sampled"])
        self.guidance = float(self.meta.get("guidance", 1.5))
        self.norm = RunningNorm.from_dict(config["norm"]) if config.get("norm") else None
        # where each sampled channel goes in a session's output rows, and its one-pole smoothing factor
        self.columns = np.array([NUM_CHANNELS + "XYZ".index(name[-1]) if name.startswith("Translation") else C[name]
                                 for name in self.sampled])
        heads = np.array([name.startswith(("Head", "Translation")) for name in self.sampled])
        self.alpha = np.where(heads, 1 - math.exp(-FRAME_S / SMOOTH_S["head"]),
                              1 - math.exp(-FRAME_S / SMOOTH_S["face"]))
        self.session = inference_session(path, threads)
        self._lock = threading.Lock()
        self.initial_state = self._silence_state(int(config["width"]), int(self.meta["state_frames"]))

    def _silence_state(self, width: int, state_frames: int) -> np.ndarray:
        """The encoder state after nothing but silence (every session starts from it)."""
        n = 2 * (self.history + self.lookahead)  # more than the receptive field: the zeros are flushed out
        job = Job(self.silence(None, n), np.zeros((n, len(self.sampled)), np.float32),
                  np.zeros(2, np.float32), np.zeros((state_frames, width), np.float32))
        return self.run([job])[0][2]

    def silence(self, standardiser: Standardiser | None, frames: int) -> np.ndarray:
        """``frames`` feature frames of digital silence as a session with ``standardiser`` (None: a new one) sees
        them."""
        if self.norm is None:
            return np.repeat(silence_frame()[None], frames, 0)
        return (standardiser or Standardiser(self.norm)).silence(frames)

    def run(self, jobs: list[Job]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(mouth [n, 53], motion [n, D], next state) for each job; one ONNX Runtime call per distinct n (in a
        live batch every stream usually brings the same number of new frames)."""
        results: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * len(jobs)
        groups: dict[int, list[int]] = {}
        for k, job in enumerate(jobs):
            groups.setdefault(len(job.features), []).append(k)
        for members in groups.values():
            feeds = {"features": np.stack([jobs[k].features for k in members]).astype(np.float32, copy=False),
                     "noise": np.stack([jobs[k].noise for k in members]).astype(np.float32, copy=False),
                     "cond": np.stack([jobs[k].cond for k in members]).astype(np.float32, copy=False),
                     "guidance": np.full(len(members), self.guidance, np.float32),
                     "state": np.stack([jobs[k].state for k in members]).astype(np.float32, copy=False)}
            with self._lock:
                mouth, motion, state = self.session.run(None, feeds)
            for i, k in enumerate(members):
                results[k] = (mouth[i], motion[i], state[i])
        return [r for r in results if r is not None]


class NeuralSession(StreamingSession):
    def __init__(self, model: NeuralModel, controls: Controls, fps: int,
                 closures: list[tuple[float, float]] | None = None,
                 whisper: whisper_jaw.StreamJaw | None = None) -> None:
        """``whisper``: this stream's Whisper jaw, fused with the model's JawOpen frame by frame (None: the
        model's alone)."""
        super().__init__(controls, fps)
        self.model = model
        self.whisper = whisper
        self._audio = np.zeros(0, np.float32)
        self._audio_start = 0  # absolute sample index of self._audio[0]
        self._features = np.zeros((0, FEATURES), np.float32)  # feature frames not yet given to the model
        self._feature_frames = 0  # model frames of real audio turned into features
        self._state = model.initial_state
        self._standardise = Standardiser(model.norm) if model.norm else None
        self._warmup = model.lookahead  # the model's first outputs belong to frames before the audio
        self._outputs = np.zeros((0, NUM_CHANNELS + 3 + 1), np.float32)  # values, translation, closure
        self._outputs_start = 0  # model frame index of self._outputs[0]
        self._computed = 0  # model frames computed
        self._ended = False
        self._ending = False  # the end of audio was taken, its features not yet added
        self._taken = 0  # model frames whose mel windows take() returned
        self._closures = closures or []
        root = np.random.SeedSequence(self.controls.seed)
        self._noise_rng = np.random.default_rng(root.spawn(1)[0])
        self._noise = self._noise_rng.standard_normal(len(model.sampled)).astype(np.float32)
        self._smooth: np.ndarray | None = None
        self._idle = IdleMotion(self.controls.seed)

    # -- the model step, in phases so that run_batch does each phase for all its sessions in one call
    def take(self, pcm: np.ndarray | None) -> np.ndarray:
        """Take in audio (``None``: the end); return the mel windows [m, N_FFT] of the feature frames it
        completes (their log-mel goes to :meth:`prepare_features`)."""
        if pcm is None:
            partial = (-self.samples_received) % FRAME_SAMPLES  # the end pads the audio to whole model frames
            frames = (self.samples_received + partial) // FRAME_SAMPLES
            if not self._ended and not self._ending:
                self._audio = np.concatenate([self._audio, np.zeros(partial, np.float32)])
                self._ending = True
                if self.whisper is not None:
                    self.whisper.finish(frames)
        else:
            pcm = np.asarray(pcm, np.float32).reshape(-1)
            self._audio = np.concatenate([self._audio, pcm])
            self.samples_received += len(pcm)
            frames = self.samples_received // FRAME_SAMPLES
            if self.whisper is not None:
                self.whisper.push(pcm)
        if self._ended or frames <= self._feature_frames:
            return NO_WINDOWS
        self._taken = frames
        first, count = self._feature_frames * STACK, (frames - self._feature_frames) * STACK
        return features.mel_windows(self._audio, first, count, offset=self._audio_start)

    def prepare_features(self, mel: np.ndarray) -> Job | None:
        """Add the log-mel [m, N_MELS] of :meth:`take`'s windows; return the model work now possible, if any."""
        if len(mel):
            frames = self._taken
            if self._standardise is not None:
                mel = self._standardise(mel)
            self._features = np.concatenate([self._features, mel.reshape(-1, FEATURES)])
            self._feature_frames = frames
            keep_from = (frames * STACK + 1) * HOP - N_FFT  # the next mel window's first sample
            drop = min(max(keep_from - self._audio_start, 0), len(self._audio))
            self._audio = self._audio[drop:]
            self._audio_start += drop
        if self._ending:  # the silence the lookahead needs after the last audio
            pad = self.model.silence(self._standardise, self.model.lookahead)
            self._features = np.concatenate([self._features, pad])
            self._feature_frames += self.model.lookahead
            self._ended, self._ending = True, False
        n = len(self._features)
        if n == 0:
            return None
        warm = min(self._warmup, n)
        noise = self._draw_noise(n - warm)
        if warm:
            noise = np.concatenate([np.zeros((warm, len(self.model.sampled)), np.float32), noise])
        job = Job(self._features, noise, self._condition(), self._state)
        self._features = self._features[n:]
        return job

    def prepare(self, pcm: np.ndarray | None) -> Job | None:
        """Take in audio (``None``: the end); return the model work it makes possible, if any (the Whisper
        jaw's step, which needs no batch of its own here, is run too)."""
        windows = self.take(pcm)
        hear_whisper([self])
        return self.prepare_features(features.windows_log_mel(windows))

    def store(self, result: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> None:
        """Keep the model's output for the prepared job (None: there was none)."""
        if result is not None:
            mouth, motion, self._state = result
            warm = min(self._warmup, len(mouth))
            self._warmup -= warm
            if len(mouth) > warm:
                self._store(mouth[warm:], motion[warm:])

    def finish(self, result: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> list[MotionFrame]:
        """Store the model's output for the prepared job and emit the frames now determined."""
        self.store(result)
        frames = emit([self])[0]
        if isinstance(frames, Exception):
            raise frames
        return frames

    def push(self, pcm: np.ndarray) -> list[MotionFrame]:
        job = self.prepare(pcm)
        return self.finish(self.model.run([job])[0] if job else None)

    def flush(self) -> list[MotionFrame]:
        job = self.prepare(None)
        return self.finish(self.model.run([job])[0] if job else None)

    def _draw_noise(self, n: int) -> np.ndarray:
        """The next ``n`` frames of the seeded AR(1) noise (unit variance), drawn in order."""
        a = math.exp(-FRAME_S / NOISE_TIME_S)
        out = np.empty((n, len(self.model.sampled)), np.float32)
        fresh = self._noise_rng.standard_normal(out.shape).astype(np.float32)
        for k in range(n):
            self._noise = a * self._noise + math.sqrt(1 - a * a) * fresh[k]
            out[k] = self._noise
        return out

    def _condition(self) -> np.ndarray:
        level = math.log(max(self.controls.head_motion, MIN_HEAD_LEVEL))
        return np.array([level, 1.0], np.float32)

    # -- outputs
    def _store(self, mouth: np.ndarray, motion: np.ndarray) -> None:
        n = len(mouth)
        rows = np.zeros((n, NUM_CHANNELS + 3 + 1), np.float32)
        rows[:, :NUM_BLENDSHAPES] = mouth[:, :NUM_BLENDSHAPES]
        rows[:, -1] = 1.0 / (1.0 + np.exp(-mouth[:, NUM_BLENDSHAPES]))
        rows[:, self.model.columns] = self._smoothed(motion)
        if self.whisper is not None:
            rows[:, C["JawOpen"]] = self.whisper.fuse(rows[:, C["JawOpen"]], self._computed)
        self._outputs = np.concatenate([self._outputs, rows]) if len(self._outputs) else rows
        self._computed += n

    def _smoothed(self, motion: np.ndarray) -> np.ndarray:
        alpha = self.model.alpha
        out = np.empty_like(motion)
        state = motion[0].copy() if self._smooth is None else self._smooth
        for k in range(len(motion)):
            state = state + alpha * (motion[k] - state)
            out[k] = state
        self._smooth = state
        return out

    def due(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The frames now determined: (indices [T], times [T], model rows interpolated to them [T, 65]), counted
        as emitted; :func:`emit` composes them."""
        stop = self.total_frames
        if not self._ended:  # frame i needs model frames floor(u) and floor(u) + 1, u = i / fps / FRAME_S
            stop = min(stop, -(-(self._computed - 1) * self.fps // MODEL_FRAMES_PER_S))
        indices = np.arange(self.frames_emitted, stop)
        if len(indices) == 0:
            return indices, np.zeros(0), np.zeros((0, NUM_CHANNELS + 3 + 1), np.float32)
        times = indices / self.fps
        u = times / FRAME_S - self._outputs_start
        last = len(self._outputs) - 1
        k0 = np.clip(np.floor(u).astype(int), 0, last)
        k1 = np.clip(k0 + 1, 0, last)
        w = np.clip(u - np.floor(u), 0, 1)[:, None]
        rows = self._outputs[k0] * (1 - w) + self._outputs[k1] * w
        self.frames_emitted = stop
        keep = max(int(np.floor(stop / self.fps / FRAME_S)) - self._outputs_start - 1, 0)
        self._outputs = self._outputs[keep:]
        self._outputs_start += keep
        return indices, times, rows


def hear_whisper(sessions: list[NeuralSession]) -> None:
    """The Whisper jaw's steps for the audio the sessions took, one ONNX Runtime call per step for all of them
    (they share the process's streaming step), then each one's head."""
    by_shared: dict[int, list[whisper_jaw.StreamJaw]] = {}
    for session in sessions:
        if session.whisper is not None:
            by_shared.setdefault(id(session.whisper.shared), []).append(session.whisper)
    for jaws in by_shared.values():  # one, unless a caller built its own StreamWhisper (the folds do)
        jaws[0].shared.hear(jaws)


Due = tuple[int, "NeuralSession", tuple[np.ndarray, np.ndarray, np.ndarray]]  # (place, session, its due frames)


def emit(sessions: list[NeuralSession]) -> list[list[MotionFrame] | Exception]:
    """Each session's frames now determined (:meth:`NeuralSession.due`), composed for all the sessions together
    (:func:`compose`); where that fails, each alone, so that only a failing session gets its error."""
    results: list[list[MotionFrame] | Exception] = [[] for _ in sessions]
    due: list[Due] = []
    for k, session in enumerate(sessions):
        try:
            frames = session.due()
        except Exception as e:  # handed back to that session's caller
            results[k] = e
            continue
        if len(frames[0]):
            due.append((k, session, frames))
    try:
        _frames_into(results, due)
    except Exception:
        for one in due:
            try:
                _frames_into(results, [one])
            except Exception as e:  # handed back to that session's caller
                results[one[0]] = e
    return results


def _frames_into(results: list[list[MotionFrame] | Exception], due: list[Due]) -> None:
    if not due:
        return
    values = compose([s for _, s, _ in due], [d[1] for _, _, d in due], np.concatenate([d[2] for _, _, d in due]))
    at = 0
    for k, session, (indices, times, rows) in due:
        part = values[at:at + len(indices)]
        at += len(indices)
        translation = (rows[:, NUM_CHANNELS:NUM_CHANNELS + 3] * head_scale(session.controls)).astype(np.float32)
        results[k] = [MotionFrame(i, t, v, tr) for i, t, v, tr in
                      zip(indices.tolist(), times.tolist(), part, translation)]


def head_scale(controls: Controls) -> float:
    """The factor on the sampled head rotation and translation: the head-motion control (1 = a person talking
    outside a studio, 0 = still, linear in between and above, as in every animator) times :data:`HEAD_GAIN`.
    Why not the flow's condition alone: the model learned little from it, and between 0.25 and 3 it moved the
    head by only 12 % (docs/NEURAL.md, "Controls")."""
    return HEAD_GAIN * controls.head_motion


def compose(sessions: list[NeuralSession], times: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """The 61 channels from interpolated model rows plus each session's control layers: ``rows`` [T, 65] holds
    the sessions' frames one after the other, ``times[k]`` the times of session ``k``'s. Every step is per frame,
    so composing many sessions at once gives each what it gets alone."""
    counts = [len(t) for t in times]
    every = np.concatenate(times)
    values = rows[:, :NUM_CHANNELS].copy()
    closure = rows[:, -1].copy()
    at = 0
    for session, count in zip(sessions, counts):
        for start, end in session._closures:
            t = every[at:at + count]
            closure[at:at + count] = np.where((t >= start) & (t < end), 1.0, closure[at:at + count])
        at += count

    def per_frame(value: list[float]) -> np.ndarray:
        return np.repeat(np.array(value, np.float32), counts)[:, None]

    shut = np.clip((closure - CLOSURE_THRESHOLD) / (1 - CLOSURE_THRESHOLD), 0, 1)
    values[:, LIPS] *= (1 - shut)[:, None]
    values[:, C["MouthClose"]] = np.maximum(values[:, C["MouthClose"]], shut * values[:, C["JawOpen"]])
    values[:, C["JawOpen"]] *= 1 - 0.5 * shut
    values[:, :NUM_BLENDSHAPES] = (np.clip(values[:, :NUM_BLENDSHAPES], 0, 1)
                                   * per_frame([s.controls.intensity for s in sessions]))
    values[:, HEAD] *= per_frame([head_scale(s.controls) for s in sessions])
    values[:, BLINKS] = np.concatenate([s._idle.blink(t, s.controls.blink_rate) for s, t in zip(sessions, times)
                                        ])[:, None]
    gazes = [s._idle.gaze(t, s.controls) for s, t in zip(sessions, times)]
    gaze = np.zeros_like(values)
    set_eye_rotation(gaze, np.concatenate([g[0] for g in gazes]), np.concatenate([g[1] for g in gazes]))
    values[:, NUM_BLENDSHAPES + 3:] = gaze[:, NUM_BLENDSHAPES + 3:]
    values[:, :NUM_BLENDSHAPES] += gaze[:, :NUM_BLENDSHAPES]
    values += np.repeat(np.stack([emotion_offset(s.controls) for s in sessions]), counts, axis=0)
    np.clip(values[:, :NUM_BLENDSHAPES], 0.0, 1.0, out=values[:, :NUM_BLENDSHAPES])
    return values


def _given(text: object) -> bool:
    return bool(text and str(text).strip())


def phonetic_runs_here() -> bool:
    """Whether the phonetic animator's modules (its recogniser, pocketsphinx) import in this Python."""
    import importlib

    from facecast.animators import animator_module

    try:
        importlib.import_module(animator_module("phonetic"))
        importlib.import_module("facecast.phonemes.sources")
    except ImportError:
        return False
    return True


class NeuralAnimator(Animator):
    name = "neural"
    description = ("learned from captured real faces: causal audio encoder -> mouth (deterministic) and head, "
                   "brows, lids (flow-matching samples, seeded); ONNX Runtime")
    lookahead_ms = 100.0
    accepts_text = True
    batch_wait_ms = 8.0  # a model call: 0.47 ms for 1 stream, 1.15 ms for 16 (docs/BENCHMARKS.md, fourth stop)

    def __init__(self, model_path: Path | None = None, threads: int = 1, fuse_phonetic: bool | None = None,
                 model: NeuralModel | None = None, fuse_whisper: bool | None = None, fuse: bool = True,
                 fuse_stream: bool | None = None) -> None:
        """Whole clips' JawOpen is fused with second voices (see the module docstring): ``fuse_whisper``, the
        Whisper jaw head (None: where its files are installed), and ``fuse_phonetic``, the phonetic animator's
        (None: where its recogniser runs and :data:`FUSE_PHONETIC` says so). Streams' JawOpen is fused with the
        streaming Whisper jaw where ``fuse_stream`` (None: where its files are installed). ``fuse=False``: none,
        clips and streams are the model's alone (``neural-fast``). ``model``: a loaded model to share (it holds
        no per-stream state), instead of loading ``model_path``."""
        self.model = model or NeuralModel(model_path, threads)
        self.fuse_whisper = fuse and (whisper_jaw.available() if fuse_whisper is None else fuse_whisper)
        self.fuse_stream = fuse and (whisper_jaw.stream_available() if fuse_stream is None else fuse_stream)
        self.stream_units = STREAM_UNITS if self.fuse_stream else 1.0
        self.fuse = fuse
        self.fuse_phonetic = fuse and ((FUSE_PHONETIC and phonetic_runs_here()) if fuse_phonetic is None
                                       else fuse_phonetic)
        self._whisper: whisper_jaw.WhisperJaw | None = None
        self._whisper_lock = threading.Lock()
        config = self.model.meta["config"]
        self.lookahead_ms = (int(config["lookahead"]) + 2) * FRAME_S * 1000

    def stream(self, controls: Controls | None = None, fps: int = DEFAULT_FPS, **options: Any) -> StreamingSession:
        whisper = (whisper_jaw.shared_stream_whisper().session(STREAM_WHISPER_WEIGHT) if self.fuse_stream
                   else None)
        return NeuralSession(self.model, controls or Controls(), fps, whisper=whisper)

    def clip_prework(self, **options: Any) -> str | None:
        if self.fuse_phonetic or _given(options.get("text")):
            return "hearing phones"
        return "hearing speech" if self.fuse_whisper else None

    def _phonetic_joins(self, given: bool) -> bool:
        """Whether phonetic's JawOpen may join the fusion: asked for, or a transcript is given (it joins if the
        transcript aligns: its phones are then the alignment's)."""
        return self.fuse_phonetic or (given and self.fuse and phonetic_runs_here())

    def whisper(self) -> whisper_jaw.WhisperJaw:
        """The Whisper encoder's session and jaw head, loaded on first use (one per animator)."""
        with self._whisper_lock:
            if self._whisper is None:
                self._whisper = whisper_jaw.WhisperJaw(threads=max(whisper_jaw.THREADS, self.model.threads))
            return self._whisper

    def clip_session(self, audio: Audio, controls: Controls, fps: int, progress: ProgressCallback | None = None,
                     **options: Any) -> StreamingSession:
        """The model's take with its JawOpen fused with the second voices', replayed as the audio arrives; with a
        transcript, its aligned /p b m/ close the lips too. Without fusion and transcript: a plain stream."""
        if self.clip_prework(**options) is None:  # nothing to hear first: the clip is a stream
            return self.stream(controls, fps)
        text = options.get("text")
        given = _given(text)
        phones: list[Any] | None = None
        closures: list[tuple[float, float]] = []
        metadata: dict[str, Any] = {}
        phonetic = self._phonetic_joins(given)
        phone_share = 0.0 if not (phonetic or given) else (1.0 if not self.fuse_whisper else PHONE_SHARE)
        if phone_share:
            from facecast.phonemes.sources import phones_for

            phones, source = phones_for(audio.samples, str(text) if given else None,
                                        options.get("language") or "en", progress_span(progress, 0.0, phone_share))
            # a transcript that did not fit the audio falls back to recognition: animated as without one
            aligned = source == "alignment"
            closures = [(p.start, p.end) for p in phones if p.symbol in BILABIALS] if aligned else []
            phonetic = self.fuse_phonetic or (phonetic and aligned)
            metadata = {"phone_source": source, "closures": len(closures)}
        session = NeuralSession(self.model, controls, fps, closures=closures)
        if not (phonetic or self.fuse_whisper):
            session.metadata = metadata
            return session
        from facecast.animators.fusion import ReplaySession, fuse_jaw

        frames = run_session(session, audio.samples)
        voices, weights, names = [], [1.0], []
        if self.fuse_whisper:
            voices.append(self.whisper().jaw(audio.samples, fps, len(frames),
                                             progress=progress_span(progress, phone_share, 1.0 - phone_share)))
            weights.append(WHISPER_WEIGHT)
            names.append("Whisper")
        if phonetic:
            from facecast.animators import get_animator

            voices.append(get_animator("phonetic").animate(audio, controls, fps, phones=phones).curve("JawOpen"))
            weights.append(1.0)
            names.append("phonetic")
        jaw = fuse_jaw(np.array([f.values[C["JawOpen"]] for f in frames], np.float32), *voices, weights=weights)
        for frame, value in zip(frames, jaw):
            frame.values = frame.values.copy()
            frame.values[C["JawOpen"]] = value
        replay = ReplaySession(frames, controls, fps, self.lookahead_ms / 1000)
        replay.metadata = {**metadata, "jaw": "fused with " + " and ".join(names)}
        return replay

    def run_batch(self, work: list[tuple[StreamingSession, np.ndarray | None]]) -> list[list[MotionFrame] | Exception]:
        """Each phase of the step once for the whole batch: one log-mel of every session's new audio, one ONNX
        Runtime call, one composition of every session's new frames. A session whose step fails gets its error;
        the others carry on."""
        results: list[list[MotionFrame] | Exception] = [[] for _ in work]
        taken: list[tuple[int, NeuralSession, np.ndarray]] = []
        for k, (session, pcm) in enumerate(work):
            try:
                if not isinstance(session, NeuralSession):
                    raise TypeError("run_batch got a session of another animator")
                taken.append((k, session, session.take(pcm)))
            except Exception as e:  # handed back to that session's caller
                results[k] = e
        try:
            hear_whisper([session for _, session, _ in taken])
        except Exception:  # each alone, so that only a failing session gets its error
            for k, session, _ in taken:
                try:
                    hear_whisper([session])
                except Exception as e:
                    results[k] = e
        taken = [(k, session, w) for k, session, w in taken if not isinstance(results[k], Exception)]
        mel = features.windows_log_mel(np.concatenate([NO_WINDOWS, *(w for _, _, w in taken)]))
        jobs: list[tuple[int, NeuralSession, Job | None]] = []
        at = 0
        for k, session, windows in taken:
            part, at = mel[at:at + len(windows)], at + len(windows)
            try:
                jobs.append((k, session, session.prepare_features(part)))
            except Exception as e:
                results[k] = e
        ready = [(k, job) for k, _, job in jobs if job is not None]
        outputs = self.model.run([job for _, job in ready]) if ready else []
        by_index = {k: out for (k, _), out in zip(ready, outputs)}
        stored: list[tuple[int, NeuralSession]] = []
        for k, session, _ in jobs:
            try:
                session.store(by_index.get(k))
                stored.append((k, session))
            except Exception as e:
                results[k] = e
        frames = emit([session for _, session in stored])
        for (k, _), result in zip(stored, frames):
            results[k] = result
        return results


class NeuralFastAnimator(NeuralAnimator):
    """``neural-fast``: the learned model alone, for whole clips and streams, for every surface that names
    animators (CLI, daemon, Blender, ``facecast.animate``); shares ``neural``'s model."""

    name = "neural-fast"
    description = ("the learned model alone (neural without fusing its JawOpen with Whisper's): about 3x faster "
                   "on clips and streams, follows the mouth less well (r 0.40 vs 0.62 for neural's clips and 0.56 "
                   "for its streams on leave-one-source-out folds); a transcript is still aligned")

    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        shared = None
        if model_path is None and threads == 1:  # the registry's neural: one ONNX Runtime session for both
            from facecast.animators import get_animator

            neural = get_animator("neural")
            shared = neural.model if isinstance(neural, NeuralAnimator) else None
        super().__init__(model_path, threads, model=shared, fuse=False)
