"""Name-mapping presets, the ARKit test head, head rotations and key thinning (no Blender, no glTF needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facecast.character.joints import euler_to_quaternion, multiply
from facecast.character.rig_mapping import (
    PRESET_LABELS,
    best_preset,
    mapping_for,
    match_targets,
    normalize,
    preset_names,
)
from facecast.character.testhead import build_test_head
from facecast.errors import InvalidInput
from facecast.exports.keyreduce import reduce_keys
from facecast.motion import BLENDSHAPES


def test_every_built_in_preset_has_a_label_and_description_in_order():
    # the Blender add-on lists the presets from PRESET_LABELS; a preset without a label would be missing there
    assert list(PRESET_LABELS) == preset_names()[:-1]
    assert all(label and description for label, description in PRESET_LABELS.values())


def test_every_preset_names_all_52_channels():
    for preset in preset_names()[:-1]:
        mapping = mapping_for(preset)
        assert set(mapping) == set(BLENDSHAPES), preset
        assert all(mapping[name] for name in BLENDSHAPES)
    assert mapping_for("lowercamel")["JawOpen"] == ("jawOpen",)
    assert mapping_for("cc4")["MouthSmileLeft"] == ("Mouth_Smile_L",)
    assert len(mapping_for("cc4")["MouthPucker"]) == 4
    assert mapping_for("threejs") == mapping_for("lowercamel")


def test_matching_ignores_case_and_separators_and_reports_the_rest():
    mapping, unmapped = match_targets(["jawOpen", "EYE_BLINK_LEFT", "mouth.smile-right", "viseme_aa"], "arkit")
    assert mapping == {"jawOpen": "JawOpen", "EYE_BLINK_LEFT": "EyeBlinkLeft", "mouth.smile-right": "MouthSmileRight"}
    assert unmapped == ["viseme_aa"]
    assert normalize("Jaw_Open") == normalize("jawOpen") == "jawopen"


def test_cc4_preset_matches_character_creator_names():
    names = ["Jaw_Open", "Mouth_Pucker_Up_L", "Mouth_Pucker_Down_R", "Eye_L_Look_R", "Brow_Drop_L", "Head_Turn_Up"]
    mapping, unmapped = match_targets(names, "cc4")
    assert mapping["Mouth_Pucker_Up_L"] == mapping["Mouth_Pucker_Down_R"] == "MouthPucker"
    assert mapping["Eye_L_Look_R"] == "EyeLookInLeft"  # the left eye looking right looks in, towards the nose
    assert unmapped == ["Head_Turn_Up"]
    assert best_preset(names) == "cc4"


def test_custom_mapping_from_dict_and_json_file(tmp_path):
    path = tmp_path / "rig.json"
    path.write_text(json.dumps({"jawOpen": "mouth_open", "EyeBlinkLeft": ["lid_L_a", "lid_L_b"]}))
    mapping, unmapped = match_targets(["Mouth_Open", "lid_L_b", "other"], str(path))
    assert mapping == {"Mouth_Open": "JawOpen", "lid_L_b": "EyeBlinkLeft"} and unmapped == ["other"]
    assert mapping_for({"JawOpen": "a"}) == {"JawOpen": ("a",)}
    with pytest.raises(InvalidInput, match="not one of the 52"):
        mapping_for({"Smile": "a"})
    with pytest.raises(InvalidInput, match="unknown mapping preset"):
        mapping_for("blender")
    with pytest.raises(InvalidInput, match="cannot read mapping file"):
        mapping_for(str(tmp_path / "missing.json"))


def test_test_head_has_52_local_targets_and_eyes():
    head = build_test_head()
    assert head.target_names == list(BLENDSHAPES)
    vertices = len(head.mesh.positions)
    assert 1000 < vertices < 5000
    assert head.mesh.indices.max() < vertices and len(head.mesh.indices) % 3 == 0
    for name, delta in head.targets.items():
        moved = np.any(delta != 0, axis=1)
        assert 0 < moved.sum() < vertices / 2, name  # each shape moves a region, not nothing, not everything
    jaw = head.targets["JawOpen"]
    assert jaw[:, 1].min() < -0.02  # the chin drops by centimetres
    moved = np.any(head.targets["EyeBlinkLeft"] != 0, axis=1)
    assert head.mesh.positions[moved, 0].mean() > 0.02  # the left lid is on the character's left (+X)
    left, right = head.targets["MouthSmileLeft"], head.targets["MouthSmileRight"]
    assert np.isclose(left[:, 0].sum(), -right[:, 0].sum(), atol=1e-6)  # mirrored twins
    assert [eye.name for eye in head.eyes] == ["LeftEye", "RightEye"] and head.eyes[0].translation[0] > 0


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    qv = np.r_[v, 0.0]
    conj = q * [-1, -1, -1, 1]
    return multiply(multiply(q, qv), conj)[:3]


def test_rotation_axes_follow_the_documented_conventions():
    forward = np.array([0.0, 0.0, 1.0])
    yaw = euler_to_quaternion(np.array([0.5]), np.zeros(1), np.zeros(1))[0]
    pitch = euler_to_quaternion(np.zeros(1), np.array([0.5]), np.zeros(1))[0]
    roll = euler_to_quaternion(np.zeros(1), np.zeros(1), np.array([0.5]))[0]
    assert _rotate(yaw, forward)[0] > 0.4  # turns towards the character's left (+X)
    assert _rotate(pitch, forward)[1] < -0.4  # tips down
    assert _rotate(roll, np.array([0.0, 1.0, 0.0]))[0] < -0.4  # top of the head towards the right shoulder (-X)
    q = euler_to_quaternion(np.linspace(0, 6.5, 50), np.zeros(50), np.zeros(50))
    assert np.all(np.sum(q[1:] * q[:-1], axis=1) > 0)  # continuous hemisphere for linear interpolation


def test_reduce_keys_keeps_the_curve_within_the_bound():
    t = np.linspace(0, 4, 241)
    curves = np.stack([np.sin(3 * t), np.abs(np.sin(t)) ** 3], axis=1)
    for bound in (1e-2, 1e-3):
        keep = reduce_keys(curves, bound)
        assert keep[0] == 0 and keep[-1] == len(t) - 1 and len(keep) < len(t)
        rebuilt = np.stack([np.interp(np.arange(len(t)), keep, curves[keep, c]) for c in range(2)], axis=1)
        assert np.abs(rebuilt - curves).max() <= bound + 1e-12
    assert len(reduce_keys(curves, None)) == len(t)
    assert len(reduce_keys(np.ones(100), 0.0)) == 2  # a constant curve needs its two ends only
    with pytest.raises(InvalidInput):
        reduce_keys(curves, -1.0)
