"""The animator contract (DESIGN.md, "Animators"), checked for every registered animator.

Parametrised over :func:`facecast.animators.animator_names`, so a newly registered animator (the learned one
included) is held to the same rules without editing this file:

- offline equals streaming: the clip session fed in small chunks gives the offline take (to 1e-5), and a live
  ``stream()`` session gives the same frame count with a mouth that stays close to it;
- same audio + controls + seed gives the same take; another seed gives another take;
- controls changed mid-stream apply to the frames after the change;
- the head-motion control scales the head: 0 holds it still, 2 moves it about twice as much as 1;
- blendshapes in [0, 1], angles finite and within a quarter turn, frames numbered 0.. at ``i / fps``;
- ``lookahead_ms`` is declared, and a live session is never further behind the audio than it says, nor does
  a frame change when audio later than its time plus the lookahead changes.

Clips are two seconds of the shipped English speech, so the slower animators stay quick.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from facecast.animators import animator_names, get_animator
from facecast.audio import MODEL_RATE, Audio, load_audio
from facecast.controls import Controls
from facecast.motion import CHANNEL_INDEX, NUM_BLENDSHAPES, NUM_CHANNELS, MotionFrame

from conftest import ASSETS

FPS = 30
SECONDS = 2.0
CHUNK_MS = 20  # what a live client sends
# offline (clip session fed at once) vs the same session fed in 20 ms chunks: only float rounding may differ
CHUNKED_ATOL = 1e-5
# a live session may see less than the whole clip (recognition block by block): its mouth stays this close
LIVE_JAW_MEAN_ABS = 0.08

pytestmark = pytest.mark.parametrize("name", animator_names())


@pytest.fixture(scope="module")
def speech() -> Audio:
    audio = load_audio(ASSETS / "speech_en.wav")
    return Audio(audio.samples[:int(SECONDS * MODEL_RATE)].copy(), audio.sample_rate)


def _feed(session, samples: np.ndarray, chunk_ms: float = CHUNK_MS) -> list[MotionFrame]:
    step = int(MODEL_RATE * chunk_ms / 1000)
    frames: list[MotionFrame] = []
    for start in range(0, len(samples), step):
        frames += session.push(samples[start:start + step])
    return frames + session.flush()


def _values(frames: list[MotionFrame]) -> np.ndarray:
    return np.stack([f.values for f in frames])


def test_offline_equals_the_clip_session_fed_in_chunks(name, speech):
    animator = get_animator(name)
    controls = Controls(seed=3)
    offline = animator.animate(speech, controls, FPS)
    frames = _feed(animator.clip_session(speech, controls.validated(), FPS), speech.samples)
    assert [f.index for f in frames] == list(range(offline.num_frames))
    np.testing.assert_allclose(_values(frames), offline.values, atol=CHUNKED_ATOL)


def test_live_stream_covers_the_same_frames_with_a_close_mouth(name, speech):
    animator = get_animator(name)
    offline = animator.animate(speech, Controls(seed=3), FPS)
    live = _feed(animator.stream(Controls(seed=3), FPS), speech.samples)
    assert [f.index for f in live] == list(range(offline.num_frames)) == list(range(math.ceil(SECONDS * FPS)))
    jaw = CHANNEL_INDEX["JawOpen"]
    assert np.mean(np.abs(_values(live)[:, jaw] - offline.values[:, jaw])) < LIVE_JAW_MEAN_ABS


def test_same_seed_same_take_other_seed_another(name, speech):
    animator = get_animator(name)
    a = animator.animate(speech, Controls(seed=1), FPS)
    b = animator.animate(speech, Controls(seed=1), FPS)
    c = animator.animate(speech, Controls(seed=2), FPS)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.head_translation, b.head_translation)
    assert not np.array_equal(a.values, c.values)
    live_a = _values(_feed(animator.stream(Controls(seed=1), FPS), speech.samples))
    live_b = _values(_feed(animator.stream(Controls(seed=1), FPS), speech.samples))
    np.testing.assert_array_equal(live_a, live_b)


def test_controls_changed_mid_stream_apply_to_later_frames(name, speech):
    animator = get_animator(name)
    session = animator.stream(Controls(seed=1), FPS)
    half = len(speech.samples) // 2
    step = int(MODEL_RATE * CHUNK_MS / 1000)
    before = [f for start in range(0, half, step) for f in session.push(speech.samples[start:min(start + step, half)])]
    session.update_controls(Controls(seed=1, emotion="happy", emotion_intensity=1.0))
    after = [f for start in range(half, len(speech.samples), step)
             for f in session.push(speech.samples[start:start + step])] + session.flush()
    assert before and after and after[0].index == before[-1].index + 1
    smile = CHANNEL_INDEX["MouthSmileLeft"]
    settled = after[len(after) // 2:]  # a change may ease in over a few frames
    assert np.mean([f.values[smile] for f in settled]) > np.mean([f.values[smile] for f in before]) + 0.2


def test_values_are_in_range_and_frames_on_the_clock(name, speech):
    clip = get_animator(name).animate(speech, Controls(seed=5, emotion="surprised", head_motion=3.0), FPS)
    assert clip.values.shape == (math.ceil(SECONDS * FPS), NUM_CHANNELS) and clip.values.dtype == np.float32
    blend, angles = clip.values[:, :NUM_BLENDSHAPES], clip.values[:, NUM_BLENDSHAPES:]
    assert blend.min() >= 0.0 and blend.max() <= 1.0
    assert np.all(np.isfinite(angles)) and np.abs(angles).max() < math.pi / 2
    assert np.all(np.isfinite(clip.head_translation)) and np.abs(clip.head_translation).max() < 0.5  # metres
    frames = _feed(get_animator(name).stream(Controls(seed=5), FPS), speech.samples)
    np.testing.assert_allclose([f.time for f in frames], np.arange(len(frames)) / FPS, atol=1e-6)


def test_head_motion_scales_the_head(name, speech):
    head = [CHANNEL_INDEX[n] for n in ("HeadYaw", "HeadPitch", "HeadRoll")]

    def spread(level: float) -> float:
        clip = get_animator(name).animate(speech, Controls(seed=5, head_motion=level), FPS)
        return float(clip.values[:, head].std(0).sum())

    natural = spread(1.0)
    assert natural > 1e-3, "the head does not move at all"
    assert spread(0.0) < 0.02 * natural
    assert 1.6 < spread(2.0) / natural < 2.6


def test_lookahead_is_declared_and_honoured(name, speech):
    animator = get_animator(name)
    lookahead = animator.lookahead_ms / 1000
    assert isinstance(animator.lookahead_ms, (int, float)) and 0 <= lookahead < SECONDS
    assert animator.describe()["lookahead_ms"] == animator.lookahead_ms
    # never further behind the audio than declared (one frame of rounding each way)
    session = animator.stream(Controls(seed=1), FPS)
    step = int(MODEL_RATE * CHUNK_MS / 1000)
    for start in range(0, len(speech.samples), step):
        session.push(speech.samples[start:start + step])
        heard = min(start + step, len(speech.samples)) / MODEL_RATE
        assert session.frames_emitted / FPS >= heard - lookahead - 2 / FPS
    # and no further ahead: changing the audio after T leaves every frame up to T - lookahead as it was
    cut = SECONDS - 0.2  # late, so that even a long lookahead leaves frames to compare
    other = speech.samples.copy()
    other[int(cut * MODEL_RATE):] = np.random.default_rng(0).normal(0, 0.1, len(other) - int(cut * MODEL_RATE))
    a = _values(_feed(animator.stream(Controls(seed=1), FPS), speech.samples))
    b = _values(_feed(animator.stream(Controls(seed=1), FPS), other.astype(np.float32)))
    settled = math.ceil((cut - lookahead) * FPS - 1e-9)  # frames i with i / fps + lookahead < cut
    if settled > 0:
        np.testing.assert_allclose(a[:settled], b[:settled], atol=CHUNKED_ATOL)
