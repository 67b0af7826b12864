"""Every command of the README and docs, run as a new user runs it: in a real pseudo-terminal with a size, so
progress bars draw (the first-hour crash of issue 13 hid behind ``--quiet``). Each run must exit 0 without a
traceback; bad input must end in exactly one ``facecast: error:`` line."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import numpy as np
import pexpect
import pytest
import soundfile as sf
from terminal import FACECAST, SIZE, assert_ok, assert_one_line_error, run_in_terminal

from facecast.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a short speech clip (2.5 s of the shipped one) and a portrait."""
    path = tmp_path_factory.mktemp("terminal")
    samples, rate = sf.read(ASSETS / "speech_en.wav")
    sf.write(path / "speech.wav", samples[: int(2.5 * rate)], rate)
    shutil.copy(ASSETS / "mona_lisa.jpg", path / "face.jpg")
    return path


@pytest.fixture(scope="module")
def takes(work: Path) -> Path:
    """take.csv and take.fcclip, made by ``facecast animate`` in a terminal (with its progress bar)."""
    for name in ("take.csv", "take.fcclip"):
        output = assert_ok(run_in_terminal("animate", "speech.wav", "-o", name, cwd=work))
        assert "animating" in output and "100%" in output and f"wrote {name}" in output
    return work


def test_animate_draws_its_progress_bar_in_a_terminal(takes: Path) -> None:
    assert (takes / "take.csv").stat().st_size > 0 and (takes / "take.fcclip").stat().st_size > 0


def test_progress_json_prints_one_object_a_line(work: Path) -> None:
    output = assert_ok(run_in_terminal("animate", "speech.wav", "-o", "json_progress.csv", "--progress", "json",
                                       cwd=work))
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert events and all(e["progress"] == "animating" and e["unit"] == "s" for e in events)
    assert events[-1]["finished"] is True and events[-1]["done"] == pytest.approx(2.5, abs=0.05)
    assert "|" not in output  # no bar drawn beside the JSON


def test_animate_mp4_renders_and_verify_finds_the_mark(work: Path) -> None:
    output = assert_ok(run_in_terminal("animate", "speech.wav", "--image", "face.jpg", "--size", "256", "-o",
                                       "talk.mp4", cwd=work))
    assert "rendering" in output and "wrote talk.mp4" in output
    assert "carries the facecast watermark" in assert_ok(run_in_terminal("verify", "talk.mp4", cwd=work))


def test_capture_export_and_batch_in_a_terminal(takes: Path) -> None:
    if not (takes / "talk.mp4").exists():
        assert_ok(run_in_terminal("animate", "speech.wav", "--image", "face.jpg", "--size", "256", "-o",
                                  "talk.mp4", cwd=takes))
    assert "wrote captured.csv" in assert_ok(run_in_terminal("capture", "talk.mp4", "-o", "captured.csv",
                                                             cwd=takes))
    output = assert_ok(run_in_terminal("export", "take.fcclip", "-o", "take.glb", "-o", "take.usda",
                                       "-o", "again.csv", cwd=takes))
    assert "wrote take.glb" in output and "wrote again.csv" in output
    lines = takes / "lines"
    lines.mkdir(exist_ok=True)
    shutil.copy(takes / "speech.wav", lines / "one.wav")
    output = assert_ok(run_in_terminal("batch", "lines", "-o", "out", "--format", "csv,fcclip", cwd=takes))
    assert "1 done" in output and (takes / "out" / "one.csv").exists()


def test_avatar_in_a_terminal(work: Path) -> None:
    assert "wrote" in assert_ok(run_in_terminal("avatar", "face.jpg", "-o", "face.fcavatar", cwd=work))


@pytest.mark.slow
def test_daemon_commands_in_a_terminal(daemon, takes: Path) -> None:
    output = assert_ok(run_in_terminal("info", "--server", daemon.address, cwd=takes))
    assert "animator" in output
    info = json.loads(assert_ok(run_in_terminal("info", "--json", "--server", daemon.address, cwd=takes)))
    assert isinstance(info["limits"]["max_sessions"], int)
    assert isinstance(info["limits"]["max_audio_seconds"], (int, float))
    assert_ok(run_in_terminal("animate", "speech.wav", "-o", "remote.csv", "--server", daemon.address, cwd=takes))
    assert "wrote" in assert_ok(run_in_terminal("unreal", "take", "speech.wav", "-o", "ue_takes", "--no-video",
                                                "--server", daemon.address, cwd=takes))
    assert "wrote" in assert_ok(run_in_terminal("unreal", "present", "speech.wav", "--image", "face.jpg",
                                                "--size", "128", "--sequence", "frames",
                                                "--server", daemon.address, cwd=takes))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreal_stream_of_a_take_reaches_the_monitor(takes: Path) -> None:
    port = _free_udp_port()
    monitor = pexpect.spawn(FACECAST, ["unreal", "monitor", "--port", str(port), "--count", "5"], cwd=str(takes),
                            dimensions=SIZE, encoding="utf-8", timeout=60)
    monitor.expect("listening")
    assert_ok(run_in_terminal("unreal", "stream", "--subject", "Ada=take.csv", "--port", str(port), cwd=takes))
    monitor.expect(pexpect.EOF)
    monitor.close()
    assert monitor.exitstatus == 0 and monitor.before.count("Ada frame") == 5, monitor.before


@pytest.mark.slow
def test_corpus_build_and_eval_in_a_terminal(work: Path) -> None:
    assert_ok(run_in_terminal("corpus", "build", "--hours", "0.002", "--out", "corpus", "--jobs", "1", cwd=work))
    assert "phonetic" in assert_ok(run_in_terminal("eval", "corpus", "--limit", "2", cwd=work))


def _commands() -> list[list[str]]:
    parser = build_parser()
    found = []

    def walk(p, prefix: list[str]) -> None:
        subs = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs:
            found.append(prefix)
        for sub in subs:
            for name, child in sub.choices.items():
                walk(child, [*prefix, name])

    walk(parser, [])
    return found


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_and_flag_has_help(command: list[str]) -> None:
    parser = build_parser()
    for name in command:
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = sub.choices[name]
    missing = [a.option_strings[0] for a in parser._actions if a.option_strings and not a.help]
    assert not missing, f"facecast {' '.join(command)}: flags without help: {missing}"


@pytest.mark.slow
def test_help_of_the_commands_not_run_above_prints_in_a_terminal() -> None:
    # the others run for real in this file; every command's flags are checked in-process above
    for command in (["serve"], ["blender-bake"], ["corpus", "build"], ["unreal", "present"]):
        output = assert_ok(run_in_terminal(*command, "--help", timeout=60))
        assert "usage: facecast" in output


@pytest.mark.parametrize("args, words", [
    (["animate", "missing.wav", "-o", "x.csv"], ["missing.wav"]),
    (["animate", "speech.wav", "-o", "x.nope"], [".nope"]),
    (["export", "missing.fcclip", "-o", "x.glb"], ["missing.fcclip"]),
    (["verify", "missing.mp4"], ["missing.mp4"]),
    (["info", "--server", "127.0.0.1:1"], ["127.0.0.1:1"]),
])
def test_bad_input_ends_in_one_error_line_in_a_terminal(work: Path, args: list[str], words: list[str]) -> None:
    assert_one_line_error(run_in_terminal(*args, cwd=work, timeout=60), *words)


def test_a_silent_clip_is_one_error_line(work: Path) -> None:
    sf.write(work / "silence.wav", np.zeros(16000, dtype=np.float32), 16000)
    assert_one_line_error(run_in_terminal("animate", "silence.wav", "-o", "x.csv", cwd=work), "silent")
