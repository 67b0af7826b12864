"""Capture: a talking video in, a :class:`MotionClip` (ARKit blendshapes, head pose) and its sound out.

1. Landmarks per frame: BlazeFace on the first frame (again only when the track is lost), then each frame's
   crop comes from the previous frame's mesh.
2. Head pose: every frame's rigid points (forehead, nose bridge, eye corners, temples) are aligned to a
   reference shape by a similarity Procrustes fit (Kabsch); the rotation gives yaw/pitch/roll, the rest of the
   motion is expression. Angles and translation are relative to the take's median pose (a video has no
   absolute "straight ahead").
3. Neutral face: the take's median aligned shape still holds some expression (a talking mouth is open half of
   the time). Weights are solved against it, the mouth-opening shapes allowed below zero; the mean of those
   weights over the take's most-closed 5 % of frames is the expression the median holds, which is taken off
   to give the neutral face.
4. Blendshape weights: bounded least squares in [0, 1] of the rig's basis (:class:`facecast.face.portrait_rig.Rig`)
   against each frame's displacement from the neutral face, with a small ridge term and a temporal smoothness
   term, solved for all frames at once by an accelerated projected-gradient method.
5. Curves are resampled from the video's frame times to the clip's fps (the video's, snapped to 24/25/30/60,
   unless asked otherwise).

Eye rotations stay zero: the 468-point mesh has no irises.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from facecast.audio import Audio
from facecast.errors import AudioError, InvalidInput
from facecast.face import topology as T
from facecast.face.detector import FULL_RANGE, SHORT_RANGE, detect_faces
from facecast.face.landmarks import MIN_FACE_SCORE, FaceMesh, Roi, check_face_box, roi_from_box, roi_from_landmarks
from facecast.face.portrait_rig import Rig, face_frame
from facecast.face.runtime import TfliteModel
from facecast.fileio import open_video_file
from facecast.motion import (
    BLENDSHAPES,
    CHANNEL_INDEX,
    FPS_OPTIONS,
    NUM_BLENDSHAPES,
    NUM_CHANNELS,
    MotionClip,
    check_fps,
)

CAPTURE_VERSION = "1"
# Points the blendshapes barely move: forehead, nose bridge and tip, eye corners, temples, upper cheekbones.
RIGID_POINTS = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 109, 67, 103, 54, 21, 338, 297, 332, 284, 251, 33, 263,
                133, 362, 127, 356, 234, 454, 162, 389, 116, 345, 117, 346, 143, 372)
DEPTH_WEIGHT = 0.3  # the mesh's z is less certain than x, y
RIDGE = 1e-3  # ridge weight relative to the basis' mean energy: keeps near-duplicate shapes from trading off
# Shapes that can mimic a primary one (lip raisers and closers mimic the jaw; EyeLook* lid shifts mimic blinks
# and squints, and the mesh has no irises to tell them apart) pay more, so the primary shape carries the motion.
SECONDARY = ("MouthClose", "MouthUpperUpLeft", "MouthUpperUpRight", "MouthLowerDownLeft", "MouthLowerDownRight",
             "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper", "EyeLookDownLeft",
             "EyeLookDownRight", "EyeLookUpLeft", "EyeLookUpRight", "EyeLookInLeft", "EyeLookInRight",
             "EyeLookOutLeft", "EyeLookOutRight")
SECONDARY_RIDGE = 20.0
SMOOTHNESS = 0.05  # temporal term relative to the same energy: steadies noise, keeps a 3-frame blink
# Lip and lid contours are few among 468 points, yet they carry speech and blinks: they count this much more.
FEATURE_POINTS = frozenset(T.LIPS_INNER_UPPER + T.LIPS_INNER_LOWER + T.LIPS_OUTER_UPPER + T.LIPS_OUTER_LOWER
                           + T.LEFT_EYE_UPPER + T.LEFT_EYE_LOWER + T.RIGHT_EYE_UPPER + T.RIGHT_EYE_LOWER)
FEATURE_WEIGHT = 6.0
NEUTRAL_PERCENTILE = 5.0
# The expression a median face may hold: an open jaw (talking), open lips. Only these may go below zero when
# the neutral face is estimated; letting every channel do so makes opposite shapes (smile, frown) trade off.
HELD_CHANNELS = ("JawOpen", "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight")
HELD_LOWER = np.array([-1.0 if name in HELD_CHANNELS else 0.0 for name in BLENDSHAPES])
RIDGE_SCALE = np.array([SECONDARY_RIDGE if name in SECONDARY else 1.0 for name in BLENDSHAPES])
# The face-mesh model never quite shuts the lids: in a real blink (retalking_face_1.mp4, frames 111-113, eyes
# visibly closed) the lid gap shrinks by only 40 %, which the rig reads as EyeBlink 0.34. Blinks are scaled
# by this gain so a shut eye reads close to 1.
BLINK_GAIN = 2.5
METRES_PER_UNIT = 0.09  # an adult's outer-eye-corner distance, to turn face units into metres


@dataclass
class Capture:
    """What capture measured: the ``clip``, the video's ``audio`` (None without a sound track), per-video-frame
    ``landmarks`` [N, 468, 3] (NaN where no face was found), their ``frame_times`` [N] in seconds, and the
    ``mouth_opening`` per clip frame (inner-lip gap / inter-ocular distance, the raw geometric measure)."""

    clip: MotionClip
    audio: Audio | None
    landmarks: np.ndarray
    frame_times: np.ndarray
    mouth_opening: np.ndarray


class FaceTracker:
    """Landmarks frame after frame: detect once, then crop each frame around the previous frame's mesh."""

    def __init__(self, face_box: Sequence[float] | None = None, threads: int = 1) -> None:
        self.mesh = FaceMesh(TfliteModel("face_landmark.tflite", threads))
        self.face_box = face_box
        self.roi: Roi | None = None

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """The frame's landmarks [468, 3], or None when no face is found."""
        if self.roi is None:
            self.roi = self._find(rgb)
            if self.roi is None:
                return None
        points, score = self.mesh.run(rgb, self.roi)
        if score < MIN_FACE_SCORE:  # the face moved out of the crop (or away): look for it afresh
            self.roi = self._find(rgb)
            if self.roi is None:
                return None
            points, score = self.mesh.run(rgb, self.roi)
            if score < MIN_FACE_SCORE and self.face_box is None:
                self.roi = None
                return None
        self.roi = roi_from_landmarks(points)
        return points

    def _find(self, rgb: np.ndarray) -> Roi | None:
        if self.face_box is not None:
            box = check_face_box(self.face_box, rgb.shape[1], rgb.shape[0])
            points, _ = self.mesh.run(rgb, roi_from_box(box))
            return roi_from_landmarks(points)
        detections = detect_faces(rgb, SHORT_RANGE) or detect_faces(rgb, FULL_RANGE)
        if not detections:
            return None
        points, _ = self.mesh.run(rgb, roi_from_box(detections[0].box, detections[0].keypoints))
        return roi_from_landmarks(points)


def capture_video(
    path: str | os.PathLike[str],
    fps: int | None = None,
    face_box: Sequence[float] | None = None,
    progress: bool | Callable[[int, int], None] = True,
    threads: int = 1,
) -> Capture:
    """Capture motion and sound from a video file (see the module docstring for the method).

    ``fps``: the clip's frame rate (default: the video's, snapped to the nearest of 24/25/30/60).
    ``face_box`` (x, y, w, h) finds the face when the detector does not. ``progress``: True for a progress
    bar on stderr, or a callback ``(frames_done, frames_total)``. A video without sound is captured with a
    warning; a file without a video stream, or with no face in any frame, raises :class:`InvalidInput`.
    """
    name = os.fspath(path)
    if fps is not None:
        check_fps(fps)
    landmarks, times, video_fps, audio_rate = _track(name, face_box, progress, threads)
    valid = np.isfinite(landmarks[:, 0, 0])
    if not valid.any():
        raise InvalidInput(f"no face found in any frame of {name}; give the face box with --face-box x,y,w,h")
    if valid.mean() < 0.5:
        warnings.warn(f"a face was found in only {valid.mean():.0%} of the frames of {name}", stacklevel=2)
    values, translation, opening = solve_motion(landmarks[valid])
    out_fps = fps or min(FPS_OPTIONS, key=lambda option: abs(option - video_fps))
    clip_times = np.arange(int(np.floor(times[-1] * out_fps + 1e-6)) + 1) / out_fps
    audio = _load_sound(name, audio_rate)
    metadata = {"animator": "capture", "version": CAPTURE_VERSION, "source": os.path.basename(name),
                "video_fps": float(video_fps), "face_found_share": float(valid.mean())}
    if audio is not None:
        metadata.update(audio_sha256=audio.sha256, sample_rate=audio.sample_rate, audio_seconds=audio.duration)
    clip = MotionClip(out_fps, _resample(values, times[valid], clip_times),
                      _resample(translation, times[valid], clip_times), metadata)
    return Capture(clip, audio, landmarks, times, _resample(opening[:, None], times[valid], clip_times)[:, 0])


def _track(name: str, face_box: Sequence[float] | None, progress: bool | Callable[[int, int], None],
           threads: int) -> tuple[np.ndarray, np.ndarray, float, int | None]:
    """Landmarks [N, 468, 3] (NaN without a face), frame times [N], the video's fps, the sound's rate or None."""
    import av
    from tqdm import tqdm

    if not os.path.isfile(name):
        raise InvalidInput(f"cannot read video {name}: no such file")
    with open_video_file(name) as container:
        if not container.streams.video:
            raise InvalidInput(f"{name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        video_fps = float(stream.average_rate or stream.guessed_rate or 30)
        audio_rate = container.streams.audio[0].rate if container.streams.audio else None
        total = int(stream.frames or 0)
        tracker = FaceTracker(face_box, threads)
        points: list[np.ndarray] = []
        times: list[float] = []
        bar = tqdm(total=total or None, unit="frame", desc="capturing", disable=progress is not True)
        try:
            for frame in container.decode(stream):
                found = tracker(frame.to_ndarray(format="rgb24"))
                points.append(found if found is not None else np.full((468, 3), np.nan, np.float32))
                times.append(float(frame.time) if frame.time is not None else len(times) / video_fps)
                bar.update(1)
                if callable(progress):
                    progress(len(times), total)
        except av.FFmpegError as e:
            raise InvalidInput(f"{name} is corrupt after frame {len(times)} ({e})") from None
        finally:
            bar.close()
    if not points:
        raise InvalidInput(f"{name} has a video stream without frames")
    times_array = np.asarray(times, np.float64)
    return np.stack(points).astype(np.float32), times_array - times_array[0], video_fps, audio_rate


def _load_sound(name: str, rate: int | None) -> Audio | None:
    from facecast.audio import load_audio

    if rate is None:
        warnings.warn(f"{name} has no audio stream: capturing motion only", stacklevel=3)
        return None
    try:
        return load_audio(name, rate=rate, max_seconds=24 * 3600, allow_silence=True)
    except AudioError as e:
        warnings.warn(f"the sound of {name} cannot be used ({e}): capturing motion only", stacklevel=3)
        return None


def solve_motion(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Channel values [N, 61], head translation [N, 3] (metres) and mouth opening [N] from landmarks [N, 468, 3]."""
    reference = landmarks[0].astype(np.float64)
    for _ in range(2):  # align to a reference, take the median, align again to the median
        aligned, rotations, offsets = align(landmarks, reference)
        reference = np.median(aligned, axis=0)
    basis = Rig().basis(reference)  # one basis for both solves, so they agree on what a closed mouth is
    signed = solve_weights(basis, aligned - reference, lower=HELD_LOWER)
    jaw = signed[:, CHANNEL_INDEX["JawOpen"]]
    closed = jaw <= np.percentile(jaw, NEUTRAL_PERCENTILE)  # the take's most-closed mouths, averaged together
    held = np.minimum(signed[closed].mean(axis=0), 0.0) * (HELD_LOWER < 0)
    neutral = reference + np.einsum("k,kpc->pc", held, basis)
    # The mouth shapes may dip a little below zero in the solve (then are cut at zero): with a hard bound a
    # closed mouth's small misfit would be pushed onto other shapes instead of reading as a closed jaw.
    weights = np.clip(solve_weights(basis, aligned - neutral, lower=HELD_LOWER * 0.25), 0.0, 1.0)

    frame = face_frame(neutral)
    values = np.zeros((len(landmarks), NUM_CHANNELS), np.float32)
    values[:, :NUM_BLENDSHAPES] = weights
    blinks = [CHANNEL_INDEX["EyeBlinkLeft"], CHANNEL_INDEX["EyeBlinkRight"]]
    values[:, blinks] = np.clip(values[:, blinks] * BLINK_GAIN, 0.0, 1.0)
    angles = head_angles(rotations, frame.axes)
    values[:, [CHANNEL_INDEX[n] for n in ("HeadYaw", "HeadPitch", "HeadRoll")]] = angles - np.median(angles, axis=0)
    translation = (offsets - np.median(offsets, axis=0)) @ frame.axes.T / frame.scale * METRES_PER_UNIT
    translation[:, 1] *= -1  # y up
    gap = np.linalg.norm(landmarks[:, T.UPPER_LIP_MID, :2] - landmarks[:, T.LOWER_LIP_MID, :2], axis=1)
    eyes = np.linalg.norm(landmarks[:, T.LEFT_EYE_OUTER, :2] - landmarks[:, T.RIGHT_EYE_OUTER, :2], axis=1)
    return values, translation.astype(np.float32), (gap / eyes).astype(np.float32)


def align(landmarks: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Similarity-align every frame's rigid points to ``reference``.

    Returns the aligned shapes [N, 468, 3] in the reference's coordinates, the head rotations [N, 3, 3] (frame =
    rotation applied to the reference, in image axes) and the head offsets [N, 3] (pixels).
    """
    rigid = list(RIGID_POINTS)
    source = landmarks[:, rigid].astype(np.float64)
    target = reference[rigid]
    source_mean, target_mean = source.mean(1, keepdims=True), target.mean(0)
    src, tgt = source - source_mean, target - target_mean
    u, s, vt = np.linalg.svd(np.einsum("npi,pj->nij", src, tgt))  # Kabsch, batched
    sign = np.sign(np.linalg.det(u @ vt))
    fix = np.ones((len(landmarks), 3))
    fix[:, 2] = sign
    to_reference = np.einsum("nij,nj,njk->nik", u, fix, vt)  # applied as row vectors: x @ R
    scale = (s * fix).sum(1) / (src**2).sum((1, 2))
    aligned = np.einsum("npi,nij->npj", landmarks - source_mean, to_reference) * scale[:, None, None] + target_mean
    offsets = source_mean[:, 0] - target_mean
    return aligned, to_reference, offsets  # frame ~ reference @ R^T: as a column operator the head turned by R


def head_angles(rotations: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Yaw, pitch, roll [N, 3] (the rig's conventions) of image-axis rotations [N, 3, 3] for face ``axes``."""
    local = np.einsum("ij,njk,lk->nil", axes, rotations, axes)  # the rotation in face axes
    # The rig composes roll(w) . pitch(u) . yaw(v) (facecast.face.portrait_rig.rotation); read the three angles back.
    pitch = -np.arcsin(np.clip(local[:, 2, 1], -1.0, 1.0))
    yaw = np.arctan2(-local[:, 2, 0], local[:, 2, 2])
    roll = np.arctan2(-local[:, 0, 1], local[:, 1, 1])
    return np.stack([yaw, pitch, roll], 1)


def solve_weights(basis: np.ndarray, residuals: np.ndarray, lower: float | np.ndarray) -> np.ndarray:
    """Weights [N, 52] in [lower, 1] (``lower`` a number or one per blendshape) minimising, over all frames at once,
    sum_t |basis^T w_t - residual_t|^2 + ridge |w_t|^2 + smoothness |w_t - w_(t-1)|^2 (FISTA, projected)."""
    scale = np.ones((468, 3))
    scale[:, 2] = DEPTH_WEIGHT
    scale[list(FEATURE_POINTS)] *= FEATURE_WEIGHT
    matrix = (basis * scale).reshape(NUM_BLENDSHAPES, -1).astype(np.float64)
    targets = (residuals * scale).reshape(len(residuals), -1)
    gram = matrix @ matrix.T
    energy = float(np.trace(gram)) / NUM_BLENDSHAPES
    ridge, smooth = RIDGE * energy, SMOOTHNESS * energy
    gram[np.diag_indices_from(gram)] += ridge * RIDGE_SCALE
    linear = targets @ matrix.T
    step = 1.0 / (np.linalg.eigvalsh(gram)[-1] + 4 * smooth)
    weights = np.clip(np.linalg.solve(gram, linear.T).T, lower, 1.0)
    momentum, previous, t = weights.copy(), weights.copy(), 1.0
    for _ in range(300):
        gradient = momentum @ gram - linear
        if len(weights) > 1:
            diff = np.diff(momentum, axis=0)
            gradient[:-1] -= smooth * diff
            gradient[1:] += smooth * diff
        weights = np.clip(momentum - step * gradient, lower, 1.0)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        momentum = weights + (t - 1) / t_next * (weights - previous)
        previous, t = weights, t_next
    return weights.astype(np.float32)


def _resample(values: np.ndarray, times: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """Linear interpolation of [N, C] curves from ``times`` to ``new_times`` (held at the ends)."""
    return np.stack([np.interp(new_times, times, values[:, c]) for c in range(values.shape[1])], 1).astype(
        np.float32)


