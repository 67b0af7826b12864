"""Takes end settled to neutral over their last ~150 ms (issue 13 #8), for every animator, offline, on the daemon
and from the command line; ``--no-settle`` / ``settle=False`` keeps the animator's own ending."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from terminal import assert_ok, run_in_terminal

import facecast
from facecast.animators import animator_names
from facecast.client import Client
from facecast.motion import CHANNEL_INDEX, NUM_BLENDSHAPES
from facecast.settle import SETTLE_SECONDS, TakeEnd, settle_clip, settle_frames

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SPEECH = ASSETS / "speech_en.wav"  # the demo clip: unsettled it ends mid-blink with the teeth bared


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import soundfile as sf

    samples, rate = sf.read(SPEECH)
    path = tmp_path_factory.mktemp("settle") / "short.wav"
    sf.write(path, samples[: 3 * rate], rate)
    return path


@pytest.mark.parametrize("name", animator_names())
def test_every_animator_take_ends_in_neutral(name: str, short_speech: Path) -> None:
    raw = facecast.animate(short_speech, animator=name, seed=0, settle=False)
    clip = facecast.animate(short_speech, animator=name, seed=0)
    n = settle_frames(clip.fps)
    assert clip.fps == 30 and n == 5  # 150 ms at 30 fps
    np.testing.assert_array_equal(clip.values[:-n], raw.values[:-n])  # only the ending changes
    assert np.abs(clip.values[-1]).max() == 0 and np.abs(clip.head_translation[-1]).max() == 0
    face = np.abs(clip.values[-n:, :NUM_BLENDSHAPES]).max(axis=1)
    assert np.all(np.diff(face) <= 1e-6), face  # eases down, never bounces back up
    assert clip.metadata["settle_seconds"] == SETTLE_SECONDS


def test_demo_take_no_longer_ends_mid_blink() -> None:
    raw = facecast.animate(SPEECH, settle=False)
    blink_jaw = [CHANNEL_INDEX["EyeBlinkLeft"], CHANNEL_INDEX["JawOpen"], CHANNEL_INDEX["MouthSmileLeft"]]
    assert np.abs(raw.values[-1, :NUM_BLENDSHAPES]).max() > 0.05  # the defect: something is still moving
    assert np.abs(facecast.animate(SPEECH).values[-1, blink_jaw]).max() == 0


def test_frames_in_batches_settle_like_the_whole_clip() -> None:
    raw = facecast.animate(SPEECH, animator="energy", settle=False)
    from facecast.motion import MotionClip, MotionFrame

    frames = [MotionFrame(i, i / raw.fps, raw.values[i], raw.head_translation[i]) for i in range(raw.num_frames)]
    end, out = TakeEnd(raw.fps), []
    for start in range(0, len(frames) - 7, 7):
        out += end.feed(frames[start:start + 7])
    out += end.finish(frames[len(out) + len(end.held):])
    settled = MotionClip.from_frames(raw.fps, out)
    np.testing.assert_allclose(settled.values, settle_clip(raw).values, atol=1e-7)
    assert [f.index for f in out] == list(range(raw.num_frames))


def test_daemon_take_ends_settled(daemon) -> None:
    with Client(daemon.address, timeout=60) as client:
        clip = client.animate(SPEECH, animator="energy", seed=1)
    assert np.abs(clip.values[-1]).max() == 0
    np.testing.assert_allclose(clip.values, facecast.animate(SPEECH, animator="energy", seed=1).values, atol=1e-6)


def test_no_settle_flag_keeps_the_animators_ending(tmp_path) -> None:
    assert_ok(run_in_terminal("animate", str(SPEECH), "--animator", "energy", "-o", "settled.fcclip", cwd=tmp_path))
    assert_ok(run_in_terminal("animate", str(SPEECH), "--animator", "energy", "--no-settle", "-o", "raw.fcclip",
                              cwd=tmp_path))
    settled, raw = facecast.load(tmp_path / "settled.fcclip"), facecast.load(tmp_path / "raw.fcclip")
    assert np.abs(settled.values[-1]).max() == 0 and np.abs(raw.values[-1]).max() > 0
