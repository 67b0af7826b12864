import subprocess
import sys

import pytest

import facecast

from conftest import ASSETS


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facecast", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("ext", ["csv", "json", "fcclip"])
def test_animate_writes_each_format(tmp_path, ext):
    out = tmp_path / f"take.{ext}"
    result = run_cli("animate", str(ASSETS / "speech_en.wav"), "-o", str(out), "--emotion", "joy", "--fps", "60")
    assert result.returncode == 0, result.stderr
    clip = facecast.load(out)
    assert clip.fps == 60 and clip.num_frames == 480
    assert clip.curve("MouthSmileLeft").mean() > 0.2


@pytest.mark.parametrize("args, message", [
    (["animate", "missing.wav", "-o", "{tmp}/a.csv"], "cannot read missing.wav"),
    (["animate", str(ASSETS / "mona_lisa.jpg"), "-o", "{tmp}/a.csv"], "has no audio stream"),
    (["animate", str(ASSETS / "speech_en.wav"), "-o", "{tmp}/a.mov3"], "cannot write .mov3"),
    (["animate", str(ASSETS / "speech_en.wav"), "-o", "{tmp}/a.csv", "--emotion", "grumpy"], "unknown emotion"),
    (["animate", str(ASSETS / "speech_en.wav"), "-o", "{tmp}/a.csv", "--head-motion", "9"], "head_motion must be"),
    (["info", "--server", "127.0.0.1:9"], "no facecast daemon at 127.0.0.1:9"),
])
def test_errors_are_one_line_without_traceback(tmp_path, args, message):
    result = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 or "usage:" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_info_and_animate_through_the_daemon(daemon, tmp_path):
    info = run_cli("info", "--server", daemon.address)
    assert info.returncode == 0 and "animator energy" in info.stdout
    out = tmp_path / "take.csv"
    result = run_cli("animate", str(ASSETS / "speech_en.wav"), "-o", str(out), "--server", daemon.address)
    assert result.returncode == 0, result.stderr
    assert facecast.load(out).num_frames == 240


@pytest.mark.slow
def test_animate_talking_portrait_mp4(tmp_path):
    import av

    out = tmp_path / "talk.mp4"
    result = run_cli("animate", str(ASSETS / "speech_en.wav"), "--image", str(ASSETS / "mona_lisa.jpg"), "-o", str(out),
                     "--size", "256", "--quiet")
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        assert video.frames == 240 and (video.width, video.height) == (256, 256)
        assert abs(float(audio.duration * audio.time_base) - 8.0) < 0.2
    assert run_cli("verify", str(out)).returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["talk.mp4"]


def test_mp4_needs_a_portrait(tmp_path):
    result = run_cli("animate", str(ASSETS / "speech_en.wav"), "-o", str(tmp_path / "talk.mp4"))
    assert result.returncode == 1 and "give the portrait with --image" in result.stderr
    assert list(tmp_path.iterdir()) == []
