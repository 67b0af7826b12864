"""The add-on's in-process Generate & Bake without Blender: which animators run in-process (the learned model
by default, energy without onnxruntime), the stdlib wav fallback decoder, and that a local job gives the
animator's own take. The real-Blender runs, with Online Access off and no daemon:
test_blender_addon.py::test_bakes_in_blender_with_no_daemon_and_online_access_off and the built-zip test."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np
import pytest

import facecast.animators
from facecast.animators import get_animator
from facecast.audio import MODEL_RATE, Audio, load_audio
from facecast.controls import Controls
from facecast.errors import AudioError, InvalidInput

from conftest import ASSETS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "blender"))
from facecast_blender import inprocess


def test_a_local_job_gives_the_animators_own_take():
    audio = load_audio(ASSETS / "speech_en.wav")
    controls = Controls(emotion="happy", seed=3)
    job = inprocess.local_animate_job(audio.samples, "energy", 30, controls, "speech_en.wav").start()
    message = job.wait(timeout=60)
    assert message.kind == "done", message.text
    expected = get_animator("energy").animate(Audio(audio.samples, MODEL_RATE), controls, 30)
    np.testing.assert_array_equal(message.result.values, expected.values)


def test_local_refusals_name_the_problem():
    with pytest.raises(AudioError, match="no audio samples"):
        inprocess.local_animate_job(np.zeros(0, np.float32), "energy", 30, Controls())
    with pytest.raises(AudioError, match="silent"):
        inprocess.local_animate_job(np.zeros(MODEL_RATE, np.float32), "energy", 30, Controls())
    with pytest.raises(InvalidInput, match="does not run inside Blender"):
        inprocess.check_animator("nope")
    assert inprocess.check_animator("") == "neural"
    assert {"energy", "neural"} <= set(inprocess.local_animators())


def test_a_local_neural_job_gives_the_learned_models_own_take():
    audio = load_audio(ASSETS / "speech_en.wav")
    controls = Controls(seed=7)
    job = inprocess.local_animate_job(audio.samples, "", 30, controls, "speech_en.wav").start()
    message = job.wait(timeout=120)
    assert message.kind == "done", message.text
    expected = get_animator("neural").animate(Audio(audio.samples, MODEL_RATE), controls, 30)
    np.testing.assert_allclose(message.result.values, expected.values, atol=1e-6)


def test_without_onnxruntime_the_local_bake_falls_back_to_energy_and_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what `import onnxruntime` meets where it is absent
    monkeypatch.setattr(facecast.animators, "_loaded", {})
    assert inprocess.default_local_animator() == "energy"
    assert "neural" not in inprocess.local_animators()
    ok, line = inprocess.local_report()
    assert not ok and "onnxruntime does not import" in line and "baking with energy" in line
    with pytest.raises(InvalidInput, match="'neural' does not run inside Blender"):
        inprocess.check_animator("neural")
    monkeypatch.undo()
    assert inprocess.local_report()[0]


def test_wav_fallback_decodes_mixes_and_resamples(tmp_path):
    rate = 48000
    t = np.arange(rate) / rate
    left, right = 0.5 * np.sin(2 * np.pi * 220 * t), 0.25 * np.sin(2 * np.pi * 220 * t)
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.stack([left, right], 1) * 32767).astype("<i2").tobytes())
    samples = inprocess._decode_wav(str(path), MODEL_RATE)
    assert len(samples) == MODEL_RATE
    expected = 0.375 * np.sin(2 * np.pi * 220 * np.arange(MODEL_RATE) / MODEL_RATE)
    np.testing.assert_allclose(samples[10:-10], expected[10:-10], atol=2e-3)
    (tmp_path / "bad.wav").write_text("not a wav")
    with pytest.raises(AudioError, match="cannot decode"):
        inprocess._decode_wav(str(tmp_path / "bad.wav"), MODEL_RATE)
