"""``neural-fast``: the learned model alone for whole clips too (issue 15), named like any other animator, so the
CLI, the daemon's Animate and Stream and ``facecast.animate`` all reach it; ``neural``'s clips stay fused."""

from __future__ import annotations

import numpy as np
import pytest
from terminal import assert_ok, run_in_terminal

import facecast
from facecast.animators import animator_names, describe_animator, get_animator
from facecast.animators.base import run_session
from facecast.animators.neural import phonetic_runs_here
from facecast.audio import load_audio
from facecast.client import Client, stream_file_chunks
from facecast.controls import Controls
from facecast.motion import CHANNEL_INDEX

from conftest import ASSETS

SPEECH = ASSETS / "speech_en.wav"
JAW = CHANNEL_INDEX["JawOpen"]


def test_neural_fast_is_listed_beside_neural_with_its_own_description() -> None:
    assert {"neural", "neural-fast"} <= set(animator_names())
    fast = describe_animator("neural-fast")
    assert fast["name"] == "neural-fast" and "faster" in fast["description"]
    assert fast["lookahead_ms"] == describe_animator("neural")["lookahead_ms"]


def test_neural_fast_shares_the_model_and_batches_live_streams_as_neural_does() -> None:
    fast, neural = get_animator("neural-fast"), get_animator("neural")
    assert fast.model is neural.model  # one ONNX Runtime session for both
    assert fast.batch_wait_ms == neural.batch_wait_ms > 0
    assert not fast.fuse_phonetic and fast.clip_prework() is None


@pytest.mark.skipif(not phonetic_runs_here(), reason="pocketsphinx is not installed: neural's clips are not fused")
def test_neural_fast_clip_is_its_own_stream_while_neurals_clips_and_streams_fuse_their_jaw() -> None:
    audio = load_audio(SPEECH)
    controls = Controls(seed=4).validated()
    fast = get_animator("neural-fast").animate(audio, controls, 30)
    stream = run_session(get_animator("neural-fast").stream(controls, 30), audio.samples)
    np.testing.assert_allclose(fast.values, np.stack([f.values for f in stream]), atol=1e-6)  # float32 take
    live = np.stack([f.values for f in run_session(get_animator("neural").stream(controls, 30), audio.samples)])
    assert np.abs(live[:, JAW] - fast.values[:, JAW]).mean() > 0.01  # neural's streams fuse Whisper's jaw too
    assert fast.metadata["animator"] == "neural-fast" and "jaw" not in fast.metadata
    fused = get_animator("neural").animate(audio, controls, 30)
    assert fused.metadata["jaw"].startswith("fused with")
    assert np.abs(fused.values[:, JAW] - fast.values[:, JAW]).max() > 0.05  # the jaw is another one
    others = np.arange(fast.values.shape[1]) != JAW
    np.testing.assert_array_equal(fused.values[:, others], fast.values[:, others])  # and only the jaw


def test_cli_animates_with_neural_fast_in_a_terminal(tmp_path) -> None:
    output = assert_ok(run_in_terminal("animate", str(SPEECH), "--animator", "neural-fast", "-o", "take.fcclip",
                                       cwd=tmp_path))
    assert "animating" in output and "100%" in output and "wrote take.fcclip" in output
    take = facecast.load(tmp_path / "take.fcclip")
    assert take.metadata["animator"] == "neural-fast"
    np.testing.assert_allclose(take.values, facecast.animate(SPEECH, "neural-fast").values, atol=1e-6)


def test_daemon_animates_and_streams_with_neural_fast_over_grpc(daemon) -> None:
    local = facecast.animate(SPEECH, "neural-fast", fps=30, seed=7)
    with Client(daemon.address, timeout=60) as client:
        listed = {a["name"] for a in client.info()["animators"]}
        clip = client.animate(SPEECH, "neural-fast", 30, seed=7)
        audio = load_audio(SPEECH).samples[:2 * 16_000]
        lives = [client.stream(sample_rate=16_000, animator="neural-fast", fps=30, seed=k) for k in (1, 2)]
        for chunk in stream_file_chunks(audio, 16_000, 20):  # two streams at once: gathered into batches
            for live in lives:
                live.send(chunk)
        for live in lives:
            live.end()
        streamed = [list(live.frames()) for live in lives]
    assert "neural-fast" in listed
    assert clip.metadata["animator"] == "neural-fast"
    np.testing.assert_allclose(clip.values, local.values, atol=1e-6)
    for seed, frames in zip((1, 2), streamed):
        alone = run_session(get_animator("neural-fast").stream(Controls(seed=seed), 30), audio)
        assert [f.index for f in frames] == [f.index for f in alone] == list(range(60))
        np.testing.assert_allclose(np.stack([f.values for f in frames]), np.stack([f.values for f in alone]),
                                   atol=1e-4)
