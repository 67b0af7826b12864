"""The README's and docs' commands from a plain install, without the checkout (issue 13, "done when"): the wheel
is built from the sources, installed with ``--no-deps`` into a fresh venv that sees this environment's
dependencies (never its ``facecast``), and every command runs from a temporary folder in a real terminal."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import soundfile as sf
from terminal import SIZE, assert_ok, assert_one_line_error, run_in_terminal

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``facecast`` command of a fresh venv holding only the wheel (dependencies seen through a .pth)."""
    work = tmp_path_factory.mktemp("plain")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "core", source / "core", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(work / "wheels"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((work / "wheels").glob("facecast-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "_dependencies.pth").write_text(str(Path(numpy.__file__).resolve().parents[1]) + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                           "--no-deps", str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return venv / "bin" / "facecast"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("user")
    samples, rate = sf.read(ROOT / "assets" / "speech_en.wav")
    sf.write(path / "speech.wav", samples[: int(2.5 * rate)], rate)
    shutil.copy(ROOT / "assets" / "mona_lisa.jpg", path / "face.jpg")
    return path


def _run(facecast: Path, folder: Path, *args: str, timeout: float = 180):
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    return run_in_terminal(*args, cwd=folder, command=str(facecast), env=env, timeout=timeout)


@pytest.mark.slow
def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Path, folder: Path) -> None:
    python = installed.with_name("python")
    where = subprocess.run([str(python), "-c", "import facecast; print(facecast.__file__)"], cwd=folder,
                           capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.parents[1]), where.stdout


@pytest.mark.slow
def test_readme_commands_run_from_a_plain_install(installed: Path, folder: Path) -> None:
    for command in ("animate", "avatar", "batch", "blender-bake", "capture", "corpus", "eval", "export", "info",
                    "serve", "unreal", "verify"):
        assert "usage: facecast" in assert_ok(_run(installed, folder, command, "--help", timeout=60))
    assert "wrote take.csv" in assert_ok(_run(installed, folder, "animate", "speech.wav", "-o", "take.csv"))
    assert_ok(_run(installed, folder, "animate", "speech.wav", "-o", "take.fcclip", "--progress", "json"))
    assert_ok(_run(installed, folder, "animate", "speech.wav", "-o", "take.glb", "--emotion", "happy"))
    assert_ok(_run(installed, folder, "animate", "speech.wav", "-o", "cues.tsv"))
    assert_ok(_run(installed, folder, "animate", "speech.wav", "--image", "face.jpg", "--size", "256",
                   "-o", "talk.mp4"))
    assert "carries the facecast watermark" in assert_ok(_run(installed, folder, "verify", "talk.mp4"))
    assert_ok(_run(installed, folder, "capture", "talk.mp4", "-o", "captured.csv"))
    assert_ok(_run(installed, folder, "export", "take.fcclip", "-o", "x.glb", "-o", "x.usda"))
    (folder / "lines").mkdir()
    shutil.copy(folder / "speech.wav", folder / "lines" / "one.wav")
    assert_ok(_run(installed, folder, "batch", "lines", "-o", "out", "--format", "csv,glb,fcclip"))
    assert_ok(_run(installed, folder, "avatar", "face.jpg", "-o", "face.fcavatar"))
    assert_one_line_error(_run(installed, folder, "animate", "missing.wav", "-o", "x.csv"), "missing.wav")


@pytest.mark.slow
def test_daemon_commands_run_from_a_plain_install(installed: Path, folder: Path) -> None:
    import pexpect

    server = pexpect.spawn(str(installed), ["serve", "--port", "0"], cwd=str(folder), dimensions=SIZE,
                           encoding="utf-8", timeout=60)
    try:
        server.expect(r"facecast serving on (\S+):(\d+)")
        address = f"127.0.0.1:{server.match.group(2)}"
        info = json.loads(assert_ok(_run(installed, folder, "info", "--json", "--server", address)))
        assert isinstance(info["limits"]["max_sessions"], int)
        assert_ok(_run(installed, folder, "animate", "speech.wav", "-o", "remote.csv", "--server", address))
        out = assert_ok(_run(installed, folder, "unreal", "take", "speech.wav", "-o", "takes", "--no-video",
                             "--server", address))
        assert re.search(r"wrote \S+: \d+ frames at 30 fps", out), out
    finally:
        server.sendintr()
        server.expect(pexpect.EOF, timeout=30)
