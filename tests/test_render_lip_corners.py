"""A wide-open mouth keeps pointed lip corners: the lower lip beside the corners drops less than in the middle (a
lens, not a box with vertical sides whose few pixels of lip the warp stretches into streaks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facecast.errors import InvalidInput
from facecast.face import Avatar, load_image
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS
from facecast.render import Renderer
from facecast.render.regions import INNER_LIP_LOWER, INNER_LIP_UPPER

ASSETS = Path(__file__).resolve().parents[1] / "assets"
PORTRAITS = ["mona_lisa.jpg", "drawing.jpg", "drawing_man.jpg"]  # the shipped public-domain pictures


def pose(**channels: float) -> np.ndarray:
    values = np.zeros((1, NUM_CHANNELS), np.float32)
    for name, value in channels.items():
        values[0, CHANNEL_INDEX[name]] = value
    return values


def corner_angles(moved: np.ndarray) -> list[float]:
    """The inner lips' opening angle (degrees) at each corner, to the second contour points."""
    angles = []
    for corner, up, low in ((0, 2, 2), (-1, -3, -3)):
        c = moved[INNER_LIP_UPPER[corner], :2]
        a, b = moved[INNER_LIP_UPPER[up], :2] - c, moved[INNER_LIP_LOWER[low], :2] - c
        angles.append(float(np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))))
    return angles


@pytest.fixture(scope="module", params=PORTRAITS)
def renderers(request: pytest.FixtureRequest) -> tuple[Renderer, Renderer]:
    avatar = Avatar.from_image(load_image(ASSETS / request.param))
    return Renderer(avatar, 512), Renderer(avatar, 512, lips="rig")


@pytest.mark.parametrize("channels", [{"JawOpen": 0.6}, {"JawOpen": 0.8},
                                      {"JawOpen": 0.4, "MouthSmileLeft": 0.8, "MouthSmileRight": 0.8}])
def test_wide_opening_is_a_lens_with_pointed_corners(renderers: tuple[Renderer, Renderer],
                                                      channels: dict[str, float]) -> None:
    tapered, rig = (r.poses(pose(**channels))[0].moved for r in renderers)
    gap = tapered[INNER_LIP_LOWER, 1] - tapered[INNER_LIP_UPPER, 1]
    middle = len(INNER_LIP_UPPER) // 2
    assert gap[middle] > 3.0
    beside = gap[[1, -2]] / gap[middle]  # the contour points next to the corners
    assert (beside < 0.8).all(), beside  # the rig's own lower lip: 0.77-0.98 of the middle there
    assert (gap[1:-1] > 0).all()  # still open all along
    assert all(t < r - 4.0 for t, r in zip(corner_angles(tapered), corner_angles(rig), strict=True))
    # The middle of the lip and the corners stay where the rig puts them.
    for index in (INNER_LIP_LOWER[middle], INNER_LIP_LOWER[0], INNER_LIP_LOWER[-1]):
        assert np.allclose(tapered[index], rig[index])


def test_closed_and_resting_mouths_are_left_as_the_rig_has_them(renderers: tuple[Renderer, Renderer]) -> None:
    for channels in ({}, {"MouthSmileLeft": 0.7}, {"MouthPucker": 0.6}, {"MouthRollLower": 0.5}):
        tapered, rig = (r.poses(pose(**channels))[0].moved for r in renderers)
        assert np.allclose(tapered, rig, atol=0.05), channels


def test_unknown_lip_style_is_a_clear_error() -> None:
    avatar = Avatar.from_image(load_image(ASSETS / "drawing.jpg"))
    with pytest.raises(InvalidInput, match="lips must be one of tapered, rig"):
        Renderer(avatar, 256, lips="square")
