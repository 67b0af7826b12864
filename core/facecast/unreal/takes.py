"""Live Link Face take folders, laid out as the iPhone app writes them and Unreal's importers read them.

The layout follows Epic's Live Link Face take parser (MetaHuman plugin, ``LiveLinkFaceMetadata.cpp``)::

    20250101_Ada_3/                  <date>_<slate>_<take>: the take's "identifier"
        take.json                    frames, appVersion, slate, calibrated, subject, identifier, date, version,
                                     take, deviceModel
        video_metadata.json          FrameRate, Dimensions {width, height}, Quality, JpegCompressionQuality
        audio_metadata.json          BitsPerChannel, SampleRate, ChannelsPerFrame, FormatFlags
        frame_log.csv                V,<frame>,<time numerator>,<time denominator>,<timecode>,<dropped>; A,...
        thumbnail.jpg                a still of the reference video (the test head mid-take)
        Ada_3_iPhone.csv             <slate>_<take>_<subject>.csv: the ARKit curves with app timecodes
        Ada_3_iPhone.mov             <slate>_<take>_<subject>.mov: H.264 reference video (the ARKit test head
                                     performing the take, or given frames), AAC audio at 48 kHz, and a
                                     QuickTime timecode track (tmcd) starting at the CSV's first timecode
        Ada_3_iPhone.wav             the same audio as a 48 kHz wav, for engines and tools that want one

Audio is resampled to 48 kHz, the rate the app records at. Every timecode in the folder (CSV rows, frame_log,
the .mov's tmcd track) derives from one start time, so Capture Manager's frame-log timecode, Sequencer's
media timecode and the curve timecodes agree.

A take folder appears whole or not at all: it is written under a hidden name and renamed at the end.
"""

from __future__ import annotations

import datetime as dt
import itertools
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
from facecast.unreal.headcam import HeadCam

TAKE_SUBJECT = "iPhone"  # the app names its files after the device; Unreal only needs it to be consistent
TAKE_FORMAT_VERSION = 1
TAKE_SAMPLE_RATE = 48000  # the app records 48 kHz audio


def time_of_day(moment: dt.datetime | None = None) -> float:
    """Seconds since local midnight of ``moment`` (default now): the app's timecode clock."""
    moment = moment or dt.datetime.now()
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


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


def mov_timecode(start_seconds: float, fps: int) -> str:
    """The ``HH:MM:SS:FF`` start of the .mov's timecode track: the CSV's first timecode without its fraction."""
    return format_timecode(start_seconds, fps).split(".")[0]


def write_mov(path: str | os.PathLike[str], frames: Iterable[np.ndarray], fps: int, audio: np.ndarray | None,
              sample_rate: int, timecode: str | None = None) -> tuple[int, int]:
    """H.264 video of RGB uint8 ``frames`` with AAC audio in a QuickTime .mov; returns (width, height).

    ``timecode`` (``HH:MM:SS:FF`` at ``fps``) makes the mov muxer add a QuickTime timecode track (``tmcd``)
    that starts there, as the app's recordings carry.
    """
    with H264Writer(path, fps, audio, sample_rate, "mov", preset="veryfast", timecode=timecode) as video:
        for rgb in frames:
            video.add(rgb)
    return video.size


def write_take(folder: str | os.PathLike[str], clip: MotionClip, audio: np.ndarray | None, sample_rate: int,
               slate: str, take: int | None = None, start_seconds: float | None = None,
               frames: Iterable[np.ndarray] | None = None, video: bool = True,
               when: dt.datetime | None = None) -> Path:
    """Write a Live Link Face take folder under ``folder`` and return its path.

    ``start_seconds`` is the time of day of frame 0 (default: the clip's ``timecode_start`` metadata, else the
    local time of day now, as the app stamps a recording). ``frames`` are rendered RGB frames for the .mov
    (e.g. the talking portrait); without them the .mov shows the ARKit test head performing the take
    (:mod:`facecast.unreal.headcam`). ``audio`` at ``sample_rate`` is written at 48 kHz.
    """
    slate = slate_name(slate)
    when = when or dt.datetime.now(dt.timezone.utc)
    take = take or next_take_number(folder, slate)
    if start_seconds is None:
        start_seconds = float(clip.metadata.get("timecode_start", time_of_day()))
    if audio is not None and sample_rate != TAKE_SAMPLE_RATE:
        from facecast.audio import resample

        audio = resample(np.asarray(audio, np.float32), sample_rate, TAKE_SAMPLE_RATE)
    sample_rate = TAKE_SAMPLE_RATE
    identifier = f"{when:%Y%m%d}_{slate}_{take}"
    prefix = f"{slate}_{take}_{TAKE_SUBJECT}"
    final = Path(folder) / identifier
    if final.exists():
        raise InvalidInput(f"take folder {final} already exists")
    with atomic_dir(final) as partial:
        (partial / f"{prefix}.csv").write_text(clip_to_csv(clip, start_seconds), encoding="utf-8", newline="")
        if audio is not None:
            write_wav(partial / f"{prefix}.wav", audio, sample_rate)
        cam = HeadCam() if frames is None else None
        shown = iter(cam.frames(clip) if cam is not None else frames or ())
        first = next(shown, None)
        if first is None:
            raise InvalidInput("a take's reference video needs at least one frame")
        width, height = first.shape[1] - first.shape[1] % 2, first.shape[0] - first.shape[0] % 2
        if video:
            width, height = write_mov(partial / f"{prefix}.mov", itertools.chain([first], shown), clip.fps, audio,
                                      sample_rate, mov_timecode(start_seconds, clip.fps))
        still = cam.frame_of(clip, clip.num_frames // 2) if cam is not None else first
        (partial / "thumbnail.jpg").write_bytes(encode_jpeg(still, DEFAULT_JPEG_QUALITY))
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
