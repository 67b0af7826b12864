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
from facecast.face.landmarks import NUM_LANDMARKS, FaceFit, fit_face
from facecast.fileio import atomic_write_bytes, read_document, read_input

FCAVATAR_FORMAT = "facecast.fcavatar"
FCAVATAR_VERSION = 1
MAX_AVATAR_SIDE = 2048


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

        Without ``face_box`` a huge image is decoded at a reduced size (fast); a face box is in the file's own
        pixels, so then the image is decoded whole.
        """
        from facecast.face.image import load_image

        if not isinstance(source, (bytes, bytearray)) and os.fspath(source).lower().endswith(".fcavatar"):
            return cls.load(source)
        name = name or ("the image" if isinstance(source, (bytes, bytearray)) else os.fspath(source))
        image = load_image(source, max_side=None if face_box else MAX_AVATAR_SIDE)
        return cls.from_image(image, face_box, source=name)

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
        doc = read_document(data, FCAVATAR_FORMAT, FCAVATAR_VERSION, ".fcavatar", source)
        try:
            landmarks = np.frombuffer(doc["landmarks"], "<f4").reshape(NUM_LANDMARKS, 3).astype(np.float32)
            image = cv2.imdecode(np.frombuffer(doc["image_png"], np.uint8), cv2.IMREAD_COLOR)
            x, y, w, h = (float(v) for v in doc["box"])
            width, height = (int(v) for v in doc["image_size"])
            fit = FaceFit(landmarks, (x, y, w, h), (width, height), float(doc["score"]), str(doc["source"]),
                          int(doc["faces_found"]))
            rig_scale = float(doc["rig_scale"])
        except (KeyError, ValueError, TypeError):
            raise InvalidInput(f"{source} is truncated or has wrong shapes") from None
        if image is None or (image.shape[1], image.shape[0]) != fit.image_size:
            raise InvalidInput(f"{source} holds an image that does not decode to its recorded size")
        if not np.isfinite(landmarks).all() or not np.isfinite(rig_scale) or rig_scale <= 0:
            raise InvalidInput(f"{source} holds landmarks or a rig scale that are not finite")
        return cls(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), fit, rig_scale, dict(doc.get("metadata") or {}))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the avatar as ``.fcavatar``, atomically."""
        atomic_write_bytes(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Avatar:
        data, name = read_input(path, "avatar")
        return cls.from_bytes(data, source=name)
