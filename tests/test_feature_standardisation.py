"""The learned model's causal per-band standardisation of log-mel (``facecast.features.RunningNorm``)."""

from __future__ import annotations

import numpy as np
import pytest

from facecast import features as F
from facecast.audio import MODEL_RATE, load_audio, resample

from conftest import ASSETS


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    sound = load_audio(ASSETS / "speech_en.wav")
    return resample(sound.samples, sound.sample_rate, MODEL_RATE).astype(np.float32)


@pytest.fixture(scope="module")
def norm(speech) -> F.RunningNorm:
    mean, std = F.speech_statistics([load_audio(ASSETS / "speech_de.wav").samples])  # another voice's prior
    return F.RunningNorm(tuple(mean.tolist()), tuple(std.tolist()))


def mel_of(samples: np.ndarray) -> np.ndarray:
    return F.log_mel(samples, 0, len(samples) // F.FRAME_SAMPLES * F.STACK)


def test_standardisation_is_causal_and_the_same_in_any_chunks(speech, norm):
    whole = F.standardised_frames(speech, norm, before=5, after=3)
    frames = len(speech) // F.FRAME_SAMPLES
    assert whole.shape == (5 + frames + 3, F.FEATURES)
    mel = mel_of(speech)
    rng = np.random.default_rng(0)
    for _ in range(3):
        state, parts, at = F.Standardiser(norm), [], 0
        while at < len(mel):
            n = int(rng.integers(1, 40))
            parts.append(state(mel[at:at + n]))
            at += n
        np.testing.assert_allclose(np.concatenate(parts).reshape(frames, -1), whole[5:5 + frames], atol=1e-5)
    prefix = speech[:len(speech) // 2]  # what comes later never changes what came before
    early = F.standardised_frames(prefix, norm, before=5)
    np.testing.assert_allclose(early, whole[:len(early)], atol=1e-5)


def test_standardisation_removes_a_microphones_level_and_colour(speech, norm):
    # The same talk 6 dB quieter through a tilted microphone (first-order pre-emphasis), 24 s of it.
    talk = np.tile(speech, 3)
    coloured = (0.5 * np.concatenate([[talk[0]], talk[1:] - 0.7 * talk[:-1]])).astype(np.float32)
    last = slice(-200, None)  # the last 4 s, once the statistics have followed the voice for 20 s
    fixed = np.abs(F.model_frames(coloured) - F.model_frames(talk))[last].mean()
    running = np.abs(F.standardised_frames(coloured, norm) - F.standardised_frames(talk, norm))[last].mean()
    assert fixed > 0.3  # the fixed constants pass the microphone on to the model
    assert running < 0.4 * fixed, (running, fixed)


@pytest.mark.parametrize("pause", ["digital silence", "room rumble"])
def test_a_pause_leaves_the_statistics_of_the_voice_as_they_are(speech, norm, pause):
    rng = np.random.default_rng(1)
    if pause == "digital silence":
        gap = np.zeros(10 * MODEL_RATE, np.float32)
    else:  # brown noise 40 dB under the speech
        gap = np.cumsum(rng.normal(size=10 * MODEL_RATE))
        gap = gap - np.convolve(gap, np.ones(801) / 801, mode="same")
        gap = (gap * 10 ** (-40 / 20) * speech.std() / gap.std()).astype(np.float32)
    state = F.Standardiser(norm)
    state(mel_of(speech))
    mean, var = state.mean.copy(), state.var.copy()
    state(mel_of(gap))
    assert np.abs(state.mean - mean).max() < 0.05 and np.abs(state.var - var).max() < 0.05


def test_the_prior_is_the_voices_own_level_per_band(speech):
    mean, std = F.speech_statistics([speech])
    mel = mel_of(speech)
    assert (mean > mel.mean(0)).mean() > 0.9  # speech is louder than the clip with its pauses, band by band
    assert (mean > F.SILENCE + 0.5).all() and (std > 0.05).all()
    with pytest.raises(ValueError, match="no speech"):
        F.speech_statistics([np.zeros(MODEL_RATE, np.float32)])
