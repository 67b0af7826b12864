"""Coarticulation: phones with timings -> articulator tracks -> ARKit mouth curves.

Cohen & Massaro's dominance model: every phone pulls each articulator towards its viseme target with a weight
(its dominance) that is constant during the phone and decays exponentially before it (anticipation, slow: the
lips start shaping about 100 ms ahead) and after it (carry-over, faster). An articulator's value is the
dominance-weighted mean of the targets. The jaw and the lips have separate dominances, so a rounded vowel
rounds the weak consonants around it and vowels set the jaw height. Then p/b/m are forced shut for at least
one frame, whatever their neighbours and however short they are.
"""

from __future__ import annotations

import numpy as np

from facecast.motion import CHANNEL_INDEX as C
from facecast.motion import NUM_CHANNELS
from facecast.phonemes import Phone
from facecast.phonemes.inventory import BILABIALS, PHONE_ID
from facecast.phonemes.visemes import ARTICULATORS, PHONE_DOMINANCE, PHONE_TARGETS

LEAD_S = 0.02  # the visible gesture leads the sound it makes
ANTICIPATION_TAU_S = 0.045  # dominance before a phone: e^-1 at 45 ms, about 10 % at 100 ms
CARRYOVER_TAU_S = 0.03
JAW_SLOWNESS = 2.5  # the jaw is heavier and slower than the lips: its dominance reaches 2.5 times further
REACH_S = 0.25  # beyond this distance a phone no longer counts
CLOSED_JAW = 0.08  # jaw opening allowed while the lips are shut for p/b/m
MIN_CLOSURE_S = 0.07  # lips stay shut at least this long for /p b m/ (real closures last 70-120 ms)
_A = {name: i for i, name in enumerate(ARTICULATORS)}


def articulator_tracks(phones: list[Phone], times: np.ndarray, fps: int) -> np.ndarray:
    """Articulator values [T, 7] (see :data:`ARTICULATORS`) at frame ``times`` (frames of ``fps``)."""
    out = np.zeros((len(times), len(ARTICULATORS)), np.float32)
    if not phones or len(times) == 0:
        return out
    starts = np.array([p.start for p in phones]) - LEAD_S
    ends = np.array([p.end for p in phones]) - LEAD_S
    ids = np.array([PHONE_ID[p.symbol] for p in phones])
    targets, dominance = PHONE_TARGETS[ids], PHONE_DOMINANCE[ids]
    for lo in range(0, len(times), 512):  # [T, P] in blocks keeps memory flat on long clips
        t = times[lo:lo + 512, None]
        before, after = np.maximum(starts[None] - t, 0), np.maximum(t - ends[None], 0)
        within = (before < REACH_S) & (after < REACH_S)
        lip_w = np.exp(-before / ANTICIPATION_TAU_S - after / CARRYOVER_TAU_S) * within * dominance[None, :, 1]
        jaw_w = np.exp(-(before / ANTICIPATION_TAU_S + after / CARRYOVER_TAU_S) / JAW_SLOWNESS) * within
        jaw_w *= dominance[None, :, 0]
        out[lo:lo + 512, 0] = (jaw_w @ targets[:, 0]) / (jaw_w.sum(1) + 1e-6)
        out[lo:lo + 512, 1:] = (lip_w @ targets[:, 1:]) / (lip_w.sum(1, keepdims=True) + 1e-6)
    enforce_bilabial_closure(out, phones, times, fps)
    return out


def enforce_bilabial_closure(tracks: np.ndarray, phones: list[Phone], times: np.ndarray, fps: int) -> None:
    """Shut the lips on every frame inside each p/b/m (at least :data:`MIN_CLOSURE_S` around its middle,
    shifted by the lead) and on the frame whose span
    ``[i/fps, (i+1)/fps)`` holds the phone's middle, so even a phone shorter than a frame gets one closed
    frame. Only frames within ``times`` are touched."""
    step = 1.0 / fps
    for phone in phones:
        if phone.symbol not in BILABIALS:
            continue
        half = max(phone.duration, MIN_CLOSURE_S) / 2
        inside = (times >= phone.center - half - LEAD_S) & (times < phone.center + half - LEAD_S)
        inside |= (times <= phone.center) & (phone.center < times + step)
        tracks[inside, _A["close"]] = 1.0
        tracks[inside, _A["jaw"]] = np.minimum(tracks[inside, _A["jaw"]], CLOSED_JAW)
        tracks[inside, _A["funnel"]] = 0.0
        tracks[inside, _A["lipbite"]] = 0.0


def mouth_curves(tracks: np.ndarray, loudness_gain: np.ndarray, intensity: float) -> np.ndarray:
    """ARKit channels [T, 61] for articulator ``tracks``; ``loudness_gain`` [T] scales the opening."""
    jaw, close, round_, funnel, spread, lipbite, tongue = (tracks[:, i] for i in range(len(ARTICULATORS)))
    opening = jaw * loudness_gain * intensity
    open_lips = (1 - close) * (1 - lipbite)
    values = np.zeros((len(tracks), NUM_CHANNELS), np.float32)
    values[:, C["JawOpen"]] = opening
    values[:, C["MouthClose"]] = close * opening  # lips meet while the jaw is (slightly) open
    values[:, C["MouthFunnel"]] = funnel * (1 - close) * intensity
    values[:, C["MouthPucker"]] = round_ * intensity
    values[:, C["MouthRollLower"]] = (0.55 * lipbite + 0.15 * close) * intensity
    values[:, C["MouthRollUpper"]] = 0.1 * close * intensity
    values[:, C["TongueOut"]] = 0.35 * tongue * intensity
    for side in ("Left", "Right"):
        values[:, C[f"MouthStretch{side}"]] = 0.5 * spread * intensity
        values[:, C[f"MouthSmile{side}"]] = 0.12 * spread * intensity
        values[:, C[f"MouthLowerDown{side}"]] = 0.45 * opening * open_lips
        values[:, C[f"MouthUpperUp{side}"]] = 0.15 * opening * open_lips + 0.2 * lipbite * intensity
        values[:, C[f"MouthPress{side}"]] = 0.3 * close * intensity
    return values
