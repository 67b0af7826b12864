"""Live Link Face takes as animation curves: the parts of the Unreal import that need no Unreal.

Standard library only, because Unreal's editor Python has neither numpy nor facecast. ``unreal_import_take.py``
turns what this module returns into an Animation Sequence; the facecast test suite tests this module directly.

    take = load_take("takes/20250101_Ada_3")          # a take folder, or the CSV itself
    for curve in take_curves(take, style="livelink", tolerance=0.001):
        curve.name, curve.times, curve.values           # seconds from the first frame, reduced keys
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass

# Head and eye angles in takes are in the app's scaled units: 1.0 is this many degrees (pi/2 radians). It must
# equal facecast.motion.LIVELINK_ANGLE_SCALE in degrees; the test suite checks that they agree.
ANGLE_UNIT_DEGREES = 90.0
ROTATION_CURVES = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                   "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
NAME_STYLES = ("livelink", "arkit", "prefixed", "metahuman")
# The ARKit -> MetaHuman face board table, written by facecast.exports.metahuman.write_table (a test keeps the
# two equal): each ARKit column adds weight x its value to CTRL_expressions_* curves, as mh_arkit_mapping_pose does.
FACE_BOARD_TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metahuman_face_board.json")
ANGLE_UNITS = ("livelink", "degrees", "radians")


class TakeError(ValueError):
    """A take that cannot be read, with a message that names the problem."""


@dataclass
class Take:
    """A Live Link Face CSV take: ``columns`` maps each curve name to one value per frame."""

    path: str
    fps: int
    start_seconds: float  # time of day of the first frame
    columns: dict[str, list[float]]
    audio_path: str | None = None

    @property
    def num_frames(self) -> int:
        return len(next(iter(self.columns.values()), []))

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps


@dataclass
class Curve:
    name: str
    times: list[float]
    values: list[float]


def parse_timecode(text: str, fps: int) -> float:
    """Seconds from ``HH:MM:SS:FF`` or ``HH:MM:SS:FF.fff`` (the fraction is a fraction of a frame)."""
    try:
        hours, minutes, seconds, frames = text.strip().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + float(frames) / fps
    except ValueError:
        raise TakeError(f"bad timecode {text!r}; expected HH:MM:SS:FF.fff") from None


def guess_fps(timecodes: list[str]) -> int:
    """The take's frame rate from the highest frame number in its timecodes (the app records 30 or 60)."""
    highest = 0
    for code in timecodes:
        try:
            highest = max(highest, int(code.split(":")[3].split(".")[0]))
        except (IndexError, ValueError):
            raise TakeError(f"bad timecode {code!r}; expected HH:MM:SS:FF.fff") from None
    for fps in (24, 25, 30, 60):
        if highest < fps:
            return fps
    raise TakeError(f"frame number {highest} in the timecodes is too high for 24, 25, 30 or 60 fps")


def _take_metadata(folder: str) -> tuple[str | None, int | None]:
    """(CSV file name, frame rate) from take.json and video_metadata.json when the folder has them."""
    csv_name = fps = None
    take_json = os.path.join(folder, "take.json")
    if os.path.isfile(take_json):
        with open(take_json, encoding="utf-8") as f:
            meta = json.load(f)
        csv_name = f"{meta['slate']}_{meta['take']}_{meta['subject']}.csv"
    video_json = os.path.join(folder, "video_metadata.json")
    if os.path.isfile(video_json):
        with open(video_json, encoding="utf-8") as f:
            fps = int(round(json.load(f)["FrameRate"]))
    return csv_name, fps


def find_take_csv(path: str) -> tuple[str, int | None]:
    """The CSV of a take folder (named by its take.json, else its only CSV) and the frame rate if recorded."""
    if os.path.isfile(path):
        return path, None
    if not os.path.isdir(path):
        raise TakeError(f"{path} is neither a take folder nor a CSV file")
    csv_name, fps = _take_metadata(path)
    if csv_name and os.path.isfile(os.path.join(path, csv_name)):
        return os.path.join(path, csv_name), fps
    candidates = [n for n in sorted(os.listdir(path)) if n.lower().endswith(".csv") and n != "frame_log.csv"]
    if len(candidates) != 1:
        raise TakeError(f"{path} holds {len(candidates)} curve CSV files; expected exactly one")
    return os.path.join(path, candidates[0]), fps


def load_take(path: str, fps: int | None = None) -> Take:
    """Read a take folder or CSV; columns are matched by name, as Unreal's importer does."""
    csv_path, recorded_fps = find_take_csv(path)
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        rows = [row for row in csv.reader(f) if row and any(cell.strip() for cell in row)]
    if not rows or rows[0][0].strip() != "Timecode":
        raise TakeError(f"{csv_path} is not a Live Link Face CSV (its header must start with Timecode)")
    header = [cell.strip() for cell in rows[0]]
    names = [name for name in header[2:] if name]
    if not names:
        raise TakeError(f"{csv_path} has no curve columns")
    columns: dict[str, list[float]] = {name: [] for name in names}
    for line, row in enumerate(rows[1:], start=2):
        for name in names:
            try:
                columns[name].append(float(row[header.index(name)]))
            except (IndexError, ValueError):
                raise TakeError(f"{csv_path} line {line}: missing or non-numeric {name}") from None
    timecodes = [row[0] for row in rows[1:]]
    fps = fps or recorded_fps or guess_fps(timecodes)
    start = parse_timecode(timecodes[0], fps) if timecodes else 0.0
    wav = os.path.splitext(csv_path)[0] + ".wav"
    return Take(csv_path, fps, start, columns, wav if os.path.isfile(wav) else None)


def curve_name(name: str, style: str = "livelink", prefix: str = "", mapping: dict[str, str] | None = None) -> str:
    """The curve name on the skeleton for a take column.

    ``livelink``: as the Live Link Face source names curves (``EyeBlinkLeft``; MetaHuman's ARKit mapping pose
    uses these); ``arkit``: Apple's names (``eyeBlinkLeft``), used by many morph-target rigs; ``prefixed``:
    ``prefix`` + the Live Link name. ``mapping`` overrides single names.
    """
    if mapping and name in mapping:
        return mapping[name]
    if style == "livelink":
        return name
    if style == "arkit":
        return name[:1].lower() + name[1:]
    if style == "prefixed":
        return prefix + name
    raise TakeError(f"curve name style must be one of {', '.join(NAME_STYLES)}, not {style!r}")


def convert_angle(value: float, units: str) -> float:
    """A head or eye angle from the take's scaled units to ``units``."""
    if units == "livelink":
        return value
    if units == "degrees":
        return value * ANGLE_UNIT_DEGREES
    if units == "radians":
        return math.radians(value * ANGLE_UNIT_DEGREES)
    raise TakeError(f"angle units must be one of {', '.join(ANGLE_UNITS)}, not {units!r}")


def reduce_keys(times: list[float], values: list[float], tolerance: float) -> tuple[list[float], list[float]]:
    """Drop keys that linear interpolation between the kept ones reproduces within ``tolerance``.

    Ramer-Douglas-Peucker on the value axis: keep the first and last key, then split at the worst key until
    every dropped key is within ``tolerance``. ``tolerance <= 0`` keeps every key.
    """
    count = len(values)
    if tolerance <= 0 or count <= 2:
        return list(times), list(values)
    keep = [False] * count
    keep[0] = keep[-1] = True
    spans = [(0, count - 1)]
    while spans:
        first, last = spans.pop()
        t0, v0, t1, v1 = times[first], values[first], times[last], values[last]
        worst, worst_error = -1, tolerance
        for i in range(first + 1, last):
            line = v0 + (v1 - v0) * (times[i] - t0) / (t1 - t0)
            error = abs(values[i] - line)
            if error > worst_error:
                worst, worst_error = i, error
        if worst >= 0:
            keep[worst] = True
            spans += [(first, worst), (worst, last)]
    return [t for t, k in zip(times, keep) if k], [v for v, k in zip(values, keep) if k]


def take_curves(take: Take, style: str = "livelink", prefix: str = "", mapping: dict[str, str] | None = None,
                tolerance: float = 0.0, angle_units: str = "livelink", skip_silent: bool = False) -> list[Curve]:
    """One :class:`Curve` per take column: renamed, angles converted, keys reduced.

    Times are seconds from the take's first frame. ``skip_silent`` leaves out curves that stay at 0.
    """
    times = [i / take.fps for i in range(take.num_frames)]
    curves = []
    columns = face_board_columns(take.columns) if style == "metahuman" else take.columns
    for name, column in columns.items():
        values = [convert_angle(v, angle_units) for v in column] if name in ROTATION_CURVES else list(column)
        if skip_silent and not any(values):
            continue
        kept_times, kept_values = reduce_keys(times, values, tolerance)
        named = name if style == "metahuman" else curve_name(name, style, prefix, mapping)
        curves.append(Curve(named, kept_times, kept_values))
    return curves


def face_board_columns(columns: dict[str, list[float]], table_path: str = FACE_BOARD_TABLE) -> dict[str, list[float]]:
    """The take's ARKit columns as MetaHuman face board curves (``CTRL_expressions_*``, clipped to 0..1), then
    the head and eye angle columns under their Live Link names (the MetaHuman head turns from those)."""
    with open(table_path, encoding="utf-8") as f:
        table = json.load(f)
    prefix = table["prefix"]
    frames = len(next(iter(columns.values()), []))
    controls: dict[str, list[float]] = {}
    for arkit, entries in table["controls"].items():
        if arkit not in columns:
            raise TakeError(f"the take has no {arkit} column, which the MetaHuman face board mapping needs")
        for control, weight in entries:
            sums = controls.setdefault(prefix + control, [0.0] * frames)
            for i, value in enumerate(columns[arkit]):
                sums[i] += weight * value
    out = {name: [min(1.0, max(0.0, v)) for v in sums] for name, sums in controls.items()}
    out.update({name: list(columns[name]) for name in ROTATION_CURVES if name in columns})
    return out
