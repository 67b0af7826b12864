"""The pure-Python half of the Unreal take importer (plugins/unreal_bridge/facecast_take_curves.py), without
Unreal: reading our takes and CSVs shaped like the app's, curve names, angle units and key reduction."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from facecast.exports.livelink_csv import CSV_COLUMNS, write_csv
from facecast.motion import CHANNELS, LIVELINK_ANGLE_SCALE, NUM_BLENDSHAPES, MotionClip
from facecast.unreal.takes import write_take

from conftest import ROOT

sys.path.insert(0, str(ROOT / "plugins" / "unreal_bridge"))
import facecast_take_curves as curves


def talking_clip(fps: int = 30, frames: int = 90) -> MotionClip:
    t = np.arange(frames)[:, None] / fps
    values = np.zeros((frames, len(CHANNELS)), np.float32)
    values[:, :NUM_BLENDSHAPES] = 0.5 + 0.4 * np.sin(2 * np.pi * (t + np.arange(NUM_BLENDSHAPES) / 7))
    values[:, NUM_BLENDSHAPES:] = 0.2 * np.sin(2 * np.pi * t * 0.5 + np.arange(9))
    return MotionClip(fps, values)


def test_loads_a_take_folder_by_its_take_json(tmp_path):
    clip = talking_clip()
    folder = write_take(tmp_path, clip, np.zeros(48000, np.float32), 16000, "Ada", start_seconds=7200, video=False)
    take = curves.load_take(str(folder))
    assert take.fps == 30 and take.num_frames == 90 and math.isclose(take.start_seconds, 7200)
    assert take.audio_path and take.audio_path.endswith("Ada_1_iPhone.wav")
    assert list(take.columns) == list(CSV_COLUMNS)
    for name in CHANNELS:
        expected = clip.curve(name) / (LIVELINK_ANGLE_SCALE if name in curves.ROTATION_CURVES else 1)
        np.testing.assert_allclose(take.columns[name], expected, atol=1e-5)


def test_reads_a_bare_csv_and_guesses_its_rate(tmp_path):
    write_csv(talking_clip(fps=60, frames=130), tmp_path / "take.csv", start_seconds=3600 + 59 / 60)
    take = curves.load_take(str(tmp_path / "take.csv"))
    assert take.fps == 60 and take.num_frames == 130 and take.audio_path is None


def test_curves_names_units_and_times(tmp_path):
    write_csv(talking_clip(), tmp_path / "t.csv")
    take = curves.load_take(str(tmp_path / "t.csv"))
    by_style = {style: curves.take_curves(take, style, prefix="ARKit_") for style in curves.NAME_STYLES}
    assert [c.name for c in by_style["livelink"]][:3] == ["EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft"]
    assert by_style["arkit"][0].name == "eyeBlinkLeft" and by_style["prefixed"][0].name == "ARKit_EyeBlinkLeft"
    renamed = curves.take_curves(take, mapping={"JawOpen": "CTRL_expressions_jawOpen"})
    assert "CTRL_expressions_jawOpen" in [c.name for c in renamed]
    first = by_style["livelink"][0]
    assert first.times[:3] == [0.0, 1 / 30, 2 / 30] and len(first.times) == 90
    yaw = {u: next(c for c in curves.take_curves(take, angle_units=u) if c.name == "HeadYaw") for u in
           curves.ANGLE_UNITS}
    np.testing.assert_allclose(np.radians(yaw["degrees"].values), yaw["radians"].values, atol=1e-9)
    np.testing.assert_allclose(np.array(yaw["livelink"].values) * LIVELINK_ANGLE_SCALE, yaw["radians"].values,
                               atol=1e-6)
    assert curves.take_curves(take, skip_silent=True)  # a talking take has no silent curves
    with pytest.raises(curves.TakeError, match="style"):
        curves.take_curves(take, "camel")


def test_key_reduction_keeps_every_dropped_key_within_tolerance():
    times = [i / 60 for i in range(600)]
    values = [math.sin(t) * 0.5 + (0.3 if 3 < t < 4 else 0) for t in times]
    kept_t, kept_v = curves.reduce_keys(times, values, 0.001)
    assert kept_t[0] == 0 and kept_t[-1] == times[-1] and len(kept_t) < len(times) / 3
    rebuilt = np.interp(times, kept_t, kept_v)
    assert np.abs(rebuilt - values).max() <= 0.001 + 1e-12
    assert curves.reduce_keys(times, values, 0) == (times, values)
    flat_t, _ = curves.reduce_keys(times, [0.25] * 600, 1e-6)
    assert flat_t == [times[0], times[-1]]


def test_bad_takes_name_the_problem(tmp_path):
    (tmp_path / "x.csv").write_text("Frame,JawOpen\n1,0.5\n")
    with pytest.raises(curves.TakeError, match="must start with Timecode"):
        curves.load_take(str(tmp_path / "x.csv"))
    (tmp_path / "y.csv").write_text("Timecode,BlendShapeCount,JawOpen\n00:00:00:01.000,61,abc\n")
    with pytest.raises(curves.TakeError, match="line 2: missing or non-numeric JawOpen"):
        curves.load_take(str(tmp_path / "y.csv"))
    (tmp_path / "z.csv").write_text("Timecode,BlendShapeCount,JawOpen\n00:00:00:99.000,61,0.1\n")
    with pytest.raises(curves.TakeError, match="too high"):
        curves.load_take(str(tmp_path / "z.csv"))
    with pytest.raises(curves.TakeError, match="neither a take folder nor a CSV"):
        curves.load_take(str(tmp_path / "missing"))
    (tmp_path / "y.csv").unlink()
    (tmp_path / "z.csv").unlink()
    (tmp_path / "x.csv").unlink()
    with pytest.raises(curves.TakeError, match="holds 0 curve CSV files"):
        curves.load_take(str(tmp_path))


def test_the_editor_script_compiles_and_uses_the_documented_calls():
    script = ROOT / "plugins" / "unreal_bridge" / "unreal_import_take.py"
    source = script.read_text()
    compile(source, str(script), "exec")  # it imports `unreal`, so it can only be compiled here, not run
    for call in ("unreal.AnimationLibrary.add_curve(", "unreal.AnimationLibrary.add_float_curve_keys(sequence"):
        assert call in source
