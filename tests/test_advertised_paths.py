"""Paths the docs advertise work from a plain install (issue 13 #5): ``export take -o x.mp4 --image`` and
``batch --format mp4 --image`` render a take as a talking portrait; FBX export and ``blender-bake`` find Blender
from ``--blender``, ``$FACECAST_BLENDER``, ``PATH`` or an installed ``bpy`` (never from the checkout), and say
where they looked when there is none."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import av
import pytest
import soundfile as sf
from terminal import assert_ok, assert_one_line_error, run_in_terminal

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
BPY_PYTHON = ROOT / ".venv-blender" / "bin" / "python"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("paths")
    samples, rate = sf.read(ASSETS / "speech_en.wav")
    sf.write(path / "take.wav", samples[: rate + rate // 2], rate)  # the sound beside take.csv, as capture writes it
    shutil.copy(ASSETS / "mona_lisa.jpg", path / "face.jpg")
    assert_ok(run_in_terminal("animate", "take.wav", "--animator", "energy", "-o", "take.csv", cwd=path))
    assert_ok(run_in_terminal("animate", "take.wav", "--animator", "energy", "-o", "take.fcclip", cwd=path))
    return path


def _streams(path: Path) -> set[str]:
    with av.open(str(path)) as container:
        return {s.type for s in container.streams}


def test_export_renders_a_take_as_a_talking_portrait(work: Path) -> None:
    assert "wrote talk.mp4" in assert_ok(run_in_terminal("export", "take.csv", "-o", "talk.mp4", "--image",
                                                         "face.jpg", "--size", "128", cwd=work))
    assert _streams(work / "talk.mp4") == {"video", "audio"}  # take.wav beside take.csv is muxed in
    shutil.copy(work / "take.fcclip", work / "alone.fcclip")  # no alone.wav: a silent video
    assert_ok(run_in_terminal("export", "alone.fcclip", "-o", "silent.mp4", "-o", "again.glb", "--image",
                              "face.jpg", "--size", "128", cwd=work))
    assert _streams(work / "silent.mp4") == {"video"} and (work / "again.glb").stat().st_size > 0


@pytest.mark.parametrize("args, words", [
    (["export", "take.fcclip", "-o", "x.mp4"], ["--image"]),
    (["export", "take.fcclip", "-o", "x.glb", "--image", "face.jpg"], ["--image", ".mp4"]),
    (["batch", ".", "-o", "out_bad", "--format", "mp4"], ["--image"]),
])
def test_missing_or_misplaced_image_is_one_error_line(work: Path, args: list[str], words: list[str]) -> None:
    assert_one_line_error(run_in_terminal(*args, cwd=work, timeout=60), *words)
    assert not (work / "x.mp4").exists() and not (work / "x.glb").exists()


def test_batch_renders_mp4_with_image(work: Path) -> None:
    lines = work / "lines"
    lines.mkdir(exist_ok=True)
    shutil.copy(work / "take.wav", lines / "one.wav")
    assert_ok(run_in_terminal("batch", "lines", "-o", "out", "--format", "mp4,csv", "--image", "face.jpg",
                              "--size", "256", "--animator", "energy", cwd=work))
    assert _streams(work / "out" / "one.mp4") == {"video", "audio"}


def _no_blender_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FACECAST_BLENDER", "FACECAST_BLENDER_PYTHON")}
    env["PATH"] = str(Path(os.environ["PATH"].split(os.pathsep)[0]))  # keeps python, has no blender
    assert not shutil.which("blender", path=env["PATH"])
    return env


@pytest.mark.parametrize("args", [
    ["export", "take.fcclip", "-o", "x.fbx"],
    ["blender-bake", "take.wav", "-o", "x.blend"],
])
def test_no_blender_error_says_where_it_looked(work: Path, tmp_path: Path, args: list[str]) -> None:
    env = {**_no_blender_env(tmp_path), "FACECAST_BLENDER": str(tmp_path / "no-blender-here")}
    line = assert_one_line_error(run_in_terminal(*args, cwd=work, env=env, timeout=60), "looked at")
    for place in ("--blender (not given)", "no-blender-here", "PATH (no blender)", "no bpy module"):
        assert place in line, line
    assert not (work / "x.fbx").exists() and not (work / "x.blend").exists()


def test_core_never_reaches_into_the_checkout() -> None:
    offenders = []
    for path in (ROOT / "core" / "facecast").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"sys\.path\.(insert|append)", r"\.venv-blender", r"plugins[/\"' ,]+blender", r"parents\[3\]"):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert not offenders, offenders


@pytest.mark.slow
@pytest.mark.skipif(not BPY_PYTHON.exists(), reason="no bpy venv (.venv-blender; make test-deps)")
def test_fbx_export_uses_the_blender_given_with_the_flag(work: Path, tmp_path: Path) -> None:
    env = _no_blender_env(tmp_path)
    output = assert_ok(run_in_terminal("export", "take.fcclip", "-o", "take.fbx", "--blender", str(BPY_PYTHON),
                                       cwd=work, env=env, timeout=300))
    assert "wrote take.fbx" in output and (work / "take.fbx").stat().st_size > 10_000
