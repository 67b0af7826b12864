"""Audio2Face-3D parameters mapped onto facecast (server/a2f_params.py), without a server."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facecast.controls import Controls
from facecast.errors import AudioError, InvalidInput
from facecast.motion import BLENDSHAPES
from facecast.proto.a2f.nvidia_ace import audio_pb2
from facecast.proto.a2f.nvidia_audio2face_3d import messages_pb2 as a2f
from facecast.server.a2f_params import FacePostProcess, controls_for_mix, pcm16_chunk, stream_settings

JAW, BLINK_L, LOWER_DOWN_L, BROW = (BLENDSHAPES.index(n) for n in
                                    ("JawOpen", "EyeBlinkLeft", "MouthLowerDownLeft", "BrowInnerUp"))


def header(rate: int = 16000, **fields) -> a2f.AudioWithEmotionStreamHeader:
    return a2f.AudioWithEmotionStreamHeader(
        audio_header=audio_pb2.AudioHeader(channel_count=1, samples_per_second=rate, bits_per_sample=16), **fields)


def test_emotions_vote_for_the_facecast_emotion_they_map_to():
    controls, applied = controls_for_mix({"joy": 0.4, "cheekiness": 0.5, "anger": 0.6}, 1.0, Controls())
    assert controls.emotion == "happy"  # joy 0.4 + cheekiness 0.5 x 0.6 = 0.7 beats anger 0.6
    assert controls.emotion_intensity == pytest.approx(0.7)
    assert applied["joy"] == 0.4 and applied["cheekiness"] == 0.5 and applied["anger"] == 0.0
    neutral, applied = controls_for_mix({}, 0.6, Controls(seed=3))
    assert (neutral.emotion, neutral.seed) == ("neutral", 3) and not any(applied.values())
    tie, _ = controls_for_mix({"pain": 1.0, "fear": 1.0, "amazement": 1.0}, 0.5, Controls())
    assert (tie.emotion, tie.emotion_intensity) == ("surprised", 0.5)  # amazement is listed first
    capped, _ = controls_for_mix({"sadness": 1.0, "grief": 1.0}, 1.0, Controls())
    assert (capped.emotion, capped.emotion_intensity) == ("sad", 1.0)


def test_header_defaults():
    settings = stream_settings(header(44100))
    assert (settings.sample_rate, settings.fps, settings.controls.emotion) == (44100, 30, "neutral")
    assert settings.use_timed_emotions and settings.emotion_strength == 0.6 and not settings.warnings
    values = np.linspace(0, 1, len(BLENDSHAPES), dtype=np.float32)
    np.testing.assert_array_equal(settings.post(values), values)  # no parameters: untouched


def test_face_parameters_shape_the_frames():
    post = FacePostProcess(30)
    post.apply_face_params({"upperFaceStrength": 2.0, "eyelidOpenOffset": 0.25, "lipOpenOffset": 0.1,
                            "lowerFaceSmoothing": 0.1})
    step = np.zeros(len(BLENDSHAPES), np.float32)
    first = post(step)
    assert first[BLINK_L] == pytest.approx(-0.25) and first[LOWER_DOWN_L] == pytest.approx(0.1)
    step[[JAW, BROW]] = 0.4
    second = post(step)
    assert second[BROW] == pytest.approx(0.8)  # upper face: doubled, not smoothed
    assert second[JAW] == pytest.approx(0.4 * (1 - math.exp(-1 / (30 * 0.1))))  # lower face: 0.1 s time constant


@pytest.mark.parametrize("fields, message", [
    ({"face_params": a2f.FaceParameters(float_params={"lowerFaceStrength": -1.0})}, "out of range"),
    ({"face_params": a2f.FaceParameters(float_params={"skinStrength": math.nan})}, "finite"),
    ({"face_params": a2f.FaceParameters(integer_params={"frames": 3})}, "unknown integer face parameter"),
    ({"face_params": a2f.FaceParameters(float_array_params={"x": a2f.FloatArray(values=[1.0])})}, "float_array"),
    ({"emotion_post_processing_params": a2f.EmotionPostProcessingParameters(emotion_strength=2.0)},
     "emotion_strength"),
])
def test_bad_parameters_are_named(fields, message):
    with pytest.raises(InvalidInput, match=message):
        stream_settings(header(**fields))


def test_audio_limits():
    with pytest.raises(AudioError, match=r"\[16000, 144000\]"):
        stream_settings(header(144001))
    with pytest.raises(AudioError, match="audio_header"):
        stream_settings(a2f.AudioWithEmotionStreamHeader())
    assert pcm16_chunk(np.array([16384, -32768], "<i2").tobytes(), 16000).tolist() == [0.5, -1.0]
