"""Training the learned animator: the dataset pieces, ONNX export against PyTorch, DDP on CPU with gloo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from terminal import assert_ok, assert_one_line_error, run_in_terminal

from facecast.animators import get_animator
from facecast.animators.base import run_session
from facecast.audio import load_audio
from facecast.controls import Controls
from facecast.train.dataset import (
    ClipEntry,
    grid_closures,
    measure_lag,
    shift_curves,
    source_offsets,
    speaker_of,
)

from conftest import ASSETS

torch = pytest.importorskip("torch", reason="training tests need the train extra (PyTorch)")


def tiny_dataset(folder: Path) -> Path:
    """A dataset folder with two real speech clips whose targets are the energy animator's curves (the lip gap:
    the phonetic animator's JawOpen, another curve of the same speech)."""
    folder.mkdir(parents=True, exist_ok=True)
    audio, values, translation, closure, opening, index, ids, clips = [], [], [], [], [], [], [], []
    a_at = v_at = 0
    for k, name in enumerate(("speech_en.wav", "speech_de.wav")):
        sound = load_audio(ASSETS / name)
        clip = get_animator("energy").animate(sound, Controls(seed=k), fps=25)
        pcm = (sound.samples * 32767).astype(np.int16)
        audio.append(pcm)
        values.append(clip.values)
        translation.append(clip.head_translation)
        closure.append(np.full(clip.num_frames, np.nan, np.float32))
        opening.append(get_animator("phonetic").animate(sound, Controls(), fps=25).curve("JawOpen")[:clip.num_frames])
        index.append((a_at, len(pcm), v_at, clip.num_frames, 25))
        a_at, v_at = a_at + len(pcm), v_at + clip.num_frames
        ids.append(f"assets/{name}")
        clips.append({"id": ids[-1], "source": "assets", "speaker": f"assets:{k}", "split": "train"})
    np.savez(folder / "examples.npz", audio=np.concatenate(audio), values=np.concatenate(values),
             translation=np.concatenate(translation), closure=np.concatenate(closure),
             opening=np.concatenate(opening).astype(np.float32), index=np.array(index, np.int64), ids=np.array(ids))
    (folder / "manifest.json").write_text(json.dumps({"clips": clips}))
    return folder


def test_measured_lag_finds_a_shifted_mouth():
    sound = load_audio(ASSETS / "speech_en.wav")
    jaw = get_animator("energy").animate(sound, Controls(), fps=25).curve("JawOpen")
    pcm = (sound.samples * 32767).astype(np.int16)
    lag, r = measure_lag(pcm, jaw, 25)
    assert abs(lag) <= 1 and r > 0.5
    early = shift_curves(jaw[:, None], -4)[:, 0]  # the mouth 4 frames before its sound: the audio trails
    assert measure_lag(pcm, early, 25)[0] == 4


def test_source_offset_needs_agreeing_confident_clips():
    def entry(source: str, lag: int, confidence: float) -> ClipEntry:
        return ClipEntry(id=f"{source}/{lag}{confidence}", source=source, speaker=source, origin=source, file="",
                         seconds=3.0,
                         fps=25, measured_lag=lag, lag_confidence=confidence)

    entries = [entry("late", 4, 0.6), entry("late", 3, 0.5), entry("late", 5, 0.4), entry("sync", 1, 0.7),
               entry("sync", 0, 0.8), entry("weak", 5, 0.1)]
    assert source_offsets(entries) == {"late": 4, "sync": 0, "weak": 0}


def test_grid_closures_mark_word_initial_bilabials(tmp_path):
    align = tmp_path / "x.align"
    align.write_text("0 12500 sil\n12500 25000 bin\n25000 37500 blue\n37500 50000 at\n")
    lookup = {"bin": "B IH N", "blue": "B L UW", "at": "AE T"}.get
    closure = grid_closures(align, 25, 50, lookup)
    assert closure[12] == 1 and closure[25] == 1  # /b/ of "bin" at 0.5 s, of "blue" at 1.0 s
    assert closure[:12].sum() == 0 and closure[38:].sum() == 0


def test_speakers_group_clips_of_one_person():
    assert speaker_of("styletalk", "feifeili_clip2_short") == speaker_of("styletalk", "feifeili_clip3")
    assert speaker_of("grid_s1", "bbaf2n") == "grid_s1:s1"
    assert speaker_of("grid_other", "a") != speaker_of("grid_other", "b")


@pytest.mark.parametrize("lifter, whole_clip", [(0, False), (12, False), (0, True)])
def test_streamed_onnx_export_agrees_with_pytorch_window_at_any_chunk_size(tmp_path, lifter, whole_clip):
    """Also for a whole-clip model (``--whole-clip``: every block symmetric, 31 frames of lookahead)."""
    from facecast.runtime import inference_session
    from facecast.train.export import export, max_difference, stream_inputs
    from facecast.train.model import Model, ModelConfig, StreamSampler

    torch.manual_seed(0)
    cfg = ModelConfig(width=32, flow_width=32, lifter=lifter)
    if whole_clip:
        cfg = ModelConfig(width=32, flow_width=32, rights=cfg.dilations)
        assert cfg.lookahead == cfg.history == 31
        with pytest.raises(ValueError, match="right context"):
            Model(ModelConfig(rights=(3,) * len(cfg.dilations)))  # more than 2 x dilation 1
    model = Model(cfg).eval()
    for p in model.parameters():  # the zero-initialised residual branches would hide a wrong export
        torch.nn.init.normal_(p, std=0.1)
    path = export(model, tmp_path)
    for chunk in (1, 7, 250):  # ONNX Runtime streaming from the silence state == PyTorch's whole window
        assert max_difference(model, path, frames=200, chunk=chunk) < 1e-4
    session = inference_session(path)
    for frames in (1, 300):  # one call: the same outputs and state as PyTorch's StreamSampler
        inputs = stream_inputs(model, 2, frames, seed=frames)
        with torch.no_grad():
            expected = StreamSampler(model)(*inputs)
        got = session.run(None, {n: t.numpy() for n, t in zip(("features", "noise", "cond", "guidance", "state"),
                                                               inputs)})
        assert got[0].shape[1] == frames and got[2].shape == (2, model.encoder.state_frames, 32)
        assert max(np.abs(e.numpy() - g).max() for e, g in zip(expected, got)) < 1e-4


def test_lifter_keeps_the_spectral_envelope_and_drops_the_pitch_harmonics():
    from facecast.features import N_MELS, model_frames
    from facecast.train.model import lifter_matrix

    def vowel(pitch: float, formants: tuple[float, float]) -> np.ndarray:
        """Frames of one second of harmonics of ``pitch`` under a two-formant envelope, each frame's level removed."""
        t = np.arange(16000) / 16000
        f = np.arange(1, int(7800 / pitch)) * pitch
        envelope = np.exp(-((f - formants[0]) / 250) ** 2) + 0.6 * np.exp(-((f - formants[1]) / 300) ** 2) + 0.02
        audio = (np.sin(2 * np.pi * f[:, None] * t[None]) * envelope[:, None]).sum(0) / 50
        frames = model_frames(audio.astype(np.float32))[10:40]
        return frames

    lift = lifter_matrix(12).numpy()

    def gap(a: np.ndarray, b: np.ndarray, matrix: np.ndarray) -> float:
        a, b = a @ matrix.T, b @ matrix.T
        return float(np.abs((a - a.mean(1, keepdims=True)) - (b - b.mean(1, keepdims=True))).mean())

    ah_low, ah_high, ee_low = vowel(110, (700, 1200)), vowel(220, (700, 1200)), vowel(110, (300, 2300))
    identity = np.eye(2 * N_MELS)
    assert gap(ah_low, ah_high, lift) < 0.75 * gap(ah_low, ah_high, identity)  # one vowel, two voices: closer
    assert gap(ah_low, ee_low, lift) > 0.95 * gap(ah_low, ee_low, identity)  # two vowels: as far apart as before
    assert gap(ah_low, ee_low, lift) > 2.5 * gap(ah_low, ah_high, lift)
    np.testing.assert_array_equal(lifter_matrix(0).numpy(), identity)
    np.testing.assert_allclose(lift @ lift, lift, atol=1e-5)  # a projection: applying it twice changes nothing


def worker_errors(stderr: str) -> str:
    """What a failed torchrun printed that says why: the workers' own error lines first (torchrun's summary,
    which ends its output, only says which rank died), then the end."""
    said = [line for line in stderr.splitlines() if any(k in line for k in ("Error", "error:", "terminate", "what()"))]
    return "\n".join(said[:30]) + "\n...\n" + stderr[-1500:]


@pytest.mark.slow
def test_torchrun_ddp_trains_on_cpu_with_gloo_and_resumes(tmp_path):
    data = tiny_dataset(tmp_path / "data")
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "facecast.train", "--data", str(data), "--out", str(out), "--batch", "2", "--crop", "64",
               "--width", "16", "--threads", "1", "--holdout-source", "none"]
    first = subprocess.run([*command, "--epochs", "1"], capture_output=True, text=True, timeout=120, env=env)
    assert first.returncode == 0, worker_errors(first.stderr)
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 1 and state["step"] >= 1
    second = subprocess.run([*command, "--epochs", "2", "--resume"], capture_output=True, text=True, timeout=120,
                            env=env)
    assert second.returncode == 0, worker_errors(second.stderr)
    resumed = torch.load(out / "checkpoint.pt", weights_only=False)
    assert resumed["epoch"] == 2 and resumed["step"] > state["step"]
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]


def test_training_loss_falls_on_real_speech(tmp_path):
    from facecast.train import fit

    data = tiny_dataset(tmp_path / "data")
    result = fit.main(["--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "6", "--batch", "4",
                       "--crop", "64", "--width", "32", "--threads", "1", "--holdout-source", "none", "--lr", "3e-3"])
    history = result["history"]
    assert history[-1]["mse"] < history[0]["mse"]


def test_train_command_rejects_a_folder_that_is_no_dataset_on_a_terminal(tmp_path):
    run = run_in_terminal("train", "--data", str(tmp_path), "--out", str(tmp_path / "o"))
    assert run.status == 1
    assert_one_line_error(run, "is not a dataset folder")


def test_dataset_and_train_commands_on_a_terminal(tmp_path, shared_data):
    videos = tmp_path / "videos" / "grid_other"
    videos.mkdir(parents=True)
    for name in ("brbk7n.mp4", "lbax4n.mp4"):
        (videos / name).symlink_to(shared_data / "train" / "grid_other" / name)
    out = assert_ok(run_in_terminal("dataset", "build", str(tmp_path / "videos"), "--out", str(tmp_path / "ds")))
    assert "2 clips" in out
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert {c["split"] for c in manifest["clips"]} == {"train", "validation"}  # lbax4n is a validation speaker
    out = assert_ok(run_in_terminal("train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run"),
                                    "--epochs", "1", "--batch", "2", "--crop", "64", "--width", "16", "--threads", "1"))
    assert "best held-out JawOpen r" in out and (tmp_path / "run" / "best.pt").is_file()
    # an offset given for an origin replaces the measured one, and shifts its curves (cached captures: fast)
    assert_ok(run_in_terminal("dataset", "build", str(tmp_path / "videos"), "--out", str(tmp_path / "ds"),
                              "--offset", "grid_other=2"))
    shifted = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert shifted["source_offsets"]["grid_other"] == 2 and shifted["offsets_given"] == {"grid_other": 2}
    assert {c["applied_shift"] for c in shifted["clips"]} == {2}
    for bad, message in (("nowhere=1", "no such origin"), ("grid_other=9", "within"), ("grid_other=x", "whole")):
        run = run_in_terminal("dataset", "build", str(tmp_path / "videos"), "--out", str(tmp_path / "ds2"),
                              "--offset", bad)
        assert run.status != 0 and message in run.output, run.output
        assert not (tmp_path / "ds2" / "manifest.json").exists()


def test_dataset_command_names_a_missing_folder_on_a_terminal(tmp_path):
    run = run_in_terminal("dataset", "build", str(tmp_path / "nope"), "--out", str(tmp_path / "ds"))
    assert run.status == 1
    assert_one_line_error(run, "is not a folder")
    assert not (tmp_path / "ds").exists()


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    from facecast.train.corpus import build_corpus

    out = tmp_path_factory.mktemp("corpus")
    build_corpus(out, 1.5 / 60, seed=3, jobs=2)
    return out


def test_corpus_clips_carry_the_teacher_jaw_exact_closures_and_nothing_else(small_corpus):
    from facecast.motion import CHANNEL_INDEX
    from facecast.train import fit
    from facecast.train.corpus import load_manifest

    clips = fit.corpus_clips(small_corpus)
    manifest = load_manifest(small_corpus)
    heldout = set(manifest["heldout_voices"])
    assert clips and all(c.source == "corpus" for c in clips)
    assert not any(v in heldout for c in clips for v in c.speaker.split("+"))  # held-out voices stay out
    for c in clips:
        assert len(c.targets) == len(c.audio) // 320
        others = np.delete(c.targets[:, :fit.OPENING], CHANNEL_INDEX["JawOpen"], axis=1)
        assert np.isnan(others).all()  # the teacher's other shapes and any head motion are left out
        assert np.isfinite(c.targets[:, CHANNEL_INDEX["JawOpen"]]).all()
        assert np.array_equal(c.targets[:, fit.OPENING], c.targets[:, CHANNEL_INDEX["JawOpen"]])  # its "lip gap"
        assert set(np.unique(c.targets[:, fit.CLOSURE])) <= {0.0, 1.0}
    closures = np.concatenate([c.targets[:, fit.CLOSURE] for c in clips])
    jaw = np.concatenate([c.targets[:, CHANNEL_INDEX["JawOpen"]] for c in clips])
    assert 0.01 < closures.mean() < 0.3  # /p b m/ are a few percent of speech
    assert jaw[closures == 1].mean() < jaw[closures == 0].mean()  # the teacher shuts the jaw for them


def test_training_with_the_corpus_takes_its_share_of_windows_and_learns(tmp_path, small_corpus):
    from facecast.train import fit
    from facecast.train.model import ModelConfig

    clips = fit.corpus_clips(small_corpus)
    cfg = ModelConfig(width=32)
    rng = np.random.default_rng(0)
    windows = fit.corpus_crops(clips, 30, 0.25, cfg, 64, rng)
    assert len(windows) == 10  # a quarter of 40
    assert all(np.isnan(w[1][:, fit.MOTION]).all() for w in windows)
    assert fit.corpus_crops(clips, 30, 0.0, cfg, 64, rng) == []
    data = tiny_dataset(tmp_path / "data")
    result = fit.main(["--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "4", "--batch", "4",
                       "--crop", "64", "--width", "32", "--threads", "1", "--holdout-source", "none", "--lr", "3e-3",
                       "--corpus", str(small_corpus), "--corpus-share", "0.5"])
    history = result["history"]
    assert all(np.isfinite(h["flow"]) and np.isfinite(h["mse"]) for h in history)
    assert history[-1]["mse"] < history[0]["mse"]


def test_corpus_share_out_of_range_is_a_clear_error(tmp_path, small_corpus):
    from facecast.errors import InvalidInput
    from facecast.train import fit

    data = tiny_dataset(tmp_path / "data")
    with pytest.raises(InvalidInput, match="--corpus-share"):
        fit.main(["--data", str(data), "--out", str(tmp_path / "run"), "--corpus", str(small_corpus),
                  "--corpus-share", "1"])


def test_train_command_names_a_missing_corpus_on_a_terminal(tmp_path):
    data = tiny_dataset(tmp_path / "data")
    run = run_in_terminal("train", "--data", str(data), "--out", str(tmp_path / "run"), "--corpus",
                          str(tmp_path / "nope"))
    assert run.status == 1
    assert_one_line_error(run, "is not a readable corpus manifest")
    assert not (tmp_path / "run").exists()


def test_the_lip_gap_fills_frames_without_a_face_from_their_neighbours():
    from facecast.train.dataset import fill_gaps

    gap = np.array([np.nan, 0.2, np.nan, np.nan, 0.5, np.nan], np.float32)
    assert np.allclose(fill_gaps(gap), [0.2, 0.2, 0.3, 0.4, 0.5, 0.5])
    assert np.array_equal(fill_gaps(np.full(3, np.nan, np.float32)), np.zeros(3, np.float32))


@pytest.mark.parametrize("r_target", ["jawopen", "opening"])
def test_the_r_loss_follows_the_chosen_truth(tmp_path, r_target):
    from facecast.train import fit
    from facecast.train.model import Model, ModelConfig

    clips, _ = fit.load_clips(tiny_dataset(tmp_path / "data"))
    assert all(np.isfinite(c.targets[:, fit.OPENING]).all() for c in clips)
    jaw_r = np.corrcoef(clips[0].targets[:, fit.JAW], clips[0].targets[:, fit.OPENING])[0, 1]
    assert jaw_r < 0.9  # two different curves, so the choice matters
    cfg = ModelConfig(width=16)
    fit.head_levels(clips, clips)
    crops = fit.make_crops(clips[0], cfg, 64, np.random.default_rng(0), augment=False)
    features = torch.from_numpy(np.stack([c[0] for c in crops]))
    targets = torch.from_numpy(np.stack([c[1] for c in crops]))
    graph = fit.TrainingGraph(Model(cfg), r_target=r_target)
    _, parts = graph(features, targets, torch.zeros(len(crops), 2), torch.from_numpy(fit.MOUTH_WEIGHTS))
    with torch.no_grad():
        jaw = graph.model(features)[1][:, fit.JAW]
    column = fit.OPENING if r_target == "opening" else fit.JAW
    for truth, expected in ((column, True), (fit.OPENING + fit.JAW - column, False)):
        r = float(fit.pearson(jaw, targets[:, :, truth]))
        assert np.isclose(parts["corr"], 1 - r, atol=1e-5) == expected


def test_leave_one_source_out_scores_both_truths(tmp_path):
    from facecast.train.loso import TRUTHS, held_clips, jaw_r

    data = tiny_dataset(tmp_path / "data")
    clips = held_clips(data, "assets", 5)
    assert len(clips) == 2 and all(set(truth) == set(TRUTHS) for _, _, truth, _ in clips)
    _, audio, truth, fps = clips[0]
    scores = jaw_r(get_animator("phonetic"), audio, truth, fps)
    assert scores["opening"] > 0.99  # the tiny dataset's lip gap is phonetic's own JawOpen
    assert scores["jawopen"] < scores["opening"]


def test_a_model_trained_with_running_standardisation_streams_what_its_clips_compute(tmp_path):
    from facecast.animators.neural import NeuralAnimator
    from facecast.audio import MODEL_RATE, Audio
    from facecast.features import Standardiser
    from facecast.train import fit
    from facecast.train.export import export, max_difference

    data = tiny_dataset(tmp_path / "data")
    fit.main(["--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1", "--batch", "4", "--crop", "64",
              "--width", "16", "--threads", "1", "--holdout-source", "none", "--norm", "running"])
    model = fit.load_model(tmp_path / "run" / "checkpoint.pt")
    norm = model.cfg.norm
    assert norm is not None and len(norm.mean) == 80  # the training voices' statistics are the prior
    clips, _ = fit.load_clips(data)
    features = fit.clip_features(clips[0].audio, model.cfg)
    assert np.allclose(features[0], Standardiser(norm).silence(1)[0])  # silence before, standardised
    path = export(model, tmp_path / "model")
    assert json.loads((tmp_path / "model" / "neural.json").read_text())["config"]["norm"]["mean"] == list(norm.mean)
    assert max_difference(model, path, frames=120, chunk=7) < 1e-4
    animator = NeuralAnimator(path, fuse=False)
    sound = load_audio(ASSETS / "speech_en.wav")
    audio = Audio(sound.samples[:4 * MODEL_RATE], MODEL_RATE)
    controls = Controls(seed=2)
    offline = animator.animate(audio, controls).values
    frames = run_session(animator.stream(controls), audio.samples, chunk_s=0.02)  # as live streams send them
    np.testing.assert_allclose(np.stack([f.values for f in frames]), offline, atol=2e-5)
    plain = NeuralAnimator(tmp_path / "model" / "neural.onnx", fuse=False)
    plain.model.norm = None  # the same weights fed the fixed normalisation hear something else
    assert np.abs(plain.animate(audio, controls).values - offline).max() > 1e-3
