import numpy as np
import pytest

from facecast.errors import InvalidInput
from facecast.motion import (
    BLENDSHAPES,
    CHANNEL_INDEX,
    CHANNELS,
    MotionClip,
    fcclip_bytes,
    fcclip_from_bytes,
    load_fcclip,
    save_fcclip,
)


def make_clip(frames: int = 12, fps: int = 30, seed: int = 0) -> MotionClip:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, (frames, len(CHANNELS))).astype(np.float32)
    values[:, len(BLENDSHAPES):] = rng.uniform(-0.5, 0.5, (frames, 9))
    return MotionClip(fps, values, rng.normal(0, 0.01, (frames, 3)), {"animator": "test"})


def test_channel_order_matches_live_link_face_packets():
    assert len(CHANNELS) == 61 and len(BLENDSHAPES) == 52
    # Indices seen in real Live Link Face debug recordings (one channel driven at a time).
    assert CHANNEL_INDEX["JawLeft"] == 15
    assert CHANNEL_INDEX["MouthLeft"] == 21
    assert CHANNEL_INDEX["HeadYaw"] == 52
    assert CHANNELS[-1] == "RightEyeRoll" and CHANNELS[51] == "TongueOut"


def test_fcclip_round_trip(tmp_path):
    clip = make_clip()
    save_fcclip(clip, tmp_path / "a.fcclip")
    back = load_fcclip(tmp_path / "a.fcclip")
    assert back.fps == clip.fps
    np.testing.assert_array_equal(back.values, clip.values)
    np.testing.assert_array_equal(back.head_translation, clip.head_translation)
    assert back.metadata == clip.metadata
    assert [p.name for p in tmp_path.iterdir()] == ["a.fcclip"]  # no temp file left behind


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(version=99), "version 99"),
    (lambda d: d.update(frames=d["frames"] + 1), "truncated or has wrong shapes"),
    (lambda d: d.update(format="other"), "not a .fcclip"),
    (lambda d: d.update(channels=d["channels"][::-1]), "channels"),
])
def test_fcclip_rejects_bad_files(change, message):
    import msgpack

    doc = msgpack.unpackb(fcclip_bytes(make_clip()))
    change(doc)
    with pytest.raises(InvalidInput, match=message):
        fcclip_from_bytes(msgpack.packb(doc))


def test_fcclip_rejects_garbage_and_nan():
    with pytest.raises(InvalidInput, match="not a .fcclip"):
        fcclip_from_bytes(b"\x00\x01garbage")
    clip = make_clip()
    values = clip.values.copy()
    values[3, 5] = np.nan
    with pytest.raises(InvalidInput, match="NaN or infinity .first at frame 3"):
        MotionClip(30, values)


def test_clip_validation_names_the_problem():
    with pytest.raises(InvalidInput, match="fps must be one of"):
        MotionClip(29, np.zeros((2, 61)))
    with pytest.raises(InvalidInput, match=r"shape \[frames, 61\]"):
        MotionClip(30, np.zeros((2, 60)))
    with pytest.raises(InvalidInput, match="unknown motion channel"):
        make_clip().curve("jawopen")
