"""A real Live Link Face app take is read by its timecodes, not its row count (issue 13 #2): the app writes
30 rows a second with 60 fps timecode (``12:27:47:47.169``, ``…:49.169``) and drops frames under load. Every
reader is checked: ``facecast.load``, the Unreal import script's curve module, ``unreal stream NAME=take.csv``
and the Blender add-on's Import CSV (real Blender).

The take is a cut (rows 381-620, with one dropped frame) of ``anim/S07-001.csv`` from
alexdjulin/LiveLinkFace-CSV-Retarget-For-Motionbuilder @ ea12397c0305 (MIT), see tests/data/SOURCES.md."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

import facecast
from facecast.exports.livelink_csv import CSV_COLUMNS, parse_timecode, write_csv
from facecast.motion import CHANNEL_INDEX, MotionClip

ROOT = Path(__file__).resolve().parents[1]
TAKE = ROOT / "tests" / "data" / "livelinkface_S07-001_cut.csv"
sys.path.insert(0, str(ROOT / "plugins" / "unreal_bridge"))
import facecast_take_curves as curves  # noqa: E402


def _rows() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with open(TAKE, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    times = np.array([parse_timecode(r[0], 60) for r in body])
    columns = {name: np.array([float(r[header.index(name)]) for r in body]) for name in CSV_COLUMNS}
    return times - times[0], columns


def test_the_shipped_take_is_a_real_app_take_with_a_dropped_frame() -> None:
    times, _ = _rows()
    steps = np.round(np.diff(times) * 60).astype(int)
    assert len(times) == 240 and set(steps) == {2, 4} and list(steps).count(4) == 1


def test_facecast_load_keys_rows_at_their_timecodes() -> None:
    times, columns = _rows()
    clip = facecast.load(TAKE)
    assert clip.fps == 30
    assert clip.duration == pytest.approx(times[-1] + 1 / 30, abs=2e-3)  # 8 s, not 4
    frames = np.round(times * 30).astype(int)
    assert frames[-1] == clip.num_frames - 1
    for name in ("JawOpen", "EyeBlinkLeft", "MouthLeft", "JawRight"):  # by name: the app swaps L/R columns
        np.testing.assert_allclose(clip.values[frames, CHANNEL_INDEX[name]], columns[name], atol=1e-6, err_msg=name)
    dropped = int(np.flatnonzero(np.diff(frames) == 2)[0])  # the frame between the two rows is interpolated
    middle = clip.values[frames[dropped] + 1, CHANNEL_INDEX["JawOpen"]]
    assert middle == pytest.approx((columns["JawOpen"][dropped] + columns["JawOpen"][dropped + 1]) / 2, abs=1e-6)


def test_our_own_takes_still_read_back_frame_for_frame(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for fps in (24, 25, 30, 60):
        clip = MotionClip(fps, rng.uniform(0, 1, (fps * 3, 61)).astype(np.float32))
        write_csv(clip, tmp_path / "t.csv", start_seconds=23 * 3600 + 59 * 60 + 59)  # runs past midnight
        back = facecast.load(tmp_path / "t.csv")
        assert back.fps == fps and back.num_frames == clip.num_frames
        np.testing.assert_allclose(back.values[:, :52], clip.values[:, :52], atol=1e-5)


def test_unreal_import_keys_curves_at_the_timecodes() -> None:
    times, columns = _rows()
    take = curves.load_take(str(TAKE))
    assert take.fps == 60 and take.num_frames == 240
    assert take.length_frames == round(times[-1] * 60) + 1 and take.duration == pytest.approx(8.0 + 1 / 60, abs=2e-3)
    jaw = next(c for c in curves.take_curves(take) if c.name == "JawOpen")
    np.testing.assert_allclose(jaw.times, times, atol=1e-9)
    np.testing.assert_allclose(jaw.values, columns["JawOpen"])


def test_unreal_stream_of_an_app_take_plays_for_its_real_length() -> None:
    from facecast.cli.unreal import parse_subject

    name, queue = parse_subject(f"Ada={TAKE}")
    utterance = next(queue.utterances())
    assert utterance.clip.fps == 30 and utterance.clip.duration == pytest.approx(8.0 + 1 / 30)


@pytest.mark.slow
def test_blender_import_csv_keys_an_app_take_at_its_timecodes(tmp_path: Path) -> None:
    blender_addon = pytest.importorskip("test_blender_addon", reason="the Blender add-on tests")
    if blender_addon._BPY_MISSING:
        pytest.skip(blender_addon._BPY_MISSING)
    site = tmp_path / "site"
    import zipfile

    sys.path.insert(0, str(blender_addon.PLUGIN))
    try:
        import build_addon
    finally:
        sys.path.remove(str(blender_addon.PLUGIN))
    with zipfile.ZipFile(build_addon.build_core_wheel(tmp_path)) as wheel:
        wheel.extractall(site)
    result = blender_addon.run_check("import_app_take", {"csv": str(TAKE), "fps": 30}, site, tmp_path)
    assert result["ops"][0]["result"] == ["FINISHED"], result
    frames, _ = result["curves"]["JawOpen"]
    assert result["fps"] == 30 and frames[-1] - frames[0] == pytest.approx(round(8.0 * 30))


def test_timecodes_that_go_backwards_are_a_clear_error(tmp_path: Path) -> None:
    from facecast.errors import InvalidInput

    lines = TAKE.read_text().splitlines()
    (tmp_path / "bad.csv").write_text("\n".join([lines[0], lines[2], lines[1], *lines[3:6]]) + "\n")
    with pytest.raises(InvalidInput, match=r"row 3: timecode '[0-9:.]+' does not come after"):
        facecast.load(tmp_path / "bad.csv")
    with pytest.raises(curves.TakeError, match="line 3: timecode"):
        curves.load_take(str(tmp_path / "bad.csv"))
