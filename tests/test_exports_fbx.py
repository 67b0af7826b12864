"""FBX export through Blender: the file round-trips through Blender's FBX importer with the same curves."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from exports_helpers import speech_clip, weights_matrix

from facecast.errors import FacecastError
from facecast.exports import fbx
from facecast.motion import BLENDSHAPES

READER = Path(__file__).parent / "helpers" / "fbx_read_shape_keys.py"
MAKE_BLEND = Path(__file__).parent / "helpers" / "make_blend_head.py"


def blender_or_skip() -> list[str]:
    try:
        return fbx.blender_command()
    except FacecastError as e:
        pytest.skip(f"no Blender to run the FBX exporter: {e}")


def read_back(path: Path) -> dict:
    done = subprocess.run([*blender_or_skip(), str(READER), "--", str(path)], capture_output=True, text=True,
                          timeout=300, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


@pytest.mark.slow
def test_fbx_round_trips_through_blenders_importer(tmp_path):
    blender_or_skip()
    clip = speech_clip()
    path = tmp_path / "take.fbx"
    fbx.write_fbx(clip, path)
    result = read_back(path)
    assert result["fps"] == clip.fps
    assert set(result["bones"]) >= {"Head", "LeftEye", "RightEye"}
    assert set(result["curves"]) == set(BLENDSHAPES)
    expected = weights_matrix(clip, list(BLENDSHAPES))
    for column, name in enumerate(BLENDSHAPES):
        keys = np.array(result["curves"][name])
        sampled = np.interp(np.arange(clip.num_frames), keys[:, 0], keys[:, 1])
        assert np.abs(sampled - expected[:, column]).max() <= 1e-3, name


@pytest.mark.slow
def test_fbx_animates_a_users_fbx_head_by_name(tmp_path):
    blender_or_skip()
    clip = speech_clip()
    fbx.write_fbx(clip, tmp_path / "head.fbx")  # any FBX with ARKit-named shape keys stands in for a user's head
    fbx.write_fbx(clip, tmp_path / "retarget.fbx", head=tmp_path / "head.fbx", preset="arkit")
    curves = read_back(tmp_path / "retarget.fbx")["curves"]
    jaw = np.array(curves["JawOpen"])
    assert len(jaw) == clip.num_frames  # the head's own animation was replaced, not merged
    expected = clip.curve("JawOpen")
    assert np.abs(np.interp(np.arange(clip.num_frames), jaw[:, 0], jaw[:, 1]) - expected).max() <= 1e-3


@pytest.mark.slow
def test_fbx_animates_a_blend_head_through_the_cc4_preset(tmp_path):
    command = blender_or_skip()
    head = tmp_path / "cc_head.blend"
    subprocess.run([*command, str(MAKE_BLEND), "--", str(head)], capture_output=True, timeout=300, check=True)
    clip = speech_clip()
    with pytest.warns(UserWarning, match="Extra_Shape"):
        fbx.write_fbx(clip, tmp_path / "cc.fbx", head=head, preset="cc4")
    curves = read_back(tmp_path / "cc.fbx")["curves"]
    assert set(curves) <= {"Jaw_Open", "Mouth_Smile_L", "Extra_Shape"}
    # Extra_Shape has no ARKit channel: left at rest (the exporter may still bake it as a flat curve)
    assert all(value == 0 for _, value in curves.get("Extra_Shape", []))
    for name, channel in (("Jaw_Open", "JawOpen"), ("Mouth_Smile_L", "MouthSmileLeft")):
        keys = np.array(curves[name])
        sampled = np.interp(np.arange(clip.num_frames), keys[:, 0], keys[:, 1])
        assert np.abs(sampled - clip.curve(channel)).max() <= 1e-3, name


def test_missing_blender_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.delenv("FACECAST_BLENDER_PYTHON", raising=False)
    monkeypatch.delenv("FACECAST_BLENDER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FacecastError, match=r"looked at .*PATH \(no blender\).*pip install bpy"):
        fbx.write_fbx(speech_clip(), tmp_path / "take.fbx")
    assert not (tmp_path / "take.fbx").exists()
