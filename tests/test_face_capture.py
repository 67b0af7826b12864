"""Capture: landmarks -> blendshapes and head pose, on synthetic meshes and real videos; bad videos."""

from __future__ import annotations

import warnings
import wave
from pathlib import Path

import numpy as np
import pytest

from facecast.errors import InvalidInput
from facecast.face import Rig, fit_face, load_image
from facecast.face.capture import capture_video, solve_motion
from facecast.motion import CHANNEL_INDEX as C
from facecast.motion import NUM_CHANNELS


def write_video(path: Path, frames: list[np.ndarray], fps: int = 25) -> None:
    """An H.264 mp4 of RGB frames, without sound."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_solver_recovers_rig_motion(assets) -> None:
    """Meshes made by the rig (plus landmark noise) are solved back into the curves that made them."""
    rest = fit_face(load_image(assets / "mona_lisa.jpg")).landmarks
    t = np.arange(240) / 30
    truth = np.zeros((len(t), NUM_CHANNELS), np.float32)
    truth[:, C["JawOpen"]] = np.clip(0.4 * np.sin(2 * np.pi * 1.3 * t) + 0.1, 0, 1)
    truth[:, C["EyeBlinkLeft"]] = truth[:, C["EyeBlinkRight"]] = np.abs(t - 3) < 0.1
    truth[:, C["MouthSmileLeft"]] = 0.5 * (t > 4)
    truth[:, C["HeadYaw"]] = 0.15 * np.sin(2 * np.pi * 0.3 * t)
    truth[:, C["HeadPitch"]] = 0.08 * np.sin(2 * np.pi * 0.5 * t)
    truth[:, C["HeadRoll"]] = 0.05 * np.sin(2 * np.pi * 0.4 * t)
    meshes = Rig().deform(rest, truth)
    meshes += np.random.default_rng(0).normal(0, 0.3, meshes.shape).astype(np.float32)
    values, translation, opening = solve_motion(meshes)
    blink = values[:, C["EyeBlinkLeft"]]  # capture's blink gain (for the mesh model's half-shut lids) saturates it
    assert (blink[np.abs(t - 3) < 0.07] > 0.8).all() and (blink[np.abs(t - 3) > 0.3] < 0.2).all()
    for name in ("JawOpen", "MouthSmileLeft", "HeadYaw", "HeadPitch", "HeadRoll"):
        assert np.corrcoef(values[:, C[name]], truth[:, C[name]])[0, 1] > 0.95, name
    assert np.abs(values[:, C["JawOpen"]] - truth[:, C["JawOpen"]]).mean() < 0.03
    for name in ("HeadYaw", "HeadPitch", "HeadRoll"):  # angles are relative to the take's median pose
        relative = truth[:, C[name]] - np.median(truth[:, C[name]])
        assert np.abs(values[:, C[name]] - relative).max() < 0.02, name
    untouched = [i for i in range(52) if not truth[:, i].any()]
    assert values[:, untouched].mean() < 0.02
    assert np.corrcoef(opening, truth[:, C["JawOpen"]])[0, 1] > 0.95
    assert translation.shape == (len(t), 3)


@pytest.mark.slow
def test_real_talking_video(shared_data) -> None:
    take = capture_video(shared_data / "video" / "retalking_face_1.mp4", progress=False)
    clip = take.clip
    assert clip.fps == 30 and abs(clip.duration - 6.1) < 0.2
    jaw = clip.curve("JawOpen")
    assert jaw.std() > 0.02 and jaw.max() < 0.6  # talking: the jaw moves, within a plausible range
    assert np.corrcoef(jaw, take.mouth_opening)[0, 1] > 0.7
    blink = np.maximum(clip.curve("EyeBlinkLeft"), clip.curve("EyeBlinkRight"))
    assert blink.max() > 0.6 and (blink > 0.5).mean() < 0.1  # one real blink, eyes open otherwise
    assert np.abs(clip.curve("HeadYaw")).max() < 0.3
    assert take.audio is not None and abs(take.audio.duration - clip.duration) < 0.3
    assert clip.metadata["animator"] == "capture" and clip.metadata["audio_sha256"] == take.audio.sha256


@pytest.mark.slow
def test_capture_cli_writes_take_and_sound(shared_data, tmp_path) -> None:
    import facecast
    from facecast.cli import main

    out = tmp_path / "take.csv"
    assert main(["capture", str(shared_data / "video" / "retalking_face_3.mp4"), "-o", str(out), "--fps", "60",
                 "--quiet"]) == 0
    clip = facecast.load(out)
    assert clip.fps == 60 and abs(clip.duration - 5.0) < 0.2
    with wave.open(str(tmp_path / "take.wav")) as sound:
        assert sound.getnchannels() == 1 and abs(sound.getnframes() / sound.getframerate() - 5.0) < 0.2


def silent_portrait_video(assets: Path, path: Path) -> None:
    """20 frames of the shipped portrait swaying sideways, without sound."""
    import cv2

    face = cv2.resize(load_image(assets / "mona_lisa.jpg"), (464, 464))
    write_video(path, [cv2.warpAffine(face, np.float32([[1, 0, 3 * np.sin(i / 3)], [0, 1, 0]]), (464, 464),
                                      borderMode=cv2.BORDER_REPLICATE) for i in range(20)])


def test_video_without_sound_warns_and_captures(assets, tmp_path) -> None:
    path = tmp_path / "silent.mp4"
    silent_portrait_video(assets, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        take = capture_video(path, progress=False)
    assert any("has no audio stream: capturing motion only" in str(w.message) for w in caught)
    assert take.audio is None and take.clip.num_frames == 20 and take.clip.fps == 25
    assert take.clip.values[:, :52].max() < 0.3  # a still face makes no expression
    assert "audio_sha256" not in take.clip.metadata


def test_capture_cli_without_sound(assets, tmp_path, capsys) -> None:
    import facecast
    from facecast.cli import main

    path = tmp_path / "silent.mp4"
    silent_portrait_video(assets, path)
    assert main(["capture", str(path), "-o", str(tmp_path / "take.fcclip"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "facecast: warning: " in err and "has no audio stream" in err
    assert facecast.load(tmp_path / "take.fcclip").num_frames == 20 and not (tmp_path / "take.wav").exists()
    with pytest.raises(SystemExit):
        main(["capture", str(assets / "speech_en.wav"), "-o", str(tmp_path / "x.csv"), "--quiet"])
    assert "has no video stream" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()


def test_no_face_in_any_frame(tmp_path) -> None:
    path = tmp_path / "gray.mp4"
    write_video(path, [np.full((128, 128, 3), 90 + i, np.uint8) for i in range(5)])
    with pytest.raises(InvalidInput, match="no face found in any frame of .*gray.mp4; give the face box"):
        capture_video(path, progress=False)


def test_file_without_video_stream(assets) -> None:
    with pytest.raises(InvalidInput, match="speech_en.wav has no video stream"):
        capture_video(assets / "speech_en.wav", progress=False)


def test_corrupt_and_missing_videos(tmp_path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    with pytest.raises(InvalidInput, match="bad.mp4 is not a readable video|bad.mp4 has no video stream"):
        capture_video(bad, progress=False)
    with pytest.raises(InvalidInput, match="no such file"):
        capture_video(tmp_path / "missing.mp4", progress=False)
    with pytest.raises(InvalidInput, match="fps must be one of"):
        capture_video(bad, fps=29, progress=False)
