"""Timecode origins of CSV takes: ``facecast animate --timecode-start`` and the time of day in ``unreal take``,
run as a person runs them, under a real terminal."""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from terminal_helpers import run_in_pty

from facecast.errors import InvalidInput
from facecast.exports.livelink_csv import parse_timecode_start, read_csv

from conftest import ASSETS


def test_animate_csv_starts_at_the_given_timecode(tmp_path):
    out = tmp_path / "take.csv"
    code, text = run_in_pty([sys.executable, "-m", "facecast", "animate", str(ASSETS / "speech_en.wav"), "-o",
                             str(out), "--animator", "energy", "--fps", "30", "--timecode-start", "10:00:00:12"])
    assert code == 0, text
    assert "wrote" in text and "Traceback" not in text
    rows = out.read_text().splitlines()
    assert rows[1].startswith("10:00:00:12.000,61,") and rows[2].startswith("10:00:00:13.000,61,")
    assert abs(read_csv(out).metadata["timecode_start"] - (36000 + 12 / 30)) < 1e-9


@pytest.mark.parametrize("bad, why", [("10:00:00:30", "out of range at 30 fps"), ("25:00:00:00", "out of range"),
                                      ("10:00:00", "expected HH:MM:SS:FF"), ("ten", "expected HH:MM:SS:FF")])
def test_bad_timecode_start_is_one_clear_line(tmp_path, bad, why):
    out = tmp_path / "take.csv"
    code, text = run_in_pty([sys.executable, "-m", "facecast", "animate", str(ASSETS / "speech_en.wav"), "-o",
                             str(out), "--animator", "energy", "--fps", "30", "--timecode-start", bad])
    assert code != 0 and why in text and "Traceback" not in text, text
    assert not out.exists()


def test_timecode_start_is_refused_for_formats_without_timecodes(tmp_path):
    code, text = run_in_pty([sys.executable, "-m", "facecast", "animate", str(ASSETS / "speech_en.wav"), "-o",
                             str(tmp_path / "take.glb"), "--timecode-start", "10:00:00:00"])
    assert code != 0 and "--timecode-start is for .csv takes" in text and "Traceback" not in text


def test_timecode_start_parses_frames_and_fractions():
    assert parse_timecode_start("01:02:03:04", 60) == 3723 + 4 / 60
    assert parse_timecode_start("01:02:03:04.500", 60) == pytest.approx(3723 + 4.5 / 60)
    with pytest.raises(InvalidInput, match="frames 0-59"):
        parse_timecode_start("01:02:03:60", 60)


def test_unreal_take_is_stamped_with_the_time_of_day(daemon, tmp_path):
    before = dt.datetime.now()
    code, text = run_in_pty([sys.executable, "-m", "facecast", "unreal", "take", str(ASSETS / "speech_de.wav"), "-o",
                             str(tmp_path), "--slate", "Now", "--fps", "30", "--no-video", "--daemon",
                             daemon.address])
    after = dt.datetime.now()
    assert code == 0, text
    take, = tmp_path.glob("*_Now_1")
    start = read_csv(take / "Now_1_iPhone.csv").metadata["timecode_start"]
    seconds = [t.hour * 3600 + t.minute * 60 + t.second for t in (before, after)]
    assert seconds[0] - 1 <= start <= seconds[1] + 1 or seconds[1] < seconds[0]  # (a run across midnight)


def test_unreal_take_timecode_start_overrides_the_clock(daemon, tmp_path):
    code, text = run_in_pty([sys.executable, "-m", "facecast", "unreal", "take", str(ASSETS / "speech_de.wav"), "-o",
                             str(tmp_path), "--slate", "Fixed", "--fps", "30", "--no-video", "--timecode-start",
                             "09:30:00:00", "--daemon", daemon.address])
    assert code == 0, text
    take, = tmp_path.glob("*_Fixed_1")
    assert (take / "Fixed_1_iPhone.csv").read_text().splitlines()[1].startswith("09:30:00:00.000,61,")
