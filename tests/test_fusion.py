"""Fusing two predictions of the jaw, and replaying a take as a session."""

from __future__ import annotations

import numpy as np

from facecast.animators.fusion import ReplaySession, fuse_jaw
from facecast.audio import MODEL_RATE
from facecast.controls import Controls
from facecast.motion import MotionFrame


def test_fusing_two_noisy_predictions_follows_the_truth_better_than_either():
    rng = np.random.default_rng(0)
    t = np.arange(900) / 30
    truth = 0.5 + 0.5 * np.sin(2 * np.pi * 2.3 * t) * np.sin(2 * np.pi * 0.31 * t)
    model = 0.3 * truth + 0.1 * rng.normal(size=len(t))  # the model's own scale, its own errors
    phone = 5.0 * truth + 2.0 + 1.5 * rng.normal(size=len(t))  # another scale and offset, other errors
    fused = fuse_jaw(model, phone)

    def r(a: np.ndarray) -> float:
        return float(np.corrcoef(a, truth)[0, 1])

    assert r(fused) > max(r(model), r(phone)) + 0.03
    assert abs(fused.mean() - model.mean()) < 0.02 and abs(fused.std() - model.std()) < 0.2 * model.std()
    assert fused.dtype == np.float32 and fused.min() >= 0 and fused.max() <= 1


def test_a_flat_or_missing_prediction_leaves_the_models_jaw_as_it_is():
    model = np.abs(np.sin(np.arange(60) / 5.0)).astype(np.float32)
    np.testing.assert_array_equal(fuse_jaw(model, np.zeros(60)), model)  # the recogniser heard nothing
    np.testing.assert_array_equal(fuse_jaw(model, np.zeros(0)), model)
    np.testing.assert_array_equal(fuse_jaw(np.zeros(60, np.float32), model), np.zeros(60, np.float32))  # silence
    shorter = fuse_jaw(model, model[:50])  # a curve a frame or more short holds its last value
    assert len(shorter) == 60 and np.corrcoef(shorter[:50], model[:50])[0, 1] > 0.99


def test_a_replayed_take_comes_out_as_its_audio_arrives():
    fps, frames = 30, 90  # 3 s
    take = [MotionFrame(i, i / fps, np.full(61, i, np.float32)) for i in range(frames)]
    session = ReplaySession(take, Controls(), fps, lookahead_s=0.1)
    out = session.push(np.zeros(MODEL_RATE, np.float32))  # 1 s of audio: frames up to 0.9 s
    assert [f.index for f in out] == list(range(28))
    assert session.push(np.zeros(0, np.float32)) == []
    out += session.push(np.zeros(MODEL_RATE, np.float32))
    assert out[-1].index == 57 and all(f.time + 0.1 <= 2.0 + 1e-9 for f in out)
    out += session.flush()
    assert [f.index for f in out] == list(range(frames)) and session.flush() == []
