"""The lip-sync and motion benchmark (benchmarks/bench_neural.py): its statistics on constructed takes, the
Rhubarb Lip Sync mapping (and the real binary when installed), and a real --quick run on the shared videos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facecast.audio import MODEL_RATE, load_audio
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, NUM_CHANNELS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from evalkit import motion_stats, rhubarb, robustness  # noqa: E402

C = CHANNEL_INDEX


def test_left_right_counts_bit_identical_pairs_and_mean_difference() -> None:
    rng = np.random.default_rng(0)
    values = np.zeros((100, NUM_CHANNELS), np.float32)
    values[:, C["MouthSmileLeft"]] = rng.uniform(0, 1, 100)
    values[:, C["MouthSmileRight"]] = values[:, C["MouthSmileLeft"]] + 0.1  # differs by 0.1 everywhere
    values[:, C["EyeBlinkLeft"]] = values[:, C["EyeBlinkRight"]] = rng.uniform(0, 1, 100)  # identical, moving
    values[5, C["BrowDownRight"]] = 1e-7  # one tiny difference is enough to count as different

    mean_abs, identical = motion_stats.left_right(values)

    assert len(motion_stats.PAIRS) == 20
    assert identical == 18  # all but the smile and brow-down pairs
    assert mean_abs == pytest.approx((0.1 * 100 + 1e-7) / (20 * 100), rel=1e-3)


def test_moving_shapes_uses_the_percentile_spread_threshold() -> None:
    values = np.zeros((200, NUM_CHANNELS), np.float32)
    values[:, C["JawOpen"]] = np.linspace(0, 0.5, 200)  # moves
    values[:, C["CheekPuff"]] = np.linspace(0, 0.015, 200)  # spread under 2 %: does not move
    values[::50, C["TongueOut"]] = 1.0  # 4 spikes in 200 frames: under the 95th percentile, does not move
    values[:, len(BLENDSHAPES)] = np.linspace(0, 3, 200)  # head yaw is no blendshape
    assert motion_stats.moving_shapes(values) == 1


def test_head_speed_of_a_steady_turn_is_its_angular_velocity() -> None:
    fps = 30
    values = np.zeros((90, NUM_CHANNELS), np.float32)
    values[:, C["HeadYaw"]] = 0.2 * np.arange(90) / fps  # 0.2 rad/s
    values[:, C["HeadPitch"]] = -0.1 * np.arange(90) / fps  # and 0.1 rad/s down at the same time
    assert motion_stats.head_speed(values, fps) == pytest.approx(np.hypot(0.2, 0.1), rel=1e-4)


def test_seed_diversity_sees_different_heads_and_the_same_mouth() -> None:
    base = np.zeros((60, NUM_CHANNELS), np.float32)
    base[:, C["JawOpen"]] = np.abs(np.sin(np.arange(60) / 4))
    other = base.copy()
    other[:, C["HeadYaw"]] = np.radians(2.0) * np.sin(np.arange(60) / 10)

    same = motion_stats.seed_diversity([base, base.copy()])
    different = motion_stats.seed_diversity([base, other])

    assert same["head_diff_deg"] == 0 and same["jaw_max_diff"] == 0
    assert different["head_diff_deg"] > 0.3 and different["jaw_max_diff"] == 0


def test_rhubarb_shapes_map_to_jaw_opening_per_frame() -> None:
    cues = [{"start": 0.0, "end": 0.1, "value": "X"}, {"start": 0.1, "end": 0.2, "value": "D"},
            {"start": 0.2, "end": 0.3, "value": "A"}, {"start": 0.3, "end": 0.5, "value": "C"}]
    jaw = rhubarb.cues_to_jaw(cues, fps=30, frames=18)
    assert list(jaw[:3]) == [0, 0, 0]  # frames 0-2 (0 to 0.067 s) at rest
    assert jaw[4] == pytest.approx(rhubarb.SHAPE_JAW["D"])  # 0.133 s: wide open
    assert jaw[7] == 0  # 0.233 s: closed for M B P
    assert jaw[12] == pytest.approx(rhubarb.SHAPE_JAW["C"])
    assert list(jaw[15:]) == [0, 0, 0]  # after the last cue: rest
    # a clip that starts 0.3 s into the analysed file sees the C cue from its first frame
    assert rhubarb.cues_to_jaw(cues, 30, 3, offset=0.3)[0] == pytest.approx(rhubarb.SHAPE_JAW["C"])
    assert {rhubarb.SHAPE_JAW[s] for s in rhubarb.SHUT_SHAPES} == {0.0}
    assert set(rhubarb.SHAPE_JAW) == set("ABCDEFGHX")
    with pytest.raises(ValueError, match="unknown Rhubarb mouth shape 'Q'"):
        rhubarb.cues_to_jaw([{"start": 0, "end": 1, "value": "Q"}], 30, 5)


def test_mixing_at_an_snr_gives_that_snr() -> None:
    speech = load_audio(ROOT / "assets" / "speech_en.wav").samples * 0.5
    for make in (lambda n: robustness.white_noise(n, 1), lambda n: robustness.music_bed(n, MODEL_RATE, 1)):
        other = make(len(speech))
        mixed = robustness.at_snr(speech, other, 5.0)
        residual = mixed.astype(np.float64) - speech
        snr = 10 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(residual**2))
        assert snr == pytest.approx(5.0, abs=0.05)


def test_speech_activity_finds_the_talking_parts() -> None:
    rate, fps = MODEL_RATE, 30
    t = np.arange(3 * rate) / rate
    samples = np.where((t > 1) & (t < 2), 0.3 * np.sin(2 * np.pi * 220 * t), 0.001 * np.sin(2 * np.pi * 50 * t))
    talking = robustness.speech_activity(samples.astype(np.float32), rate, fps, 90)
    assert talking[35:58].all() and not talking[:28].any() and not talking[62:].any()


@pytest.mark.slow
def test_rhubarb_binary_gives_closed_and_open_mouths_for_each_clip(tmp_path: Path) -> None:
    binary = rhubarb.find_binary(ROOT)
    if binary is None:
        pytest.skip("Rhubarb Lip Sync not installed (make tools/node_modules/.installed, or set FACECAST_RHUBARB)")
    speech = load_audio(ROOT / "assets" / "speech_en.wav").samples
    first, second = speech[:2 * MODEL_RATE], speech[2 * MODEL_RATE:int(3.5 * MODEL_RATE)]  # short: Rhubarb is slow

    jaws = rhubarb.jaw_curves(binary, [first, second], 30, tmp_path)

    assert [len(j) for j in jaws] == [60, 45]
    table = np.array(sorted(rhubarb.SHAPE_JAW.values()), np.float32)
    for jaw in jaws:
        assert np.isin(jaw, table).all()
        assert (jaw >= 0.3).mean() > 0.1  # speech opens the mouth
    assert jaws[0][0] == 0  # the recording starts in silence: at rest
    assert list(tmp_path.glob("rhubarb_*.json"))  # cached for the next run


@pytest.mark.slow
def test_quick_run_scores_the_yardstick_and_writes_sane_figures(shared_data: Path, tmp_path: Path) -> None:
    if not (shared_data.parent / "tools" / "mouth_track.py").is_file():
        pytest.skip(f"the yardstick tracker is not in {shared_data.parent / 'tools'}")
    out = tmp_path / "figures.json"
    env = {**os.environ, "FACECAST_SHARED_DATA": str(shared_data)}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_neural.py"), "--quick", "--no-rhubarb",
                          "--animators", "phonetic", "energy", "--cache", str(tmp_path / "cache"), "--json", str(out)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| **mean r**" in run.stdout and "capture of the real video" in run.stdout
    figures = json.loads(out.read_text())

    yard = figures["yardstick"]["summary"]
    assert yard["phonetic"]["clips"] == 1
    assert 0.3 < yard["phonetic"]["mean_r"] <= 1  # retalking_face_3: phonetic follows the real mouth
    assert -1 <= yard["energy"]["mean_r"] <= yard["energy"]["mean_best_r"] <= 1
    closures = figures["corpus"]["results"]
    assert all(0 <= closures[n]["closure_recall"] <= 1 for n in ("phonetic", "energy"))
    assert closures["phonetic"]["closure_recall"] > closures["energy"]["closure_recall"]  # energy never shuts
    natural = figures["naturalness"]["results"]
    assert natural["capture"]["lr_identical_pairs"] == 0  # a real face is never exactly symmetric
    assert natural["capture"]["moving_shapes"] > natural["energy"]["moving_shapes"]
    assert natural["phonetic"]["diversity"]["jaw_max_diff"] == 0  # seeds change the head, not the mouth
    assert natural["phonetic"]["head_speed_rad_s"] > 0
    robust = figures["robustness"]["lipsync_mean_r"]["phonetic"]
    assert set(robust) == {"clean", "noise 0 dB", "music 5 dB"} and all(-1 <= r <= 1 for r in robust.values())


def test_a_fold_without_its_model_is_refused_naming_it(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_neural.py"), "--fold",
                          f"{tmp_path}={tmp_path / 'missing.pt'}"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert f"no model at {tmp_path / 'missing.pt'}" in run.stderr
