"""Errors and warnings a new user reads (issue 13 #6): no ``<_io.BytesIO object at 0x…>`` or errno numbers in
messages; a sine tone or white noise is animated with a "does not sound like speech" warning; ``capture``
refuses a still image. Everything in a real terminal, one line each."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from terminal import assert_ok, assert_one_line_error, run_in_terminal

import facecast
from facecast.audio import load_audio
from facecast.errors import InvalidInput, reason
from facecast.face import Avatar
from facecast.speechcheck import speech_problem

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
RATE = 16000


def _tone(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.4 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _noise(seconds: float = 3.0) -> np.ndarray:
    return (0.2 * np.random.default_rng(0).standard_normal(int(seconds * RATE))).astype(np.float32)


def test_reason_drops_object_reprs_and_errno_numbers() -> None:
    assert reason(OSError(2, "No such file or directory", "x.wav")) == "No such file or directory"
    assert reason(ValueError("cannot identify image file <_io.BytesIO object at 0x7f00deadbeef>")) == \
        "cannot identify image file"
    assert reason(RuntimeError("[Errno 1094995529] Invalid data found when processing input")) == \
        "Invalid data found when processing input"
    assert reason(KeyError()) == "KeyError"


def test_image_bytes_errors_name_no_python_objects() -> None:
    with pytest.raises(InvalidInput) as caught:
        Avatar.from_file(b"this is not an image")
    assert "0x" not in str(caught.value) and "object at" not in str(caught.value) and "image" in str(caught.value)


@pytest.mark.parametrize("name, make", [("tone", _tone), ("noise", _noise)])
def test_tone_and_noise_are_not_speech(name: str, make) -> None:
    assert speech_problem(make()) is not None


@pytest.mark.parametrize("path", [ASSETS / "speech_en.wav", ASSETS / "speech_de.wav"])
def test_real_speech_passes_the_check(path: Path) -> None:
    assert speech_problem(load_audio(path).samples) is None


def test_real_speech_recordings_in_shared_data_pass(shared_data: Path) -> None:
    for path in sorted((shared_data / "speech").glob("*.wav")):
        assert speech_problem(load_audio(path).samples) is None, path.name


def test_speech_over_a_rooms_rumble_passes_the_check() -> None:
    # GRID's studio puts strong 0-60 Hz energy under every pause; the check read all of its clips as "a pure tone"
    speech = load_audio(ASSETS / "speech_en.wav").samples
    pause = np.zeros(int(0.8 * RATE), np.float32)  # short phrases with pauses, as GRID's sentences have
    words = [speech[k:k + int(0.5 * RATE)] for k in range(0, len(speech) - RATE // 2, RATE)]
    spoken = np.concatenate([part for w in words for part in (w, pause)])
    t = np.arange(len(spoken)) / RATE
    rumble = 0.02 * np.sin(2 * np.pi * 31 * t) + 0.02 * np.sin(2 * np.pi * 55 * t) + 0.008
    assert speech_problem((spoken + rumble).astype(np.float32)) is None
    assert speech_problem((0.3 * np.sin(2 * np.pi * 55 * t)).astype(np.float32)) is not None  # hum alone: no speech


def test_real_talking_videos_of_every_training_source_pass(shared_data: Path) -> None:
    from facecast.audio import resample

    for source in sorted(p for p in (shared_data / "train").iterdir() if p.is_dir() and not p.name.endswith("_align")):
        for path in sorted(source.glob("*.mp4"))[:3]:
            sound = load_audio(path)
            assert speech_problem(resample(sound.samples, sound.sample_rate, RATE)) is None, path


def test_api_warns_on_a_tone(tmp_path: Path) -> None:
    sf.write(tmp_path / "tone.wav", _tone(), RATE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clip = facecast.animate(tmp_path / "tone.wav", animator="energy")
    assert clip.num_frames == 90
    assert any("does not sound like speech" in str(w.message) for w in caught)


@pytest.mark.parametrize("name, make", [("tone", _tone), ("noise", _noise)])
def test_cli_animates_tone_or_noise_with_one_warning_line(tmp_path: Path, name: str, make) -> None:
    sf.write(tmp_path / f"{name}.wav", make(), RATE)
    output = assert_ok(run_in_terminal("animate", f"{name}.wav", "--animator", "energy", "-o", "x.csv",
                                       cwd=tmp_path))
    lines = [line for line in output.splitlines() if line.startswith("facecast: warning:")]
    assert len(lines) == 1 and f"{name}.wav does not sound like speech" in lines[0], output


def test_cli_speech_has_no_warning(tmp_path: Path) -> None:
    output = assert_ok(run_in_terminal("animate", str(ASSETS / "speech_en.wav"), "--animator", "energy", "-o",
                                       "x.csv", cwd=tmp_path))
    assert "warning" not in output


@pytest.mark.parametrize("still", ["mona_lisa.jpg"])
def test_capture_refuses_a_still_image(tmp_path: Path, still: str) -> None:
    shutil.copy(ASSETS / still, tmp_path / still)
    assert_one_line_error(run_in_terminal("capture", still, "-o", "take.csv", cwd=tmp_path), "still image")
    assert not (tmp_path / "take.csv").exists()


def test_capture_refuses_an_image_renamed_as_a_video(tmp_path: Path) -> None:
    shutil.copy(ASSETS / "mona_lisa.jpg", tmp_path / "clip.mp4")
    assert_one_line_error(run_in_terminal("capture", "clip.mp4", "-o", "take.csv", cwd=tmp_path), "still image")


@pytest.mark.parametrize("args", [
    ["animate", "folder", "-o", "x.csv"],
    ["avatar", "garbage.jpg", "-o", "x.fcavatar"],
    ["export", "garbage.csv", "-o", "x.glb"],
])
def test_cli_errors_have_no_errno_or_object_reprs(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "garbage.jpg").write_bytes(b"\x00garbage" * 10)
    (tmp_path / "garbage.csv").write_bytes(b"Timecode,BlendShapeCount\n\xff\xfe\x00")
    line = assert_one_line_error(run_in_terminal(*args, cwd=tmp_path, timeout=60))
    assert "Errno" not in line and "object at 0x" not in line, line
