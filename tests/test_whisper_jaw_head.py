"""The Whisper jaw head (facecast.animators.whisper_jaw, fitted by facecast.train.whisper_jaw): a linear read-out
of encoder states, on synthetic states where the answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facecast.animators import whisper_jaw
from facecast.animators.whisper_jaw import JawHead, at_fps, lagged
from facecast.errors import InvalidInput
from facecast.train.whisper_jaw import ConvRecipe, conv_head, fit_conv, fit_head, source_weights, train_conv


def _clip(rng: np.random.Generator, frames: int, carry: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(states [T, 384], lip gap [T]): the gap is a smooth signal that two state dimensions carry, one frame
    early and one frame late, under noise in all 384 dimensions."""
    gap = np.convolve(rng.normal(size=frames + 20), np.hanning(9), "same")[10:-10]
    states = rng.normal(size=(frames, 384)).astype(np.float32)
    if carry:
        states[:, 7] += 2.0 * np.roll(gap, -1)
        states[:, 99] += 2.0 * np.roll(gap, 1)
    return states, gap.astype(np.float32) * 3.0 + 5.0  # capture's own scale and offset


def test_the_fitted_head_follows_the_mouth_that_the_states_carry_on_an_unseen_clip() -> None:
    rng = np.random.default_rng(0)
    clips = [_clip(rng, 400) for _ in range(12)]
    head = fit_head([s for s, _ in clips], [g for _, g in clips], ["a"] * 6 + ["b"] * 6, dims=32, ridge=10.0)
    states, gap = _clip(rng, 500)
    assert np.corrcoef(head.predict(states), gap)[0, 1] > 0.8
    noise, gap_noise = _clip(rng, 500, carry=False)
    assert abs(np.corrcoef(head.predict(noise), gap_noise)[0, 1]) < 0.2



def test_a_convolution_beside_the_ridge_head_is_the_trained_network_and_still_follows_the_mouth() -> None:
    """A stream's head with a causal convolution (``fit --conv``): numpy's :class:`ConvHead` computes what the
    trained torch network computes, and the sum still follows the gap the states carry (the lags' one frame
    late is past the causal head's reach; the frame early is within it)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    clips = [_clip(rng, 400) for _ in range(12)]
    states, gaps, sources = [s for s, _ in clips], [g for _, g in clips], ["a"] * 6 + ["b"] * 6
    ridge = fit_head(states, gaps, sources, dims=32, lags=np.arange(-4, 1), ridge=10.0)
    recipe = ConvRecipe(width=8, k1=5, k2=3, steps=60)
    net = train_conv(ridge, states, gaps, sources, recipe, seed=0, causal=True)
    test, gap = _clip(rng, 300)
    pcs = ridge.components(test)
    with torch.no_grad():
        reference = net(torch.from_numpy(pcs.T[None].copy()))[0, 0].numpy()
    np.testing.assert_allclose(conv_head(net).predict(pcs), reference, atol=1e-5)
    # causal: a change at frame 200 leaves every earlier frame as it was
    changed = pcs.copy()
    changed[200:] += 1.0
    assert np.array_equal(conv_head(net).predict(changed)[:200], conv_head(net).predict(pcs)[:200])
    both = fit_conv(ridge, states, gaps, sources, recipe)
    assert both.conv is not None and both.conv.ridge_spread > 0 and both.conv.conv_spread > 0
    assert not both.conv.centred and np.corrcoef(both.predict(test), gap)[0, 1] > 0.6
    # a whole clip's head (lags either side) gets a centred convolution, also what its network computes
    centred = train_conv(ridge, states, gaps, sources, recipe, seed=0, causal=False)
    with torch.no_grad():
        reference = centred(torch.from_numpy(pcs.T[None].copy()))[0, 0].numpy()
    np.testing.assert_allclose(conv_head(centred, centred=True).predict(pcs), reference, atol=1e-5)
    clip_head = fit_conv(fit_head(states, gaps, sources, dims=32, ridge=10.0), states, gaps, sources, recipe)
    assert clip_head.conv is not None and clip_head.conv.centred
    assert np.corrcoef(clip_head.predict(test), gap)[0, 1] > 0.8

def test_the_head_round_trips_through_its_file_and_a_wrong_file_is_a_clear_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    clips = [_clip(rng, 300) for _ in range(4)]
    head = fit_head([s for s, _ in clips], [g for _, g in clips], ["a"] * 4, dims=16)
    head.save(tmp_path / "head.npz")
    again = JawHead.load(tmp_path / "head.npz")
    states, _ = _clip(rng, 200)
    np.testing.assert_allclose(again.predict(states), head.predict(states), atol=1e-5)
    np.savez(tmp_path / "other.npz", something=np.zeros(3))
    with pytest.raises(InvalidInput, match="not a Whisper jaw head"):
        JawHead.load(tmp_path / "other.npz")


def test_sources_weigh_by_a_power_of_their_minutes() -> None:
    weights = source_weights(["big", "small", "small"], [50.0, 0.5, 0.5], 0.5)
    assert weights["big"] * 50 == pytest.approx(np.sqrt(50))
    assert weights["small"] * 1 == pytest.approx(1.0)


def test_lagged_rows_hold_the_ends_and_the_head_resamples_to_any_fps() -> None:
    pcs = np.arange(5, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(lagged(pcs, np.array([-1, 0, 1])),
                                  [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 4]])
    curve = np.arange(50, dtype=np.float32)  # one second at 50 frames/s
    np.testing.assert_allclose(at_fps(curve, 25, 25), np.arange(25) * 2.0)
    assert at_fps(np.zeros(0, np.float32), 30, 4).shape == (4,)


ASSETS = Path(__file__).resolve().parents[1] / "assets"


@pytest.mark.skipif(not whisper_jaw.available(), reason="the Whisper encoder and jaw head are not in this checkout")
def test_the_shipped_whisper_jaw_follows_speech_and_rests_in_a_pause() -> None:
    """The shipped encoder (a real ONNX Runtime session) and head: the mouth it reads follows the phone
    recogniser's (an unrelated way of hearing the same speech) and stays low through 1.5 s of silence."""
    from facecast.animators import get_animator
    from facecast.audio import MODEL_RATE, Audio, load_audio
    from facecast.controls import Controls

    speech = load_audio(ASSETS / "speech_en.wav").samples
    half = len(speech) // 2
    pause = int(1.5 * MODEL_RATE)
    samples = np.concatenate([speech[:half], np.zeros(pause, np.float32), speech[half:]])
    fps = 30
    frames = int(np.ceil(len(samples) * fps / MODEL_RATE))
    jaw = whisper_jaw.WhisperJaw().jaw(samples, fps, frames)
    assert jaw.shape == (frames,) and np.isfinite(jaw).all()
    heard = get_animator("phonetic").animate(Audio(samples, MODEL_RATE), Controls(), fps).curve("JawOpen")
    n = min(len(jaw), len(heard))
    assert np.corrcoef(jaw[:n], heard[:n])[0, 1] > 0.4
    first, last = round((half / MODEL_RATE + 0.3) * fps), round(((half + pause) / MODEL_RATE - 0.3) * fps)
    assert jaw[first:last].mean() < np.percentile(jaw, 25)  # the pause is among the most closed quarter


def test_fusion_weighs_each_voice_and_takes_empty_or_flat_curves_quietly() -> None:
    import warnings

    from facecast.animators.fusion import fuse_jaw

    t = np.linspace(0, 6, 120)
    model, other = 0.2 + 0.1 * np.sin(t), np.cos(t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from an empty or flat curve
        assert fuse_jaw(np.zeros(0, np.float32), np.zeros(0, np.float32)).shape == (0,)
        np.testing.assert_allclose(fuse_jaw(model, np.zeros(120)), model, atol=1e-6)  # flat: left out
        heavy = fuse_jaw(model, other, weights=[1.0, 3.0])
    assert np.corrcoef(heavy, other)[0, 1] > np.corrcoef(fuse_jaw(model, other), other)[0, 1] > 0.5
    assert abs(heavy.mean() - model.mean()) < 1e-6 and abs(heavy.std() - model.std()) < 1e-6  # the model's scale
    with pytest.raises(ValueError, match="2 weights for 3 curves"):
        fuse_jaw(model, other, other, weights=[1.0, 1.0])
