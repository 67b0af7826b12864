"""A blink on a drawing: the shut lid covers the white of the drawn eye, also where the mesh's upper lid contour
lies below the drawing's lid line (the strip of white between them used to slide down with the lid)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facecast.face import Avatar, load_image
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS
from facecast.render import Renderer
from facecast.render.regions import eye_contour

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def blink(amount: float) -> np.ndarray:
    values = np.zeros(NUM_CHANNELS, np.float32)
    values[CHANNEL_INDEX["EyeBlinkLeft"]] = values[CHANNEL_INDEX["EyeBlinkRight"]] = amount
    return values


def white_share(renderer: Renderer, frame: np.ndarray, side: str, white: float) -> float:
    """Share of the resting eye opening that is as bright as the white of the eye."""
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(renderer.rest[eye_contour(side), :2]).astype(np.int32)], 1)
    luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float((luma[mask.astype(bool)] > white).mean())


def test_shut_lid_covers_the_white_of_a_drawn_eye() -> None:
    name = "drawing.jpg"  # its mesh's upper lid contours lie 2.5 and 9 pixels under the drawn lid lines
    renderer = Renderer(Avatar.from_image(load_image(ASSETS / name)), 512)
    open_eye, shut = renderer.render(blink(0.0)), renderer.render(blink(1.0))
    for side, eye in zip(("Left", "Right"), renderer.eyes, strict=True):
        white = float(eye.sclera.mean()) - 20
        assert white > float(eye.lid_skin.mean())  # the drawings' white is whiter than their skin
        assert white_share(renderer, open_eye, side, white) > 0.15, (name, side)
        assert white_share(renderer, shut, side, white) < 0.03, (name, side)


def test_lid_margin_is_measured_above_the_contour_only_where_white_shows() -> None:
    drawing = Renderer(Avatar.from_image(load_image(ASSETS / "drawing.jpg")), 512)
    painting = Renderer(Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg")), 512)
    assert max(eye.upper_margin for eye in drawing.eyes) > 2.0
    assert all(eye.upper_margin == 0.0 for eye in painting.eyes)
