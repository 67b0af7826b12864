"""``facecast export``: one take to several formats with the same curves; clear errors for bad options."""

from __future__ import annotations

import numpy as np
import pygltflib as gl
import pytest
from exports_helpers import speech_clip

import facecast
from facecast.cli import main
from facecast.exports import load_clip


def test_export_writes_every_format_with_the_same_curves(tmp_path, capsys):
    source = tmp_path / "take.fcclip"
    facecast.export(speech_clip(), source)
    outputs = [tmp_path / f"take{ext}" for ext in (".csv", ".json", ".glb", ".usda")]
    assert main(["export", str(source), *sum((["-o", str(p)] for p in outputs), [])]) == 0
    assert all(p.exists() for p in outputs)
    assert "wrote" in capsys.readouterr().err
    clip = load_clip(source)
    assert np.abs(load_clip(tmp_path / "take.csv").values - clip.values).max() < 1e-5
    gltf = gl.GLTF2.load(str(tmp_path / "take.glb"))
    assert gltf.animations[0].name == "facecast"
    from pxr import Usd, UsdSkel

    stage = Usd.Stage.Open(str(tmp_path / "take.usda"))
    weights = UsdSkel.Animation(stage.GetPrimAtPath("/FacecastHead/Skeleton/Animation")).GetBlendShapeWeightsAttr()
    assert np.abs(np.asarray(weights.Get(Usd.TimeCode(30))) - clip.values[30, :52]).max() < 1e-6


def test_export_reads_a_live_link_csv_and_rejects_bad_options(tmp_path, capsys):
    facecast.export(speech_clip(), tmp_path / "take.csv")
    assert main(["export", str(tmp_path / "take.csv"), "-o", str(tmp_path / "take.gltf"), "--max-error", "0.01"]) == 0
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tmp_path / "take.csv"), "-o", str(tmp_path / "x.csv"), "--preset", "cc4"])
    assert exit_info.value.code == 1
    assert "--preset does not apply to .csv" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path / "take.csv"), "-o", str(tmp_path / "x.obj")])
    assert "cannot write .obj" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
