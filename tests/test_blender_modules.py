"""The Blender add-on's bpy-free modules, in the main venv: keyframe arrays, the mapping table, worker jobs,
live streaming, the local daemon launcher and the extension build (no Blender needed)."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tomllib

from facecast.audio import load_audio
from facecast.client import Client
from facecast.controls import Controls
from facecast.errors import FacecastError, InvalidInput
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, NUM_CHANNELS, MotionClip

PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "blender"
sys.path.insert(0, str(PLUGIN))

import build_addon  # noqa: E402
from facecast_blender import daemon as local_daemon  # noqa: E402
from facecast_blender.jobs import Job, animate_job, info_job  # noqa: E402
from facecast_blender.keyframes import blender_quaternions, co_pairs, frame_numbers  # noqa: E402
from facecast_blender.live import LiveSession  # noqa: E402
from facecast_blender.portrait import portrait_job, sequence_folder  # noqa: E402
from facecast_blender.rigmap import best_preset, preset_rows, resolve  # noqa: E402


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vector ``v`` by the (w, x, y, z) quaternion ``q``."""
    w, u = q[0], q[1:]
    return v + 2 * np.cross(u, np.cross(u, v) + w * v)


def test_frame_numbers_start_at_the_current_frame_and_follow_scene_fps():
    np.testing.assert_array_equal(frame_numbers(4, 30, 30.0, 10), [10, 11, 12, 13])
    np.testing.assert_allclose(frame_numbers(3, 30, 24.0, 1), [1, 1.8, 2.6])  # a 30 fps take in a 24 fps scene
    np.testing.assert_array_equal(co_pairs(np.array([5.0, 6.0]), np.array([0.25, 0.5])), [5, 0.25, 6, 0.5])


def test_head_rotations_turn_the_way_the_contract_says_in_blender_axes():
    values = np.zeros((3, NUM_CHANNELS), np.float32)
    values[0, CHANNEL_INDEX["HeadYaw"]] = 0.4  # face turns towards its own left (+X in Blender)
    values[1, CHANNEL_INDEX["HeadPitch"]] = 0.4  # face tips down (-Z)
    values[2, CHANNEL_INDEX["HeadRoll"]] = 0.4  # top of the head towards the character's right shoulder (-X)
    q = blender_quaternions(MotionClip(30, values), "Head")
    forward, up = np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0])  # a Blender character faces -Y
    assert _rotate(q[0], forward)[0] > 0.3
    assert _rotate(q[1], forward)[2] < -0.3
    assert _rotate(q[2], up)[0] < -0.3
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-9)


def test_presets_fill_all_52_rows_and_resolve_against_real_names():
    rows = preset_rows("cc4")
    assert [arkit for arkit, _ in rows] == list(BLENDSHAPES)
    assert dict(rows)["MouthPucker"].count(",") == 3  # CC4 splits pucker into four shapes
    keys = ["Jaw_Open", "Mouth_Smile_L", "Mouth_Pucker_Up_L", "Mouth_Pucker_Up_R", "Extra_Shape"]
    plan = resolve(rows, keys, "CC_Head")
    assert (CHANNEL_INDEX["JawOpen"], "Jaw_Open") in plan.bindings
    assert {name for ch, name in plan.bindings if ch == CHANNEL_INDEX["MouthPucker"]} == {"Mouth_Pucker_Up_L",
                                                                                         "Mouth_Pucker_Up_R"}
    assert "Mouth_Pucker_Down_L" in plan.warning(limit=100)
    assert best_preset(keys) == "cc4"


def test_resolve_errors_name_the_problem():
    with pytest.raises(InvalidInput, match="Cube has no shape keys"):
        resolve(preset_rows("arkit"), [], "Cube")
    with pytest.raises(InvalidInput, match="none of Rig's 2 shape keys match"):
        resolve(preset_rows("arkit"), ["smile", "frown"], "Rig")
    with pytest.raises(InvalidInput, match="'Jawopen_typo' is not an ARKit"):
        resolve([("Jawopen_typo", "x")], ["x"], "Rig")
    assert resolve(preset_rows("arkit"), list(BLENDSHAPES)).warning() is None
    twice = resolve([("JawOpen", "mouth_open"), ("MouthClose", "Mouth_Open")], ["mouth_open"], "Rig")
    assert twice.bindings == [(CHANNEL_INDEX["JawOpen"], "mouth_open")]
    assert "already driven by JawOpen" in twice.warning()


def test_animate_job_posts_progress_and_returns_the_daemons_clip(daemon, assets):
    audio = (assets / "speech_en.wav").read_bytes()
    job = animate_job(daemon.address, None, audio, None, 30, Controls(seed=3)).start()
    final = job.wait(timeout=60)
    assert final.kind == "done", final.text
    with Client(daemon.address) as client:
        direct = client.animate(audio, fps=30, controls=Controls(seed=3))
    np.testing.assert_array_equal(final.result.values, direct.values)


def test_jobs_report_errors_as_one_line_and_cancel(daemon, assets):
    down = info_job("127.0.0.1:1", None).start().wait(timeout=30)
    assert down.kind == "error" and "no facecast daemon at 127.0.0.1:1" in down.text
    bad = animate_job(daemon.address, None, b"RIFF not really", None, 30, Controls()).start().wait(timeout=30)
    assert bad.kind == "error" and "INVALID_ARGUMENT" in bad.text and "\n" not in bad.text

    def slow(job: Job) -> None:
        for i in range(1000):
            job.progress(i, 1000)
            job.cancelled.wait(0.01)

    job = Job(slow).start()
    job.cancel()
    assert job.wait(timeout=10).text == "cancelled"
    info = info_job(daemon.address, None).start().wait(timeout=30)
    assert info.kind == "done" and info.result["health"] == "SERVING" and info.result["providers"]


def test_sequence_folders_never_reuse_an_earlier_take(tmp_path):
    first = sequence_folder(str(tmp_path), "/pics/face.jpg", "/takes/line01.wav")
    assert first == str(tmp_path / "face_line01")
    Path(first).mkdir()
    assert sequence_folder(str(tmp_path), "face.png", "line01.flac") == str(tmp_path / "face_line01_1")


def test_portrait_job_writes_the_whole_sequence_or_nothing(daemon, assets, tmp_path):
    audio = (assets / "speech_en.wav").read_bytes()
    folder = tmp_path / "takes" / "portrait_speech_en"
    # cancelled after the first frame is on disk: the hidden partial folder goes, no sequence appears
    job = portrait_job(daemon.address, None, str(assets / "mona_lisa.jpg"), audio, str(folder), None, 30, Controls(),
                       128).start()
    first = job.messages.get(timeout=120)  # posted once the first frame is written
    assert first.kind == "progress" and first.done == 1, first.text
    job.cancel()
    assert job.wait(timeout=120).text == "cancelled"
    assert list((tmp_path / "takes").iterdir()) == []
    # errors before and after the avatar upload: one line each, no files
    down = portrait_job("127.0.0.1:1", None, str(assets / "mona_lisa.jpg"), audio, str(folder), None, 30, Controls(),
                        128).start().wait(timeout=30)
    assert down.kind == "error" and "no facecast daemon at 127.0.0.1:1" in down.text
    bad = portrait_job(daemon.address, None, str(assets / "mona_lisa.jpg"), b"RIFF not really", str(folder), None, 30,
                       Controls(), 128).start().wait(timeout=60)
    assert bad.kind == "error" and "INVALID_ARGUMENT" in bad.text and "\n" not in bad.text
    assert list((tmp_path / "takes").iterdir()) == []


@pytest.mark.slow
def test_live_session_streams_the_same_frames_as_a_batch_take(daemon, assets):
    samples = load_audio(assets / "speech_en.wav").samples[: 16000 * 2]
    session = LiveSession(daemon.address, None, samples, 30, None, Controls())
    session.start()
    assert session.frame_at(-1.0) is None
    while not session.finished:
        session._receiver_done.wait(0.1)
    session.stop()
    assert session.error is None and len(session.frames) == 60
    with Client(daemon.address) as client:
        stream = client.stream(16000, fps=30, sample_format="float32")
        stream.send(samples)
        stream.end()
        expected = np.stack([f.values for f in stream.frames()])
    np.testing.assert_allclose(np.stack([f.values for f in session.frames]), expected, atol=1e-6)
    assert session.frame_at(0.5).index == 15 and session.frame_at(99.0).index == 59


def test_local_daemon_starts_on_a_free_port_and_stops():
    executable = Path(sys.executable).with_name("facecast")
    started = local_daemon.start(str(executable))
    try:
        assert started.address.startswith("127.0.0.1:")
        with Client(started.address) as client:
            assert client.health() == "SERVING"
    finally:
        started.stop()
    assert not started.running
    with pytest.raises(FacecastError, match="does not exist or is not executable"):
        local_daemon.start("/nonexistent/facecast")


def test_core_wheel_holds_the_bpy_free_subset(tmp_path):
    wheel = build_addon.build_core_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert wheel.name == f"facecast-{build_addon.version()}-py3-none-any.whl"
    for module in ("facecast/client.py", "facecast/proto/facecast_pb2.py", "facecast/exports/livelink_csv.py",
                   "facecast/character/rig_mapping.py", "facecast/character/testhead.py", "facecast/wire.py"):
        assert module in names
    assert "facecast/server/app.py" not in names and "facecast/animators/phonetic.py" not in names
    assert "facecast/animators/energy.py" in names and "facecast/audio.py" in names  # the in-process bake
    with zipfile.ZipFile(wheel) as zf:  # the core's own files, no stubbed package inits
        assert zf.read("facecast/exports/__init__.py") == (build_addon.CORE / "exports/__init__.py").read_bytes()
    assert any(n.endswith(".dist-info/RECORD") for n in names)


def test_core_wheel_imports_on_its_own(tmp_path):
    """Every module the add-on imports must come from the subset wheel alone (a new import in client.py that
    the wheel lacks fails here, even where the bpy venv is absent)."""
    import subprocess

    with zipfile.ZipFile(build_addon.build_core_wheel(tmp_path)) as wheel:
        wheel.extractall(tmp_path / "site")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import facecast, facecast.client, facecast.motion, "
            "facecast.exports.livelink_csv, facecast.character.rig_mapping, facecast.character.testhead, "
            "facecast.character.joints; assert facecast.__file__.startswith(sys.argv[1]), facecast.__file__; "
            "assert 'facecast.animators' not in sys.modules and 'facecast.server.app' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_addon_zip_has_manifest_wheels_and_no_caches(tmp_path):
    path = build_addon.build(tmp_path, download=False)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
    assert "__init__.py" in names and "ops_bake.py" in names and not any("__pycache__" in n for n in names)
    assert manifest["id"] == "facecast" and manifest["blender_version_min"] == "4.2.0"
    assert manifest["license"] == ["SPDX:GPL-3.0-or-later"]
    assert set(manifest["permissions"]) == {"network", "files"}
    assert all(wheel[2:] in names for wheel in manifest["wheels"])
    assert manifest["wheels"] == [f"./wheels/facecast-{build_addon.version()}-py3-none-any.whl"]
