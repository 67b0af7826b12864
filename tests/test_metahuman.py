"""The ARKit -> MetaHuman face board mapping (CTRL_expressions_* curves): the weights of Epic's
mh_arkit_mapping_pose, their sum, the Unreal import script's --style metahuman, and what Live Link can carry."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from facecast.errors import InvalidInput
from facecast.exports.metahuman import FACE_BOARD, PREFIX, control_names, face_board_curves, table_document
from facecast.motion import BLENDSHAPES, CHANNELS, NUM_BLENDSHAPES, MotionClip
from facecast.unreal.packet import decode_packet, encode_packet, packet_header
from facecast.unreal.takes import write_take

from conftest import ROOT

sys.path.insert(0, str(ROOT / "plugins" / "unreal_bridge"))
import facecast_take_curves as take_curves


def one(**weights: float) -> np.ndarray:
    values = np.zeros((1, len(CHANNELS)), np.float32)
    for name, value in weights.items():
        values[0, CHANNELS.index(name)] = value
    return values


def curve(values: np.ndarray, control: str) -> float:
    names, curves = face_board_curves(values)
    return float(curves[0, names.index(PREFIX + control)])


def test_weights_are_those_of_the_pose_asset():
    """Spot checks against the dump of mh_arkit_mapping_pose (alexdjulin/...Motionbuilder, unreal_mapping.txt)."""
    assert dict(FACE_BOARD["JawOpen"]) == {"jawOpen": 1.0}
    assert dict(FACE_BOARD["EyeLookInLeft"]) == {"eyeLookRightL": 1.0}  # in = towards the nose = right for L
    assert dict(FACE_BOARD["MouthPucker"])["mouthFunnelDR"] == 0.751934
    assert dict(FACE_BOARD["MouthPucker"])["mouthLipsTowardsUL"] == 0.412242
    assert dict(FACE_BOARD["TongueOut"]) == {"tongueDown": 0.825971, "tongueOut": 0.768854,
                                            "tongueRollDown": 0.247319, "tongueWide": 0.627775}
    assert dict(FACE_BOARD["MouthRollLower"]) == {"mouthUpperLipRollInL": 0.49881, "mouthUpperLipRollInR": 0.49881,
                                                 "mouthLowerLipRollInL": 1.0, "mouthLowerLipRollInR": 1.0}
    assert all(0.1 <= w <= 1.0 for entries in FACE_BOARD.values() for _, w in entries)


def test_left_and_right_poses_mirror_each_other():
    def mirrored(control: str) -> str:
        for a, b in (("UL", "UR"), ("DL", "DR"), ("LeftL", "RightR"), ("RightL", "LeftR")):
            if control.endswith(a):
                return control[: -len(a)] + b
        if control.endswith("L"):
            return control[:-1] + "R"
        return {"jawLeft": "jawRight", "mouthLeft": "mouthRight"}.get(control, control)

    for name in BLENDSHAPES:
        if name.endswith("Left"):
            left = {mirrored(c): w for c, w in FACE_BOARD[name]}
            assert left == dict(FACE_BOARD[name[:-4] + "Right"]), name
    names = control_names()
    assert len(names) == len(set(names)) == 80 and all(n.startswith("CTRL_expressions_") for n in names)


def test_curves_add_the_poses_and_clip_to_the_control_range():
    assert curve(one(JawOpen=0.7), "jawOpen") == pytest.approx(0.7)
    assert curve(one(MouthFunnel=0.5, MouthPucker=0.4), "mouthFunnelUL") == pytest.approx(0.5 + 0.4 * 0.751934)
    assert curve(one(BrowInnerUp=1.0, BrowOuterUpLeft=1.0), "browRaiseInL") == 1.0  # 2.0 clipped
    assert curve(one(BrowInnerUp=1.0, BrowOuterUpLeft=1.0), "browRaiseInR") == 1.0
    assert curve(one(BrowOuterUpLeft=1.0), "browRaiseInR") == 0.0
    assert curve(one(HeadYaw=0.5, JawOpen=0.0), "jawOpen") == 0.0  # angles drive no control
    with pytest.raises(InvalidInput, match="blendshape values"):
        face_board_curves(np.zeros((3, 10)))


def test_import_script_table_is_the_core_table():
    shipped = json.loads((ROOT / "plugins" / "unreal_bridge" / "metahuman_face_board.json").read_text())
    assert shipped == json.loads(json.dumps(table_document()))


def test_import_style_metahuman_keys_face_board_curves_from_a_take(tmp_path):
    frames = 40
    t = np.arange(frames)[:, None] / 30
    values = np.zeros((frames, len(CHANNELS)), np.float32)
    values[:, :NUM_BLENDSHAPES] = 0.5 + 0.45 * np.sin(2 * np.pi * (t + np.arange(NUM_BLENDSHAPES) / 9))
    values[:, NUM_BLENDSHAPES:] = 0.1 * np.sin(2 * np.pi * t + np.arange(9))
    clip = MotionClip(30, values)
    take = write_take(tmp_path, clip, None, 16000, "Mh", start_seconds=0.0, video=False)
    loaded = take_curves.load_take(str(take))
    got = {c.name: c for c in take_curves.take_curves(loaded, style="metahuman")}
    names, expected = face_board_curves(values)
    assert set(got) == set(names) | {"HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch",
                                     "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll"}
    for i, name in enumerate(names):
        np.testing.assert_allclose(got[name].values, expected[:, i], atol=2e-5, err_msg=name)
    np.testing.assert_allclose(got["HeadYaw"].times, np.arange(frames) / 30)


def test_live_link_packets_carry_61_values_and_no_translation():
    """Unreal's listener drops any packet whose count is not EARFaceBlendShape::MAX (61): head translation has
    no place in it, so the bridge sends rotations only, whatever the clip's head_translation holds."""
    clip = MotionClip(60, one(JawOpen=0.5), head_translation=np.array([[0.01, 0.02, 0.03]], np.float32))
    header = packet_header("dev", "Ada")
    packet = encode_packet(header, 1, 0.0, 60, clip.values[0])
    assert len(packet) == len(header) + 4 + 4 + 4 + 4 + 1 + 61 * 4  # frame time, count, 61 floats: nothing else
    decoded = decode_packet(packet)
    assert len(decoded.values) == 61 and decoded.values[CHANNELS.index("JawOpen")] == pytest.approx(0.5)
