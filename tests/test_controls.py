import math

import pytest

from facecast.controls import EMOTIONS, Controls, resolve_emotion
from facecast.errors import InvalidInput

AUDIO2FACE_EMOTIONS = ["amazement", "anger", "cheekiness", "disgust", "fear", "grief", "joy", "outofbreath", "pain",
                       "sadness"]


@pytest.mark.parametrize("name", AUDIO2FACE_EMOTIONS + ["Joy", "out_of_breath", "Playfulness"])
def test_other_tools_emotion_names_map_to_ours(name):
    emotion, factor = resolve_emotion(name)
    assert emotion in EMOTIONS and 0 < factor <= 1


def test_validated_maps_and_scales_emotion():
    c = Controls(emotion="grief", emotion_intensity=0.5).validated()
    assert c.emotion == "sad" and c.emotion_intensity == 0.5


@pytest.mark.parametrize("controls, message", [
    (Controls(emotion="grumpy"), "unknown emotion 'grumpy'"),
    (Controls(emotion_intensity=1.5), "emotion_intensity must be"),
    (Controls(head_motion=math.nan), "head_motion must be"),
    (Controls(gaze=(2.0, 0.0)), "gaze must be"),
    (Controls(seed=-1), "seed must be"),
])
def test_bad_controls_are_named(controls, message):
    with pytest.raises(InvalidInput, match=message):
        controls.validated()


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(InvalidInput, match="unknown control"):
        Controls.from_dict({"mood": "happy"})
    assert Controls.from_dict({"gaze": [0.1, 0.0]}).gaze == (0.1, 0.0)
