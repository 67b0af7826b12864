"""Smiles that reach the eyes: MouthSmile and CheekSquint brighten the raised cheek, deepen the nasolabial fold
and crease the outer eye corner, in the portrait's own pixels, on the smiling side only."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facecast.errors import InvalidInput
from facecast.face import Avatar, load_image
from facecast.face import topology as T
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS
from facecast.render import Renderer
from facecast.render.smile import smile_strength

ASSETS = Path(__file__).resolve().parents[1] / "assets"


@pytest.fixture(scope="module")
def avatar() -> Avatar:
    return Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg"))


@pytest.fixture(scope="module")
def renderers(avatar: Avatar) -> tuple[Renderer, Renderer]:
    return Renderer(avatar, 512), Renderer(avatar, 512, cheeks="plain")


def pose(**channels: float) -> np.ndarray:
    values = np.zeros(NUM_CHANNELS, np.float32)
    for name, value in channels.items():
        values[CHANNEL_INDEX[name]] = value
    return values


def luma(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


def regions(renderer: Renderer, values: np.ndarray, side: str) -> dict[str, np.ndarray]:
    """Masks of one side's crow's-feet area (beyond the outer eye corner) and cheek apple, from the moved mesh."""
    moved = renderer.meshes(values[None])[0][:, :2]
    outer_i, inner_i, cheek_i = ((T.LEFT_EYE_OUTER, T.LEFT_EYE_INNER, T.LEFT_CHEEK) if side == "Left"
                                 else (T.RIGHT_EYE_OUTER, T.RIGHT_EYE_INNER, T.RIGHT_CHEEK))
    outer, inner, cheek = moved[outer_i], moved[inner_i], moved[cheek_i]
    width = float(np.linalg.norm(outer - inner))
    y, x = np.mgrid[:renderer.size, :renderer.size].astype(np.float32)
    crow = np.hypot(x - (outer[0] + (outer - inner)[0] * 0.25), y - outer[1]) < 0.2 * width
    apple_at = 0.45 * (outer + inner) / 2 + 0.55 * cheek
    apple = np.hypot(x - apple_at[0], y - apple_at[1]) < 0.2 * width
    return {"crow": crow, "apple": apple}


SMILE = {"MouthSmileLeft": 0.8, "MouthSmileRight": 0.8, "CheekSquintLeft": 0.5, "CheekSquintRight": 0.5}


def test_smile_creases_the_outer_eye_corners_and_lights_the_raised_cheeks(
        renderers: tuple[Renderer, Renderer]) -> None:
    shaded, plain = renderers
    values = pose(**SMILE)
    a, b = shaded.render(values), plain.render(values)
    diff = luma(a) - luma(b)
    for side in ("Left", "Right"):
        masks = regions(shaded, values, side)
        assert diff[masks["crow"]].mean() < -3, side  # creased: darker beside the eye
        assert diff[masks["crow"]].min() < -8, side  # in lines, not a uniform veil
        assert diff[masks["apple"]].mean() > 3, side  # the cheek catches the light
    # Shading only: the portrait's own texture stays (high frequencies of the two renders agree).
    face = np.zeros(diff.shape, bool)
    face[150:380, 150:360] = True
    high_a = luma(a) - cv2.GaussianBlur(luma(a), (0, 0), 2)
    high_b = luma(b) - cv2.GaussianBlur(luma(b), (0, 0), 2)
    assert np.corrcoef(high_a[face], high_b[face])[0, 1] > 0.95


@pytest.mark.parametrize("channel", ["MouthSmileLeft", "CheekSquintLeft"])
def test_either_channel_alone_drives_its_own_side(renderers: tuple[Renderer, Renderer], channel: str) -> None:
    # Any animator that writes either channel shows through; the other side of the face stays as it was.
    shaded, plain = renderers
    values = pose(**{channel: 1.0})
    diff = luma(shaded.render(values)) - luma(plain.render(values))
    left, right = regions(shaded, values, "Left"), regions(shaded, values, "Right")
    assert diff[left["crow"]].mean() < -2
    assert np.abs(diff[right["crow"]]).max() == 0
    assert np.abs(diff[:, : shaded.size // 2 - 20]).max() == 0  # the subject's right is the picture's left


def test_no_smile_no_shade(renderers: tuple[Renderer, Renderer]) -> None:
    shaded, plain = renderers
    for values in (pose(), pose(JawOpen=0.5), pose(MouthFrownLeft=1.0, BrowDownRight=1.0)):
        assert smile_strength(values) == {"Left": 0.0, "Right": 0.0}
        np.testing.assert_array_equal(shaded.render(values), plain.render(values))


def test_unknown_cheek_style_is_a_clear_error(avatar: Avatar) -> None:
    with pytest.raises(InvalidInput, match="cheeks must be one of shaded, plain"):
        Renderer(avatar, 256, cheeks="wrinkly")
