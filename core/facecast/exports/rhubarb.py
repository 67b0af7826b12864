"""Mouth cues in Rhubarb Lip Sync's formats (TSV, XML, JSON), so 2-D pipelines built on Rhubarb switch unchanged.

Rhubarb's nine mouth shapes, read off any animator's blendshape curves frame by frame (so they follow the take
exactly, whichever animator made it): A closed with pressure (P, B, M), B slightly open with clenched teeth
(most consonants), C open (EH, AE), D wide open (AA), E slightly rounded (AO, ER), F puckered (UW, OW, W),
G upper teeth on the lower lip (F, V), H tongue raised or out (L), X at rest. Runs of one shape become cues;
cues shorter than :data:`MIN_CUE_SECONDS` join their predecessor, as Rhubarb's never flicker.

The files are written exactly as Rhubarb writes them (see its README, "Output formats"): times in seconds with
two decimals; TSV ends with a line at the clip's end (truncated to 0.01 s) holding X; XML and JSON carry
``metadata`` (``soundFile``, ``duration``) and each cue's start and end. Plain ``.json`` stays facecast's own
motion JSON, so Rhubarb's JSON is ``.rhubarb.json``.
"""

from __future__ import annotations

import json
import math
import os
from xml.sax.saxutils import escape

import numpy as np

from facecast.fileio import atomic_write_text
from facecast.motion import CHANNEL_INDEX, MotionClip

SHAPES = "ABCDEFGHX"
MIN_CUE_SECONDS = 0.05


def _curve(clip: MotionClip, *names: str) -> np.ndarray:
    return np.mean([clip.values[:, CHANNEL_INDEX[n]] for n in names], axis=0)


def mouth_shapes(clip: MotionClip) -> list[str]:
    """One Rhubarb shape letter per frame of ``clip``."""
    jaw = _curve(clip, "JawOpen")
    closure = np.maximum(_curve(clip, "MouthClose") * 2, _curve(clip, "MouthPressLeft", "MouthPressRight"))
    lipbite = _curve(clip, "MouthRollLower")
    pucker = _curve(clip, "MouthPucker")
    funnel = _curve(clip, "MouthFunnel")
    tongue = _curve(clip, "TongueOut")
    lips_apart = _curve(clip, "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight")
    shapes = []
    for i in range(clip.num_frames):
        if jaw[i] < 0.2 and closure[i] > 0.25:
            shape = "A"
        elif jaw[i] < 0.25 and lipbite[i] > 0.25:
            shape = "G"
        elif pucker[i] > 0.4 and jaw[i] < 0.3:
            shape = "F"
        elif funnel[i] > 0.25 or (pucker[i] > 0.3 and jaw[i] >= 0.3):
            shape = "E"
        elif tongue[i] > 0.25:
            shape = "H"
        elif jaw[i] >= 0.4:
            shape = "D"
        elif jaw[i] >= 0.22:
            shape = "C"
        elif jaw[i] >= 0.09 or lips_apart[i] > 0.08:
            shape = "B"
        else:
            shape = "X"
        shapes.append(shape)
    return shapes


def mouth_cues(clip: MotionClip) -> list[tuple[float, float, str]]:
    """(start, end, shape) cues covering the whole clip, times rounded to 0.01 s as Rhubarb writes them."""
    shapes = mouth_shapes(clip)
    runs: list[list] = []  # [first frame, frame after the last, shape]
    for i, shape in enumerate(shapes):
        if runs and runs[-1][2] == shape:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1, shape])
    merged: list[list] = []
    for run in runs:
        if merged and ((run[1] - run[0]) / clip.fps < MIN_CUE_SECONDS or merged[-1][2] == run[2]):
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    end = _duration(clip)
    cues = [(round(a / clip.fps, 2), round(min(b / clip.fps, end), 2), s) for a, b, s in merged]
    kept: list[tuple[float, float, str]] = []
    for start, stop, shape in cues:  # the clip's end can cut the last cue short: it joins the one before
        if kept and (stop - start < MIN_CUE_SECONDS - 1e-9 or kept[-1][2] == shape):
            kept[-1] = (kept[-1][0], stop, kept[-1][2])
        elif stop > start:
            kept.append((start, stop, shape))
    cues = kept
    if cues:  # the first cue starts at 0.00 and the last ends at the clip's end, as in Rhubarb's files
        cues[0] = (0.0, cues[0][1], cues[0][2])
        cues[-1] = (cues[-1][0], end, cues[-1][2])
    return cues


def _duration(clip: MotionClip) -> float:
    """The recording's length (``audio_seconds`` in the metadata, else the clip's), truncated to 0.01 s."""
    seconds = clip.metadata.get("audio_seconds")
    seconds = float(seconds) if isinstance(seconds, (int, float)) and 0 < seconds <= clip.duration else clip.duration
    return math.floor(seconds * 100 + 1e-6) / 100


def _sound_file(clip: MotionClip) -> str:
    value = clip.metadata.get("sound_file")
    return value if isinstance(value, str) else ""


def cues_to_tsv(clip: MotionClip) -> str:
    lines = [f"{start:.2f}\t{shape}" for start, _, shape in mouth_cues(clip)]
    lines.append(f"{_duration(clip):.2f}\tX")
    return "\n".join(lines) + "\n"


def cues_to_xml(clip: MotionClip) -> str:
    cues = "".join(f'    <mouthCue start="{a:.2f}" end="{b:.2f}">{s}</mouthCue>\n' for a, b, s in mouth_cues(clip))
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rhubarbResult>\n  <metadata>\n'
            f"    <soundFile>{escape(_sound_file(clip))}</soundFile>\n    <duration>{_duration(clip):.2f}</duration>\n"
            f"  </metadata>\n  <mouthCues>\n{cues}  </mouthCues>\n</rhubarbResult>\n")


def cues_to_json(clip: MotionClip) -> str:
    cues = ",\n".join(f'    {{ "start": {a:.2f}, "end": {b:.2f}, "value": "{s}" }}' for a, b, s in mouth_cues(clip))
    return ('{\n  "metadata": {\n'
            f'    "soundFile": {json.dumps(_sound_file(clip))},\n    "duration": {_duration(clip):.2f}\n'
            f"  }},\n  \"mouthCues\": [\n{cues}\n  ]\n}}\n")


def write_rhubarb_tsv(clip: MotionClip, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, cues_to_tsv(clip))


def write_rhubarb_xml(clip: MotionClip, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, cues_to_xml(clip))


def write_rhubarb_json(clip: MotionClip, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, cues_to_json(clip))
