"""Audio carried with 3-D exports: a UsdMediaSpatialAudio prim in USD, the wav beside glTF named in the
animation's extras, both read back; the CLI paths that write them; and nothing left behind on failure."""

from __future__ import annotations

import os
import sys
import wave

import numpy as np
import pygltflib as gl
import pytest
from exports_helpers import sample_clip, validate_gltf
from terminal_helpers import run_in_pty

from facecast.audio import Audio, load_audio
from facecast.exports import export
from facecast.exports.usd import validate_usd

from conftest import ASSETS


def tone(seconds: float, rate: int = 48000) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


def wav_frames(path) -> tuple[int, int]:
    with wave.open(str(path)) as w:
        return w.getnframes(), w.getframerate()


@pytest.mark.parametrize("animation_only", [False, True])
def test_usd_export_plays_its_wav_from_time_code_zero(tmp_path, animation_only):
    from pxr import Usd, UsdMedia

    clip = sample_clip(frames=90, fps=30)
    export(clip, tmp_path / "take.usda", audio=tone(3.0), animation_only=animation_only)
    assert wav_frames(tmp_path / "take.wav") == (144000, 48000)
    stage = Usd.Stage.Open(str(tmp_path / "take.usda"))
    sounds = [UsdMedia.SpatialAudio(p) for p in stage.Traverse() if p.IsA(UsdMedia.SpatialAudio)]
    assert len(sounds) == 1
    sound = sounds[0]
    expected = "/Audio" if animation_only else f"{stage.GetDefaultPrim().GetPath()}/Audio"
    assert str(sound.GetPath()) == expected
    asset = sound.GetFilePathAttr().Get()
    assert asset.path == "./take.wav" and os.path.samefile(asset.resolvedPath, tmp_path / "take.wav")
    assert sound.GetAuralModeAttr().Get() == UsdMedia.Tokens.nonSpatial
    assert sound.GetPlaybackModeAttr().Get() == UsdMedia.Tokens.onceFromStartToEnd
    assert sound.GetStartTimeAttr().Get() == 0 and sound.GetEndTimeAttr().Get() == 90
    assert stage.GetTimeCodesPerSecond() == 30
    assert validate_usd(tmp_path / "take.usda") == []


def test_usd_without_audio_has_no_sound_and_no_wav(tmp_path):
    from pxr import Usd, UsdMedia

    export(sample_clip(), tmp_path / "take.usdc")
    stage = Usd.Stage.Open(str(tmp_path / "take.usdc"))
    assert not any(p.IsA(UsdMedia.SpatialAudio) for p in stage.Traverse())
    assert not (tmp_path / "take.wav").exists()


@pytest.mark.parametrize("name", ["take.glb", "take.gltf"])
def test_gltf_names_the_wav_beside_it_in_the_animation_extras(tmp_path, name):
    export(sample_clip(frames=60, fps=30), tmp_path / name, audio=tone(2.0))
    gltf = gl.GLTF2().load(str(tmp_path / name))
    reference = gltf.animations[0].extras["audio"]
    assert reference == {"uri": "take.wav", "mimeType": "audio/wav", "startTime": 0.0}
    assert wav_frames(tmp_path / reference["uri"]) == (96000, 48000)
    report = validate_gltf(tmp_path / name)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"]


def test_a_failed_export_leaves_no_wav_behind(tmp_path):
    (tmp_path / "take.glb").mkdir()  # the final rename onto a folder fails after the wav was written
    (tmp_path / "take.usda").mkdir()
    for name in ("take.glb", "take.usda"):
        with pytest.raises(OSError):
            export(sample_clip(), tmp_path / name, audio=tone(1.0))
    assert sorted(os.listdir(tmp_path)) == ["take.glb", "take.usda"]  # no take.wav, no temporary files


def test_animate_to_usd_writes_the_speech_beside_it(tmp_path):
    code, text = run_in_pty([sys.executable, "-m", "facecast", "animate", str(ASSETS / "speech_en.wav"), "-o",
                             str(tmp_path / "line.usda"), "--animator", "energy"])
    assert code == 0 and "Traceback" not in text, text
    frames, rate = wav_frames(tmp_path / "line.wav")
    assert rate == 48000 and abs(frames / rate - load_audio(ASSETS / "speech_en.wav").duration) < 0.01


def test_export_cli_audio_for_glb_and_a_clear_error_for_csv(tmp_path):
    export(sample_clip(), tmp_path / "take.fcclip")
    code, text = run_in_pty([sys.executable, "-m", "facecast", "export", str(tmp_path / "take.fcclip"), "-o",
                             str(tmp_path / "out.glb"), "--audio", str(ASSETS / "speech_en.wav")])
    assert code == 0, text
    assert gl.GLTF2().load(str(tmp_path / "out.glb")).animations[0].extras["audio"]["uri"] == "out.wav"
    code, text = run_in_pty([sys.executable, "-m", "facecast", "export", str(tmp_path / "take.fcclip"), "-o",
                             str(tmp_path / "out.csv"), "--audio", str(ASSETS / "speech_en.wav")])
    assert code != 0 and "--audio does not apply to .csv" in text and "Traceback" not in text, text
