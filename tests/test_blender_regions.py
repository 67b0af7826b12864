"""Face regions of a non-destructive Blender bake, without Blender: which channels each region owns, and the
strength and smoothing a region applies to its own channels only."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from facecast.errors import InvalidInput
from facecast.motion import CHANNELS, NUM_BLENDSHAPES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "blender"))
from facecast_blender.regions import (
    CHANNEL_REGION,
    REGION_NAMES,
    RegionSettings,
    all_regions,
    enabled,
    region_bindings,
    shaped_values,
    smooth,
)


def test_every_channel_belongs_to_exactly_the_expected_region():
    owners = dict(zip(CHANNELS, CHANNEL_REGION))
    assert owners["JawOpen"] == owners["MouthSmileLeft"] == owners["TongueOut"] == owners["CheekPuff"] == "mouth"
    assert owners["NoseSneerLeft"] == "mouth"
    assert owners["EyeBlinkLeft"] == owners["EyeLookInRight"] == owners["EyeWideLeft"] == "eyes"
    assert owners["LeftEyeYaw"] == owners["RightEyeRoll"] == "eyes"
    assert owners["BrowInnerUp"] == owners["BrowDownRight"] == "brows"
    assert owners["HeadYaw"] == owners["HeadRoll"] == "head"
    counts = {name: CHANNEL_REGION.count(name) for name in REGION_NAMES}
    assert counts == {"mouth": 33, "eyes": 20, "brows": 5, "head": 3} and sum(counts.values()) == len(CHANNELS)


def test_strength_and_smoothing_touch_only_their_region():
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 1, (120, len(CHANNELS))).astype(np.float32)
    values[:, NUM_BLENDSHAPES:] = rng.uniform(-0.3, 0.3, (120, len(CHANNELS) - NUM_BLENDSHAPES))
    out = shaped_values(values, RegionSettings("mouth", True, 0.5, 3.0))
    mouth = np.array([r == "mouth" for r in CHANNEL_REGION])
    np.testing.assert_array_equal(out[:, ~mouth], values[:, ~mouth])
    np.testing.assert_allclose(out[:, mouth], smooth(values[:, mouth], 3.0) * 0.5, atol=1e-6)
    assert np.abs(np.diff(out[:, mouth], axis=0)).mean() < 0.25 * np.abs(np.diff(values[:, mouth], axis=0)).mean()
    head = shaped_values(values, RegionSettings("head", True, 2.0, 0.0))
    np.testing.assert_allclose(head[:, CHANNELS.index("HeadYaw")], 2 * values[:, CHANNELS.index("HeadYaw")])
    brows = shaped_values(values, RegionSettings("brows", True, 2.0, 0.0))
    assert brows[:, CHANNELS.index("BrowInnerUp")].max() <= 1.0  # weights stay in 0..1


def test_smoothing_keeps_constants_and_holds_the_ends():
    ramp = np.linspace(0, 1, 50)[:, None].astype(np.float32)
    np.testing.assert_allclose(smooth(np.full((40, 2), 0.3), 4.0), 0.3, atol=1e-6)
    smoothed = smooth(ramp, 2.0)
    np.testing.assert_allclose(smoothed[10:-10], ramp[10:-10], atol=1e-5)  # a line stays a line
    assert smoothed[0, 0] > ramp[0, 0] and smoothed[-1, 0] < ramp[-1, 0]  # edges held, not zero-padded
    np.testing.assert_array_equal(smooth(ramp, 0.0), ramp)


def test_region_settings_are_checked():
    assert [r.name for r in enabled(all_regions())] == list(REGION_NAMES)
    with pytest.raises(InvalidInput, match="no face region is enabled"):
        enabled([RegionSettings(n, enabled=False) for n in REGION_NAMES])
    with pytest.raises(InvalidInput, match="strength"):
        enabled([RegionSettings("mouth", strength=3.0)])
    with pytest.raises(InvalidInput, match="smoothing"):
        enabled([RegionSettings("mouth", smoothing=-1.0)])
    with pytest.raises(InvalidInput, match="unknown face region"):
        enabled([RegionSettings("ears")])


def test_bindings_split_by_region():
    bindings = [(CHANNELS.index("JawOpen"), "Jaw_Open"), (CHANNELS.index("BrowInnerUp"), "Brow_Raise_Inner_L"),
                (CHANNELS.index("BrowInnerUp"), "Brow_Raise_Inner_R"), (CHANNELS.index("EyeBlinkLeft"), "Eye_Blink_L")]
    assert region_bindings(bindings, "brows") == bindings[1:3]
    assert region_bindings(bindings, "mouth") == bindings[:1]
    assert region_bindings(bindings, "head") == []
