"""The portrait renderer: motion values + avatar → RGB frames.

Everything that depends only on the portrait (crop, triangulation and sparse interpolation matrix, eye and mouth
models, watermark pattern) is computed once in :class:`Renderer`; a frame costs one rig evaluation, one sparse
product, a few small remaps and the local eye and mouth paint jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from facecast.errors import InvalidInput
from facecast.face import topology
from facecast.face.avatar import Avatar
from facecast.face.portrait_rig import Rig, face_frame
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS, MotionClip
from facecast.render.crop import PortraitCrop, frame_face
from facecast.render.eyes import SIDES, EyeModel, draw_eye, with_gaze_angles
from facecast.render.lips import taper_opening
from facecast.render.mouth import MIN_GAP, MouthPalette, draw_exemplar_mouth, draw_mouth
from facecast.render.mouth_library import load_library
from facecast.render.regions import RIGID_HEAD
from facecast.render.smile import cheek_relief, draw_smile, smile_strength
from facecast.render.translate import HeadShift, check_translation
from facecast.render.warp import WarpField
from facecast.render.watermark import Watermarker

DEFAULT_SIZE = 512
MAX_SIZE = 2048
HEAD_ROTATIONS = [CHANNEL_INDEX[name] for name in ("HeadYaw", "HeadPitch", "HeadRoll")]
BATCH_FRAMES = 64  # frames whose meshes the rig deforms in one call
STILL_SHARE = 0.002  # a landmark that no blendshape moves further than this share of the eye distance is skull
MIN_SKULL_POINTS = 8
EYE_CORNERS = (topology.RIGHT_EYE_OUTER, topology.LEFT_EYE_OUTER)
MOUTH_STYLES = ("exemplar", "painted")
EYELID_STYLES = ("warp", "painted")
HEAD_STYLES = ("surface", "flat")
CHEEK_STYLES = ("shaded", "plain")
LIP_STYLES = ("tapered", "rig")


@dataclass
class FramePose:
    """One frame as the rig poses it: the ``moved`` mesh [468, 3], the rest mesh ``carried`` by the head rotation
    alone [468, 3] (where each feature's resting shape now is), the irises' ``gaze`` offsets [2 eyes, 2] and the
    head's ``angles`` (yaw, pitch, roll) and the ``smile`` strength per side."""

    moved: np.ndarray
    carried: np.ndarray
    gaze: np.ndarray
    angles: np.ndarray | None = None  # head yaw, pitch, roll (radians)
    smile: dict[str, float] | None = None  # per-side smile strength (:func:`facecast.render.smile.smile_strength`)
    shift: np.ndarray | None = None  # the head's translation in the picture [2] (output pixels), in moved and carried


class Renderer:
    """Renders one avatar at ``size``×``size`` pixels. Every frame carries the facecast watermark."""

    def __init__(self, avatar: Avatar, size: int = DEFAULT_SIZE, *, mouth: str = "exemplar",
                 eyelids: str = "warp", head: str = "surface", cheeks: str = "shaded", lips: str = "tapered",
                 translate: bool = True) -> None:
        """``mouth``: "exemplar" (real mouth interiors from the shipped library, colour-matched) or "painted"
        (the first renderer's drawn cavity and teeth); ``eyelids``: "warp" (the portrait's own lid slides down)
        or "painted" (a lid-coloured patch and a drawn lash line); ``head``: "surface" (the head turns as a 3-D
        surface and what a turn uncovers is filled from the portrait, :mod:`facecast.render.head`) or "flat" (the
        first renderer's 2-D warp carried by the head's affine motion); ``cheeks``: "shaded" (a smile raises and
        rounds the cheek and creases the outer eye corner, :mod:`facecast.render.smile`) or "plain" (the rig's
        geometry alone); ``lips``: "tapered" (a wide-open mouth keeps pointed corners,
        :mod:`facecast.render.lips`) or "rig" (the lower lip as the rig drops it); ``translate``: move the head
        across the picture by the clip's head translation (:mod:`facecast.render.translate`) or ignore it (the
        renderers before it). The older paths stay for comparison."""
        if not isinstance(size, (int, np.integer)) or not 0 < size <= MAX_SIZE:
            raise InvalidInput(f"render size must be an integer up to {MAX_SIZE} pixels, not {size!r}")
        if mouth not in MOUTH_STYLES:
            raise InvalidInput(f"mouth must be one of {', '.join(MOUTH_STYLES)}, not {mouth!r}")
        if eyelids not in EYELID_STYLES:
            raise InvalidInput(f"eyelids must be one of {', '.join(EYELID_STYLES)}, not {eyelids!r}")
        if head not in HEAD_STYLES:
            raise InvalidInput(f"head must be one of {', '.join(HEAD_STYLES)}, not {head!r}")
        if cheeks not in CHEEK_STYLES:
            raise InvalidInput(f"cheeks must be one of {', '.join(CHEEK_STYLES)}, not {cheeks!r}")
        if lips not in LIP_STYLES:
            raise InvalidInput(f"lips must be one of {', '.join(LIP_STYLES)}, not {lips!r}")
        self.mouth_style, self.eyelid_style, self.head_style, self.cheek_style = mouth, eyelids, head, cheeks
        self.lip_style = lips
        self.translate = bool(translate)
        self.size = int(size)
        height, width = avatar.image.shape[:2]
        self.crop: PortraitCrop = frame_face(avatar.fit.landmarks, (width, height), self.size)
        self.base = self.crop.image(avatar.image)
        self.rest = self.crop.points(avatar.fit.landmarks)
        self.rig = Rig()
        self._head_shift = HeadShift(self.rest, face_frame(self.rest))
        self.warp = WarpField(self.rest, self.size, self._skull_points(), surface=head == "surface")
        radius = self.rig.iris_radius(self.rest)
        self.eyes = [EyeModel.from_portrait(self.base, self.rest, side, radius) for side in SIDES]
        self.mouth = MouthPalette.from_portrait(self.base, self.rest)
        self.cheek_relief = cheek_relief(self.base, self.rest)
        self.mouth_library = load_library() if mouth == "exemplar" else None
        if self.mouth_library is not None and self.mouth.rest_gap > MIN_GAP:
            self.mouth_library = self.mouth_library.with_own(self.base, self.rest, self.mouth.lip)
        self._watermark = Watermarker(self.size, self.size)

    def _skull_points(self) -> np.ndarray:
        """Landmarks no blendshape moves (forehead, temples, nose bridge): they show the head's own motion."""
        reach = np.abs(self.rig.basis(self.rest)).max(axis=(0, 2))
        interocular = float(np.linalg.norm(self.rest[EYE_CORNERS[0], :2] - self.rest[EYE_CORNERS[1], :2]))
        still = np.flatnonzero(reach < STILL_SHARE * interocular)
        return still if len(still) >= MIN_SKULL_POINTS else RIGID_HEAD

    def meshes(self, values: np.ndarray, translation: np.ndarray | None = None) -> np.ndarray:
        """Moved landmarks [T, 468, 3] in output pixels for motion ``values`` [T, 61] (and head ``translation``
        [T, 3], metres, when this renderer translates)."""
        values = self._checked(values)
        moved = self.rig.deform(self.rest, values)
        shifts = self._shifts(values, translation)
        if shifts is not None:
            moved[..., :2] += shifts[:, None]
        return moved

    @staticmethod
    def _checked(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, np.float32)
        if values.ndim != 2 or values.shape[1] != NUM_CHANNELS or not np.isfinite(values).all():
            raise InvalidInput(f"motion values must be a finite [frames, {NUM_CHANNELS}] array, not {values.shape}")
        return values

    def _carried(self, values: np.ndarray) -> np.ndarray:
        """The rest mesh carried by the head rotation of ``values`` alone [T, 468, 3]."""
        return self.rig.deform(self.rest, _head_only(values))

    def _shifts(self, values: np.ndarray, translation: np.ndarray | None,
                carried: np.ndarray | None = None) -> np.ndarray | None:
        """The head's shift in the picture [T, 2] for ``translation``, or None when nothing is translated."""
        checked = check_translation(translation, len(values))
        if not self.translate or checked is None or not checked.any():
            return None
        return self._head_shift.shifts(checked, self._carried(values) if carried is None else carried)

    def poses(self, values: np.ndarray, translation: np.ndarray | None = None) -> list[FramePose]:
        """Everything the rig says about frames ``values`` [T, 61] (and head ``translation`` [T, 3], metres),
        computed for the whole batch at once."""
        values = self._checked(values)
        moved = self.rig.deform(self.rest, values)
        head_only = _head_only(values)
        carried = self.rig.deform(self.rest, head_only)
        looking = with_gaze_angles(values)
        gaze = (self.rig.iris(self.rest, looking) - self.rig.iris(self.rest, head_only))[..., :2]
        angles = values[:, HEAD_ROTATIONS]
        smiles = [smile_strength(v) if self.cheek_style == "shaded" else None for v in values]
        if self.lip_style == "tapered":
            moved = np.stack([taper_opening(m, c) for m, c in zip(moved, carried, strict=True)])
        shifts = self._shifts(values, translation, carried)
        if shifts is None:
            return [FramePose(*parts) for parts in zip(moved, carried, gaze, angles, smiles, strict=True)]
        # Everything that moves with the head moves with the shift; the irises' gaze offsets are relative.
        moved[..., :2] += shifts[:, None]
        carried[..., :2] += shifts[:, None]
        return [FramePose(*parts) for parts in zip(moved, carried, gaze, angles, smiles, shifts, strict=True)]

    def render_pose(self, pose: FramePose) -> np.ndarray:
        """One RGB uint8 frame [size, size, 3] for one :class:`FramePose`."""
        frame = self.warp.warp(self.base, pose.moved, pose.angles, pose.shift)
        if pose.smile is not None:
            draw_smile(frame, pose.moved, pose.smile, self.cheek_relief)
        for eye, offset in zip(self.eyes, pose.gaze, strict=True):
            draw_eye(frame, pose.moved, pose.carried, offset, eye, self.base if self.eyelid_style == "warp" else None)
        if self.mouth_library is not None:
            draw_exemplar_mouth(frame, pose.moved, self.mouth, self.mouth_library)
        else:
            draw_mouth(frame, pose.moved, self.mouth)
        return self._watermark.apply(frame)

    def render(self, values: np.ndarray, translation: np.ndarray | None = None) -> np.ndarray:
        """One RGB uint8 frame [size, size, 3] for one frame's 61 motion values (and head translation [3],
        metres)."""
        row = None if translation is None else np.asarray(translation, np.float32).reshape(1, -1)
        return self.render_pose(self.poses(np.asarray(values, np.float32).reshape(1, -1), row)[0])

    def frames(self, values: np.ndarray, translation: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Frames for motion ``values`` [T, 61] and head ``translation`` [T, 3] (metres; None: the head stays in
        place), one by one (the rig runs on batches)."""
        values = self._checked(values)
        translation = check_translation(translation, len(values))
        for start in range(0, len(values), BATCH_FRAMES):
            part = None if translation is None else translation[start:start + BATCH_FRAMES]
            for pose in self.poses(values[start:start + BATCH_FRAMES], part):
                yield self.render_pose(pose)


def _head_only(values: np.ndarray) -> np.ndarray:
    """``values`` [T, 61] with everything but the head rotation zeroed."""
    head_only = np.zeros_like(values)
    head_only[:, HEAD_ROTATIONS] = values[:, HEAD_ROTATIONS]
    return head_only


def render_frames(clip: MotionClip, avatar: Avatar | Renderer, size: int = DEFAULT_SIZE) -> Iterator[np.ndarray]:
    """RGB uint8 frames [size, size, 3] of ``avatar`` performing ``clip``, frame i showing time i / clip.fps.

    Pass a :class:`Renderer` instead of an avatar to reuse its per-portrait precomputation across clips."""
    renderer = avatar if isinstance(avatar, Renderer) else Renderer(avatar, size)
    return renderer.frames(clip.values, clip.head_translation)
