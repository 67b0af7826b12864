"""Portrait faces: fitting the 468-point face mesh, the ARKit rig on it, avatars, and capture from video.

Public interface (stable; the renderer and the daemon build on it):

- ``load_image(path_or_bytes) -> np.ndarray``: RGB uint8 [H, W, 3]; grayscale, RGBA (over white), palette and
  16-bit images are converted, EXIF orientation applied; corrupt files raise :class:`InvalidInput`.
- ``fit_face(image, face_box=None) -> FaceFit``: ``image`` RGB uint8 [H, W, 3]; ``face_box`` (x, y, w, h) pixels
  skips detection (paintings, cartoons). ``FaceFit.landmarks`` float32 [468, 3] in image pixels: x right,
  y down, z towards the camera in the same pixel scale as x (mediapipe's z negated); ``box`` (x, y, w, h) the
  landmarks' bounding box; ``image_size`` (width, height); ``score`` face-presence probability;
  ``interocular`` outer-eye-corner distance (pixels). No face: InvalidInput "no face found in IMAGE; give the
  face box with --face-box x,y,w,h". Several faces: the largest is used and a warning says how many.
- ``Avatar(image, fit, rig_scale, metadata)``: ``Avatar.from_image(image, face_box)``, ``save(path)`` /
  ``Avatar.load(path)`` (``.fcavatar``, versioned msgpack, atomic), ``to_bytes()`` / ``Avatar.from_bytes``.
- ``Rig().deform(rest [468, 3], values) -> [468, 3]``: ``values`` [52] blendshapes or [61] motion channels (head
  rotation applied too), or [T, 52] / [T, 61] giving [T, 468, 3]. ``Rig().iris(rest, values)`` -> [.., 2, 3]
  iris centres (subject's left eye first, as the channels) moved by the eye yaw/pitch channels and the head;
  ``Rig().iris_radius(rest)`` in pixels. ``Rig().basis(rest)`` -> [52, 468, 3] displacement per blendshape.
- ``capture_video(path, fps=None) -> Capture`` (``clip``: MotionClip, ``audio``: Audio or None, per-frame
  ``landmarks``): motion from a talking video (see :mod:`facecast.face.capture`).
"""

from facecast.face.avatar import Avatar
from facecast.face.image import load_image
from facecast.face.landmarks import FaceFit, fit_face, parse_face_box
from facecast.face.portrait_rig import Rig

__all__ = ["Avatar", "FaceFit", "Rig", "fit_face", "load_image", "parse_face_box"]
