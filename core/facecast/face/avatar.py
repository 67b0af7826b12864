"""The portrait avatar: an image, its fitted face and the rig scale, saved as a versioned ``.fcavatar`` file.

``.fcavatar`` is msgpack: ``{"format": "facecast.fcavatar", "version": 1, "image_png": bytes,
"landmarks": float32 [468, 3] little-endian bytes, "box", "image_size", "score", "source", "rig_scale",
"metadata"}``. The image is stored losslessly (PNG) so the renderer sees the pixels the fit was made on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import msgpack
import numpy as np

from facecast.errors import InvalidInput
from facecast.face.image import as_rgb_array
from facecast.face.landmarks import NUM_LANDMARKS, FaceFit, check_face_box, fit_face
from facecast.fileio import atomic_write_bytes, read_document, read_input

FCAVATAR_FORMAT = "facecast.fcavatar"
FCAVATAR_VERSION = 1
MAX_AVATAR_SIDE = 2048
MIN_AVATAR_SIDE = 32
MIN_FACE_PIXELS = 8.0  # the smallest eye distance and face extent a loaded fit may have


def check_fit(fit: FaceFit, rig_scale: float, source: str) -> None:
    """Refuse a loaded fit the renderer cannot warp: landmarks collapsed to a point or a line, far outside the
    image, or a rig scale unrelated to the face's size."""
    width, height = fit.image_size
    points = fit.landmarks[:, :2]
    lo, hi = points.min(axis=0), points.max(axis=0)
    inside = (lo >= (-width, -height)).all() and (hi <= (2 * width, 2 * height)).all()
    spread = float(np.linalg.svd(points - points.mean(axis=0), compute_uv=False)[-1]) / np.sqrt(len(points))
    if not inside or spread < MIN_FACE_PIXELS / 4 or fit.interocular < MIN_FACE_PIXELS:
        raise InvalidInput(f"{source} holds landmarks that are not a face in its {width}x{height} image")
    if not 0.25 * fit.interocular <= rig_scale <= 4 * fit.interocular:
        raise InvalidInput(f"{source} holds a rig scale ({rig_scale:g}) that does not match its face")


@dataclass
class Avatar:
    """A portrait ready to animate: ``image`` RGB uint8 [H, W, 3], its :class:`FaceFit`, and ``rig_scale``
    (pixels per rig unit: the inter-ocular distance of the fit; rig displacements are multiples of it)."""

    image: np.ndarray
    fit: FaceFit
    rig_scale: float
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_image(cls, image: np.ndarray, face_box: Sequence[float] | None = None, *,
                   source: str = "the image") -> Avatar:
        """Fit the face of an RGB image and wrap it as an avatar (see :func:`fit_face` for ``face_box``).

        Images larger than :data:`MAX_AVATAR_SIDE` are shrunk first (the renderer works at 512-1024 px and a
        huge image would only bloat the file); ``face_box`` is in the given image's pixels either way, and
        ``metadata["scale"]`` records avatar pixels per given pixel.
        """
        image = as_rgb_array(image)
        scale = min(1.0, MAX_AVATAR_SIDE / max(image.shape[:2]))
        if scale < 1.0:
            size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            face_box = None if face_box is None else [float(v) * scale for v in face_box]
        fit = fit_face(image, face_box, source=source)
        return cls(np.ascontiguousarray(image), fit, fit.interocular, {"source": source, "scale": scale})

    @classmethod
    def from_file(cls, source: str | os.PathLike[str] | bytes, face_box: Sequence[float] | None = None, *,
                  name: str | None = None) -> Avatar:
        """An avatar from a portrait file or its bytes (fitted now), or a saved ``.fcavatar`` path.

        A huge image is decoded at a reduced size (fast, and bounded in memory); ``face_box`` is in the file's
        own pixels and is scaled with it.
        """
        from facecast.face.image import load_image_scaled

        if not isinstance(source, (bytes, bytearray)) and os.fspath(source).lower().endswith(".fcavatar"):
            return cls.load(source)
        name = name or ("the image" if isinstance(source, (bytes, bytearray)) else os.fspath(source))
        box = None if face_box is None else check_face_box(face_box, 2**31, 2**31)  # four finite numbers
        image, scale = load_image_scaled(source, max_side=MAX_AVATAR_SIDE, name=name)
        avatar = cls.from_image(image, None if box is None else [v * scale for v in box], source=name)
        avatar.metadata["scale"] = scale
        return avatar

    @property
    def rest_landmarks(self) -> np.ndarray:
        return self.fit.landmarks

    def to_bytes(self) -> bytes:
        ok, png = cv2.imencode(".png", cv2.cvtColor(self.image, cv2.COLOR_RGB2BGR))
        if not ok:
            raise InvalidInput("the avatar image cannot be encoded as PNG")
        return msgpack.packb({
            "format": FCAVATAR_FORMAT,
            "version": FCAVATAR_VERSION,
            "image_png": png.tobytes(),
            "landmarks": self.fit.landmarks.astype("<f4").tobytes(),
            "box": list(self.fit.box),
            "image_size": list(self.fit.image_size),
            "score": self.fit.score,
            "source": self.fit.source,
            "faces_found": self.fit.faces_found,
            "rig_scale": float(self.rig_scale),
            "metadata": self.metadata,
        }, use_bin_type=True)

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "avatar") -> Avatar:
        """An avatar from ``.fcavatar`` bytes; :class:`InvalidInput` names a wrong, truncated or implausible file
        (its image goes through the same format and size limits as an uploaded portrait)."""
        from facecast.face.image import load_image_scaled

        doc = read_document(data, FCAVATAR_FORMAT, FCAVATAR_VERSION, ".fcavatar", source)
        try:
            landmarks = np.frombuffer(doc["landmarks"], "<f4").reshape(NUM_LANDMARKS, 3).astype(np.float32)
            x, y, w, h = (float(v) for v in doc["box"])
            width, height = (int(v) for v in doc["image_size"])
            fit = FaceFit(landmarks, (x, y, w, h), (width, height), float(doc["score"]), str(doc["source"]),
                          int(doc["faces_found"]))
            rig_scale = float(doc["rig_scale"])
            metadata = dict(doc.get("metadata") or {})
            png = doc["image_png"]
            if not isinstance(png, bytes):
                raise ValueError
        except (KeyError, ValueError, TypeError, OverflowError):
            raise InvalidInput(f"{source} is truncated or has wrong shapes") from None
        if not (MIN_AVATAR_SIDE <= width <= MAX_AVATAR_SIDE and MIN_AVATAR_SIDE <= height <= MAX_AVATAR_SIDE):
            raise InvalidInput(f"{source} records an image of {width}x{height} pixels; an avatar's sides are "
                               f"{MIN_AVATAR_SIDE}..{MAX_AVATAR_SIDE} pixels")
        image, _ = load_image_scaled(png, max_pixels=MAX_AVATAR_SIDE**2, name=f"the image in {source}")
        if (image.shape[1], image.shape[0]) != fit.image_size:
            raise InvalidInput(f"{source} holds an image that does not decode to its recorded size")
        values = [*fit.box, fit.score, rig_scale]
        if not np.isfinite(landmarks).all() or not all(np.isfinite(values)) or rig_scale <= 0:
            raise InvalidInput(f"{source} holds landmarks, a box or a rig scale that are not finite")
        check_fit(fit, rig_scale, source)
        return cls(image, fit, rig_scale, metadata)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the avatar as ``.fcavatar``, atomically."""
        atomic_write_bytes(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Avatar:
        data, name = read_input(path, "avatar")
        return cls.from_bytes(data, source=name)
