"""Live Link Face CSV takes, written and read exactly as the iPhone app does.

The app's header is ``Timecode,BlendShapeCount,`` then 61 names in its own order, which swaps the Left/Right
pairs of JawLeft/JawRight and MouthLeft/MouthRight relative to the packet order. Columns are therefore
written and read by name, never by position. Timecode is SMPTE ``HH:MM:SS:FF.mmm`` (frame and a fraction of a
frame) at the take's frame rate; head and eye angles are written in the app's scaled units.
"""

from __future__ import annotations

import csv
import io
import math
import os

import numpy as np

from facecast.errors import InvalidInput
from facecast.fileio import atomic_write_text
from facecast.motion import (
    CHANNEL_INDEX,
    FPS_OPTIONS,
    NUM_CHANNELS,
    MotionClip,
    from_livelink_units,
    to_livelink_units,
)

CSV_COLUMNS: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft", "EyeSquintLeft",
    "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "EyeSquintRight", "EyeWideRight", "JawForward", "JawRight", "JawLeft", "JawOpen", "MouthClose", "MouthFunnel",
    "MouthPucker", "MouthRight", "MouthLeft", "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft",
    "MouthFrownRight", "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper", "MouthPressLeft", "MouthPressRight",
    "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight", "BrowDownLeft",
    "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft",
    "CheekSquintRight", "NoseSneerLeft", "NoseSneerRight", "TongueOut", "HeadYaw", "HeadPitch", "HeadRoll",
    "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)  # fmt: skip
HEADER = ("Timecode", "BlendShapeCount") + CSV_COLUMNS
_ORDER = np.array([CHANNEL_INDEX[name] for name in CSV_COLUMNS])


def format_timecode(seconds: float, fps: int) -> str:
    """SMPTE ``HH:MM:SS:FF.mmm`` for a time of day in seconds at ``fps`` (wraps at 24 h as a clock does)."""
    total_frames = seconds * fps
    whole = math.floor(total_frames + 1e-6)
    fraction = max(0.0, total_frames - whole)
    frames = whole % fps
    secs = (whole // fps) % 86400
    return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}:{frames:02d}.{min(int(fraction * 1000), 999):03d}"


def parse_timecode(text: str, fps: int) -> float:
    """Seconds from a ``HH:MM:SS:FF.mmm`` (or ``HH:MM:SS:FF``) timecode at ``fps``."""
    try:
        hh, mm, ss, ff = text.strip().split(":")
        return int(hh) * 3600 + int(mm) * 60 + int(ss) + float(ff) / fps
    except ValueError:
        raise InvalidInput(f"bad timecode {text!r}; expected HH:MM:SS:FF.mmm") from None


def parse_timecode_start(text: str, fps: int) -> float:
    """Seconds since midnight of a strict ``HH:MM:SS:FF`` (optionally ``.mmm``) start timecode at ``fps``."""
    parts = text.strip().split(":")
    fields = parts[:3] + parts[3].split(".", 1) if len(parts) == 4 else []
    if len(fields) not in (4, 5) or not all(f.isdigit() for f in fields):
        raise InvalidInput(f"bad timecode {text!r}; expected HH:MM:SS:FF, e.g. 10:00:00:00")
    hh, mm, ss, ff = (int(f) for f in fields[:4])
    if hh > 23 or mm > 59 or ss > 59 or ff >= fps:
        raise InvalidInput(f"timecode {text!r} is out of range at {fps} fps (hours 0-23, minutes and seconds "
                           f"0-59, frames 0-{fps - 1})")
    fraction = int(fields[4]) / 10 ** len(fields[4]) if len(fields) == 5 else 0.0
    return hh * 3600 + mm * 60 + ss + (ff + fraction) / fps


def clip_to_csv(clip: MotionClip, start_seconds: float | None = None) -> str:
    """The take as Live Link Face CSV text."""
    start = float(clip.metadata.get("timecode_start", 0.0) if start_seconds is None else start_seconds)
    rows = to_livelink_units(clip.values)[:, _ORDER]
    out = io.StringIO()
    out.write(",".join(HEADER) + "\n")
    for i, row in enumerate(rows):
        out.write(format_timecode(start + i / clip.fps, clip.fps) + f",{NUM_CHANNELS},")
        out.write(",".join(f"{v:.6g}" for v in row) + "\n")
    return out.getvalue()


def write_csv(clip: MotionClip, path: str | os.PathLike[str], start_seconds: float | None = None) -> None:
    """Write a Live Link Face CSV take atomically."""
    atomic_write_text(path, clip_to_csv(clip, start_seconds))


def read_csv(path: str | os.PathLike[str], fps: int | None = None) -> MotionClip:
    """Read a Live Link Face CSV take (ours or the app's). ``fps`` is inferred from the timecodes if not given."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"cannot read CSV take {os.fspath(path)}: {e}") from None
    return parse_csv_rows(rows, fps, os.fspath(path))


def parse_csv_rows(rows: list[list[str]], fps: int | None, source: str) -> MotionClip:
    if not rows or rows[0][:1] != ["Timecode"]:
        raise InvalidInput(f"{source} is not a Live Link Face CSV take (its header must start with Timecode)")
    header = [h.strip() for h in rows[0]]
    missing = [name for name in CSV_COLUMNS if name not in header]
    if missing:
        raise InvalidInput(f"{source} lacks column(s): {', '.join(missing[:5])}{'…' if len(missing) > 5 else ''}")
    body = [r for r in rows[1:] if r and any(cell.strip() for cell in r)]
    columns = [header.index(name) for name in CSV_COLUMNS]
    values = np.zeros((len(body), NUM_CHANNELS), np.float32)
    for i, row in enumerate(body):
        try:
            values[i, _ORDER] = [float(row[c]) for c in columns]
        except (ValueError, IndexError):
            raise InvalidInput(f"{source} row {i + 2} has a missing or non-numeric value") from None
    codes = [row[0] for row in body]
    fps = fps or infer_fps(codes)
    start = parse_timecode(codes[0], fps) if codes else 0.0
    return MotionClip(fps, from_livelink_units(values), metadata={"timecode_start": start, "source": source})


def infer_fps(timecodes: list[str]) -> int:
    """The frame rate whose frame numbers make the timecodes step by one frame most often."""
    frames = []
    for code in timecodes[:600]:
        try:
            frames.append(int(code.split(":")[3].split(".")[0]))
        except (IndexError, ValueError):
            raise InvalidInput(f"bad timecode {code!r}; expected HH:MM:SS:FF.mmm") from None
    top = max(frames, default=0)
    return next((fps for fps in FPS_OPTIONS if top < fps and (fps > 30 or top >= fps - 6)),
                60 if top >= 30 else 30)
