"""The ARKit rig on the face mesh: rest at zero, the right parts move the right way, left mirrors right."""

from __future__ import annotations

import numpy as np
import pytest

from facecast.errors import InvalidInput
from facecast.face import Rig, fit_face, load_image
from facecast.face import topology as T
from facecast.face.portrait_rig import face_frame
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, NUM_CHANNELS


@pytest.fixture
def rest(assets) -> np.ndarray:
    return fit_face(load_image(assets / "mona_lisa.jpg")).landmarks


def one(name: str, value: float = 1.0) -> np.ndarray:
    values = np.zeros(NUM_CHANNELS, np.float32)
    values[CHANNEL_INDEX[name]] = value
    return values


def test_zero_weights_give_the_rest_shape(rest) -> None:
    rig = Rig()
    assert np.allclose(rig.deform(rest, np.zeros(52)), rest, atol=1e-4)
    assert np.allclose(rig.deform(rest, np.zeros(NUM_CHANNELS)), rest, atol=1e-4)


def test_every_blendshape_moves_something_and_stays_local(rest) -> None:
    basis = Rig().basis(rest)
    scale = face_frame(rest).scale
    assert basis.shape == (52, 468, 3) and np.isfinite(basis).all()
    for name, field in zip(BLENDSHAPES, basis):
        travel = np.linalg.norm(field, axis=1) / scale
        assert 0.01 < travel.max() < 0.5, name
        assert (travel < 0.005).sum() > 150, f"{name} moves most of the face"


def test_jaw_open_moves_chin_down_and_lips_apart(rest) -> None:
    moved = Rig().deform(rest, one("JawOpen"))
    scale = face_frame(rest).scale
    assert moved[T.CHIN, 1] - rest[T.CHIN, 1] > 0.2 * scale
    gap_before = rest[T.LOWER_LIP_MID, 1] - rest[T.UPPER_LIP_MID, 1]
    gap_after = moved[T.LOWER_LIP_MID, 1] - moved[T.UPPER_LIP_MID, 1]
    assert gap_after - gap_before > 0.2 * scale
    assert np.allclose(moved[T.UPPER_LIP_MID], rest[T.UPPER_LIP_MID], atol=1e-3)  # the upper lip stays
    assert np.allclose(moved[T.FOREHEAD], rest[T.FOREHEAD]) and np.allclose(moved[T.NOSE_TIP], rest[T.NOSE_TIP])


def test_blink_closes_the_eye(rest) -> None:
    moved = Rig().deform(rest, one("EyeBlinkLeft"))
    for upper, lower in zip(T.LEFT_EYE_UPPER[1:-1], T.LEFT_EYE_LOWER[1:-1]):
        before = np.linalg.norm(rest[upper, :2] - rest[lower, :2])
        assert np.linalg.norm(moved[upper, :2] - moved[lower, :2]) < 0.1 * before
    assert np.allclose(moved[list(T.RIGHT_EYE_UPPER)], rest[list(T.RIGHT_EYE_UPPER)])


@pytest.mark.parametrize("left, right", [
    ("EyeBlinkLeft", "EyeBlinkRight"), ("MouthSmileLeft", "MouthSmileRight"), ("BrowOuterUpLeft", "BrowOuterUpRight"),
    ("MouthFrownLeft", "MouthFrownRight"), ("CheekSquintLeft", "CheekSquintRight"), ("JawLeft", "JawRight"),
])
def test_left_and_right_shapes_mirror(rest, left: str, right: str) -> None:
    """In face axes, a left shape's displacement at a point equals the right shape's at the mirror point with
    the sideways component negated (within what the real, slightly asymmetric face allows)."""
    frame = face_frame(rest)
    basis = Rig().basis(rest) @ frame.axes.T / frame.scale  # displacements in face axes
    d_left, d_right = basis[BLENDSHAPES.index(left)], basis[BLENDSHAPES.index(right)]
    pairs = np.array(T.MIRROR_PAIRS + ((T.CHIN, T.CHIN), (T.UPPER_LIP_MID, T.UPPER_LIP_MID)))
    flip = np.array([-1.0, 1.0, 1.0])
    for r, lft in pairs:
        assert np.allclose(d_left[lft], d_right[r] * flip, atol=0.03), (left, r, lft)
        assert np.allclose(d_left[r], d_right[lft] * flip, atol=0.03), (left, r, lft)
    assert np.abs(d_left).max() > 0.03


def test_smile_raises_the_corner_on_its_own_side(rest) -> None:
    moved = Rig().deform(rest, one("MouthSmileLeft"))
    assert moved[T.MOUTH_CORNER_LEFT, 1] < rest[T.MOUTH_CORNER_LEFT, 1] - 1  # up, in pixels
    assert moved[T.MOUTH_CORNER_LEFT, 0] > rest[T.MOUTH_CORNER_LEFT, 0]  # out, to the image's right
    assert np.allclose(moved[T.MOUTH_CORNER_RIGHT], rest[T.MOUTH_CORNER_RIGHT], atol=0.5)


def test_head_rotation_signs(rest) -> None:
    rig = Rig()
    scale = face_frame(rest).scale
    yawed = rig.deform(rest, one("HeadYaw", 0.3))
    assert yawed[T.NOSE_TIP, 0] - rest[T.NOSE_TIP, 0] > 0.1 * scale  # nose to the subject's left = image right
    pitched = rig.deform(rest, one("HeadPitch", 0.3))
    def nose_below_face_sides(points: np.ndarray) -> float:  # the nose is in front of the face's sides
        return float(points[T.NOSE_TIP, 1] - points[[234, 454], 1].mean())

    assert nose_below_face_sides(pitched) > nose_below_face_sides(rest) + 0.1 * scale  # a nod down
    rolled = rig.deform(rest, one("HeadRoll", 0.3))
    assert rolled[T.FOREHEAD, 0] - rolled[T.CHIN, 0] > rest[T.FOREHEAD, 0] - rest[T.CHIN, 0] + 0.1 * scale
    assert np.allclose(np.linalg.norm(yawed[T.LEFT_EYE_OUTER] - yawed[T.RIGHT_EYE_OUTER]), scale, rtol=0.01)


def test_gaze_moves_the_irises(rest) -> None:
    rig = Rig()
    centre = rig.iris(rest, np.zeros(NUM_CHANNELS))
    values = one("LeftEyeYaw", 0.4)
    values[CHANNEL_INDEX["RightEyeYaw"]] = 0.4
    values[CHANNEL_INDEX["LeftEyePitch"]] = 0.3
    looked = rig.iris(rest, values)
    assert (looked[:, 0] > centre[:, 0]).all()  # both look to the subject's left
    assert looked[0, 1] > centre[0, 1] and np.isclose(looked[1, 1], centre[1, 1], atol=0.5)  # left eye looks down
    assert centre[0, 0] > centre[1, 0]  # the subject's left eye is on the image's right
    assert 0.03 < rig.iris_radius(rest) / face_frame(rest).scale < 0.1


def test_batches_match_single_frames(rest) -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 1, (5, NUM_CHANNELS)).astype(np.float32)
    values[:, 52:] = rng.uniform(-0.3, 0.3, (5, 9))
    rig = Rig()
    batch = rig.deform(rest, values)
    assert batch.shape == (5, 468, 3)
    for i in range(5):
        assert np.allclose(batch[i], rig.deform(rest, values[i]), atol=1e-3)
    assert rig.iris(rest, values).shape == (5, 2, 3)
    assert np.allclose(rig.deform(rest, values[:, :52]), rig.deform(rest, np.c_[values[:, :52], np.zeros((5, 9))]))


def test_bad_rig_input_is_named(rest) -> None:
    rig = Rig()
    with pytest.raises(InvalidInput, match=r"\[52\] or \[61\]"):
        rig.deform(rest, np.zeros(10))
    with pytest.raises(InvalidInput, match="rest landmarks"):
        rig.deform(rest[:100], np.zeros(52))
    with pytest.raises(InvalidInput, match="degenerate"):
        rig.deform(np.zeros((468, 3)), np.zeros(52))
