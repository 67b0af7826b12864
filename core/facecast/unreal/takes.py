"""Live Link Face take folders, laid out as the iPhone app writes them and Unreal's importers read them.

The layout follows Epic's Live Link Face take parser (MetaHuman plugin, ``LiveLinkFaceMetadata.cpp``)::

    20250101_Ada_3/                  <date>_<slate>_<take>: the take's "identifier"
        take.json                    frames, appVersion, slate, calibrated, subject, identifier, date, version,
                                     take, deviceModel
        video_metadata.json          FrameRate, Dimensions {width, height}, Quality, JpegCompressionQuality
        audio_metadata.json          BitsPerChannel, SampleRate, ChannelsPerFrame, FormatFlags
        frame_log.csv                V,<frame>,<time numerator>,<time denominator>,<timecode>,<dropped>; A,...
        thumbnail.jpg
        Ada_3_iPhone.csv             <slate>_<take>_<subject>.csv: the ARKit curves with app timecodes
        Ada_3_iPhone.mov             <slate>_<take>_<subject>.mov: video (rendered frames or a still) + audio
        Ada_3_iPhone.wav             the same audio as a wav, for engines and tools that want one

A take folder appears whole or not at all: it is written under a hidden name and renamed at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from facecast._version import __version__
from facecast.errors import InvalidInput
from facecast.exports.livelink_csv import clip_to_csv, format_timecode
from facecast.fileio import atomic_dir
from facecast.media import DEFAULT_JPEG_QUALITY, H264Writer, encode_jpeg, write_wav
from facecast.motion import MotionClip

TAKE_SUBJECT = "iPhone"  # the app names its files after the device; Unreal only needs it to be consistent
TAKE_FORMAT_VERSION = 1
THUMBNAIL_SIZE = (360, 640)  # width, height: portrait, as the app records


def slate_name(text: str) -> str:
    """A slate usable in file names: letters, digits, '-' and '_' only."""
    slate = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")
    if not slate:
        raise InvalidInput(f"slate {text!r} has no letters or digits")
    return slate


def next_take_number(folder: str | os.PathLike[str], slate: str) -> int:
    """One more than the highest take of ``slate`` already in ``folder``."""
    pattern = re.compile(rf"^\d{{8}}_{re.escape(slate)}_(\d+)$")
    numbers = [int(m.group(1)) for p in Path(folder).glob(f"*_{slate}_*") if (m := pattern.match(p.name))]
    return max(numbers, default=0) + 1


def frame_log(clip: MotionClip, start_seconds: float) -> str:
    """frame_log.csv: one 'V' line per frame and one 'A' line for the first audio sample (never dropped)."""
    lines = [f"V,{i},{i},{clip.fps},{format_timecode(start_seconds + i / clip.fps, clip.fps)},0"
             for i in range(clip.num_frames)]
    lines.append(f"A,0,0,{clip.fps},{format_timecode(start_seconds, clip.fps)},0")
    return "\n".join(lines) + "\n"


def thumbnail(title: str, lines: Iterable[str]) -> bytes:
    """A plain title card (JPEG) naming the take; used when no rendered frame is given."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", THUMBNAIL_SIZE, (32, 36, 44))
    draw = ImageDraw.Draw(image)
    draw.text((20, 40), title, fill=(240, 240, 240))
    for row, line in enumerate(lines):
        draw.text((20, 80 + 20 * row), line, fill=(170, 180, 190))
    return encode_jpeg(np.asarray(image), DEFAULT_JPEG_QUALITY)


def write_mov(path: str | os.PathLike[str], frames: Iterable[np.ndarray], fps: int, audio: np.ndarray | None,
              sample_rate: int) -> tuple[int, int]:
    """H.264 video of RGB uint8 ``frames`` with AAC audio in a QuickTime .mov; returns (width, height)."""
    with H264Writer(path, fps, audio, sample_rate, "mov", preset="veryfast") as video:
        for rgb in frames:
            video.add(rgb)
    return video.size


def write_take(folder: str | os.PathLike[str], clip: MotionClip, audio: np.ndarray | None, sample_rate: int,
               slate: str, take: int | None = None, start_seconds: float | None = None,
               frames: Iterable[np.ndarray] | None = None, video: bool = True,
               when: dt.datetime | None = None) -> Path:
    """Write a Live Link Face take folder under ``folder`` and return its path.

    ``start_seconds`` is the time of day of frame 0 (default: the clip's ``timecode_start`` metadata, else now).
    ``frames`` are rendered RGB frames for the .mov; without them the video holds the thumbnail card.
    """
    slate = slate_name(slate)
    when = when or dt.datetime.now(dt.timezone.utc)
    take = take or next_take_number(folder, slate)
    if start_seconds is None:
        start_seconds = float(clip.metadata.get("timecode_start", when.hour * 3600 + when.minute * 60 + when.second))
    identifier = f"{when:%Y%m%d}_{slate}_{take}"
    prefix = f"{slate}_{take}_{TAKE_SUBJECT}"
    final = Path(folder) / identifier
    if final.exists():
        raise InvalidInput(f"take folder {final} already exists")
    with atomic_dir(final) as partial:
        card = thumbnail(f"{slate} take {take}", [f"{clip.num_frames} frames at {clip.fps} fps",
                                                    f"{clip.duration:.2f} s", f"facecast {__version__}"])
        (partial / "thumbnail.jpg").write_bytes(card)
        (partial / f"{prefix}.csv").write_text(clip_to_csv(clip, start_seconds), encoding="utf-8", newline="")
        width, height = THUMBNAIL_SIZE
        if audio is not None:
            write_wav(partial / f"{prefix}.wav", audio, sample_rate)
        if video:
            if frames is None:
                from io import BytesIO

                from PIL import Image

                still = np.asarray(Image.open(BytesIO(card)).convert("RGB"))
                frames = (still for _ in range(max(1, clip.num_frames)))
            width, height = write_mov(partial / f"{prefix}.mov", frames, clip.fps, audio, sample_rate)
        (partial / "frame_log.csv").write_text(frame_log(clip, start_seconds), encoding="utf-8")
        documents = {
            "take.json": {"frames": clip.num_frames, "appVersion": f"facecast {__version__}", "slate": slate,
                          "calibrated": False, "subject": TAKE_SUBJECT, "identifier": identifier,
                          "date": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "version": TAKE_FORMAT_VERSION,
                          "take": take, "deviceModel": "facecast"},
            "video_metadata.json": {"FrameRate": clip.fps, "Dimensions": {"width": width, "height": height},
                                    "Quality": "high", "JpegCompressionQuality": 0.9, "Orientation": 1},
            "audio_metadata.json": {"BitsPerChannel": 16, "SampleRate": sample_rate, "ChannelsPerFrame": 1,
                                    "FormatFlags": 12},
        }
        for name, document in documents.items():
            (partial / name).write_text(json.dumps(document, indent=2), encoding="utf-8")
    return final
