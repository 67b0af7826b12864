"""Batch animation of many dialogue lines into files: parallel, resumable, and carrying on past bad input.

Input is a folder of audio files (a transcript ``NAME.txt`` beside ``NAME.wav`` is passed to animators that
take text) or a manifest, CSV or JSON, with one line per entry::

    audio,name,emotion,intensity,seed,text,language   # CSV header; only ``audio`` is required
    lines/hello.wav,hello,happy,0.8,3,

    [{"audio": "lines/hello.wav", "name": "hello", "emotion": "happy", "intensity": 0.8, "seed": 3}]

Relative audio paths are resolved against the manifest's folder. Each line is animated once (locally in a
process pool, or on a running daemon with ``server``) and written in every requested format as
``OUT_DIR/NAME.EXT``, each file atomically. A line whose outputs all exist and are newer than its inputs (audio,
transcript, head) is skipped, so an interrupted run picks up where it stopped. A line that fails (unreadable or
silent audio, a bad manifest entry) is recorded with its reason and the run carries on. ``report.json`` in
OUT_DIR lists every line; ``failures.txt`` has one line per failed entry.
"""

from __future__ import annotations

import concurrent.futures as futures
import csv
import functools
import json
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facecast.errors import FacecastError, InvalidInput, reason
from facecast.fileio import atomic_write_text
from facecast.motion import DEFAULT_FPS, MotionClip
from facecast.phonemes.languages import check_language

if TYPE_CHECKING:
    from facecast.audio import Audio

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a")
REPORT_NAME = "report.json"
FAILURES_NAME = "failures.txt"


@dataclass
class Line:
    """One dialogue line to animate: its audio, the output name and the controls that differ per line."""

    audio: str
    name: str
    emotion: str | None = None
    intensity: float | None = None
    seed: int | None = None
    text: str | None = None
    text_file: str | None = None
    language: str | None = None  # of the transcript: en (default), de, fr, ... (a voice espeak-ng has)
    problem: str | None = None  # a manifest entry that cannot run says why here, and fails in the report


@dataclass
class BatchOptions:
    """What to make of every line."""

    out_dir: str
    formats: list[str]  # extensions with the dot: [".csv", ".glb"]
    animator: str | None = None
    fps: int = DEFAULT_FPS
    export_options: dict[str, Any] = field(default_factory=dict)  # head, preset, max_error, animation_only
    server: str | None = None
    token: str | None = None
    workers: int = max(1, os.cpu_count() or 1)
    force: bool = False
    settle: bool = True  # the take ends settled to neutral (local animation; a daemon always settles)
    image: str | None = None  # the portrait (or .fcavatar) that .mp4 outputs show
    face_box: tuple[float, float, float, float] | None = None
    size: int = 512  # .mp4 frame size


@dataclass
class LineResult:
    name: str
    audio: str
    status: str  # "done", "skipped" or "failed"
    reason: str = ""
    outputs: list[str] = field(default_factory=list)
    audio_seconds: float = 0.0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def read_lines(source: str | os.PathLike[str]) -> list[Line]:
    """The lines of a folder of audio files or of a CSV / JSON manifest."""
    path = Path(source)
    if path.is_dir():
        return _scan_folder(path)
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    if path.suffix.lower() == ".csv":
        try:
            with open(path, newline="", encoding="utf-8-sig") as f:
                entries = list(csv.DictReader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise InvalidInput(f"cannot read manifest {path}: {reason(e)}") from None
    elif path.suffix.lower() == ".json":
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InvalidInput(f"cannot read manifest {path}: {reason(e)}") from None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise InvalidInput(f"manifest {path} must hold a JSON list of objects")
    else:
        raise InvalidInput(f"{path} is neither a folder of audio files nor a .csv / .json manifest")
    lines = [_manifest_line(entry, path.parent, number) for number, entry in enumerate(entries, start=1)]
    return _check_names(lines)


def _scan_folder(folder: Path) -> list[Line]:
    lines = []
    for audio in sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()):
        transcript = audio.with_suffix(".txt")
        lines.append(Line(str(audio), audio.stem, text_file=str(transcript) if transcript.is_file() else None))
    if not lines:
        raise InvalidInput(f"{folder} holds no audio files ({', '.join(AUDIO_EXTENSIONS)})")
    return _check_names(lines)


def _manifest_line(entry: dict[str, Any], base: Path, number: int) -> Line:
    entry = {str(k).strip().lower(): v for k, v in entry.items() if k is not None}
    get = lambda key: None if entry.get(key) in (None, "") else entry[key]  # blank cells are unset
    audio = get("audio")
    line = Line(str(base / str(audio)) if audio else "", str(get("name") or (Path(str(audio)).stem if audio else "")))
    if not audio:
        line.name, line.problem = line.name or f"line {number}", f"manifest line {number} has no audio path"
        return line
    try:
        line.emotion = get("emotion")
        intensity, seed = get("intensity"), get("seed")
        line.intensity = None if intensity is None else float(intensity)
        line.seed = None if seed is None else int(seed)
    except (TypeError, ValueError):
        line.problem = f"manifest line {number}: intensity must be a number and seed an integer"
    line.text = get("text")
    try:
        line.language = check_language(None if get("language") is None else str(get("language")).strip())
    except InvalidInput as e:
        line.problem = f"manifest line {number}: {e}"
    return line


def _check_names(lines: list[Line]) -> list[Line]:
    """Output names must be plain file names and unique; offending lines get a problem, not the whole run."""
    seen: set[str] = set()
    for line in lines:
        if line.problem:
            continue
        if not line.name or line.name in (".", "..") or any(c in line.name for c in "/\\\0"):
            line.problem = f"output name {line.name!r} is not a plain file name"
        elif line.name in seen:
            line.problem = f"output name {line.name!r} is used by an earlier line"
        seen.add(line.name)
    return lines


def outputs_for(line: Line, options: BatchOptions) -> list[Path]:
    return [Path(options.out_dir) / f"{line.name}{ext}" for ext in options.formats]


def is_up_to_date(line: Line, options: BatchOptions) -> bool:
    """True when every output exists and is newer than each of the line's inputs."""
    inputs = [line.audio, line.text_file, options.export_options.get("head")]
    try:
        newest_input = max(os.path.getmtime(p) for p in inputs if p)
        return all(p.exists() and p.stat().st_mtime >= newest_input for p in outputs_for(line, options))
    except OSError:
        return False


@functools.lru_cache(maxsize=2)
def _avatar(image: str | None, face_box: tuple[float, float, float, float] | None) -> Any:
    """The portrait for .mp4 outputs, fitted once per process."""
    from facecast.face import Avatar

    return Avatar.from_file(image, face_box) if image else None


def _line_controls(line: Line) -> dict[str, Any]:
    fields = {"emotion": line.emotion, "emotion_intensity": line.intensity, "seed": line.seed}
    return {k: v for k, v in fields.items() if v is not None}


def _transcript(line: Line) -> str | None:
    if line.text:
        return line.text
    if line.text_file:
        return Path(line.text_file).read_text(encoding="utf-8").strip() or None
    return None


_clients: dict[str, tuple[Any, bool]] = {}  # one gRPC channel per daemon, shared by the batch's threads
_clients_lock = threading.Lock()


def _animate_on_server(audio_path: str, line: Line, options: BatchOptions, text: str | None) -> MotionClip:
    from facecast.client import Client

    assert options.server, "only called for runs on a daemon"
    key = f"{options.server}|{options.token}"
    with _clients_lock:
        if key not in _clients:
            client = Client(options.server, token=options.token)
            info = client.info()
            name = options.animator or info.get("default_animator")
            takes_text = any(a.get("name") == name and a.get("accepts_text") for a in info.get("animators", []))
            _clients[key] = (client, takes_text)
    client, takes_text = _clients[key]
    return client.animate(audio_path, options.animator, options.fps, None, text=text if takes_text else None,
                          language=line.language if takes_text and text else None,
                          **_line_controls(line))


def _animate_locally(audio: Audio, line: Line, options: BatchOptions, text: str | None) -> MotionClip:
    from facecast.animators import get_animator
    from facecast.controls import Controls
    from facecast.settle import settle_clip

    animator = get_animator(options.animator)
    extra: dict[str, Any] = {"text": text, "language": line.language} if text and animator.accepts_text else {}
    clip = animator.animate(audio, Controls.from_dict(_line_controls(line)), options.fps, **extra)
    return settle_clip(clip) if options.settle else clip


def process_line(line: Line, options: BatchOptions) -> LineResult:
    """Animate one line and write all its outputs; every failure is caught and returned as the reason."""
    from facecast.audio import load_audio
    from facecast.exports import export
    from facecast.exports.options import options_for

    result = LineResult(line.name, line.audio, "failed")
    started = time.perf_counter()
    try:
        if line.problem:
            raise InvalidInput(line.problem)
        if not options.force and is_up_to_date(line, options):
            result.status = "skipped"
            return result
        audio = load_audio(line.audio)  # raises AudioError for unreadable or silent audio
        result.audio_seconds = audio.duration
        text = _transcript(line)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if options.server:
                clip = _animate_on_server(line.audio, line, options, text)
            else:
                clip = _animate_locally(audio, line, options, text)
            for output in outputs_for(line, options):
                video = {"avatar": _avatar(options.image, options.face_box), "audio": audio,
                         "size": options.size} if output.suffix == ".mp4" else {}
                export(clip, output, **options_for(output, options.export_options), **video)
                result.outputs.append(str(output))
        result.warnings = sorted({str(w.message) for w in caught})
        result.status = "done"
    except (FacecastError, OSError, UnicodeDecodeError) as e:
        result.reason = str(e) or type(e).__name__
    except Exception as e:  # one broken line must not end a run of hundreds
        result.reason = f"{type(e).__name__}: {reason(e)}"
    finally:
        result.seconds = time.perf_counter() - started
    return result


def animate_lines(lines: list[Line], options: BatchOptions,
              on_result: Callable[[LineResult], None] | None = None) -> dict[str, Any]:
    """Process every line (in parallel) and write ``report.json`` and ``failures.txt``; returns the report."""
    from facecast.exports.options import check_options

    check_options(options.formats, options.export_options)
    if ".mp4" in options.formats and not options.image:
        raise InvalidInput("--format mp4 renders a talking portrait: give the portrait with --image FACE.jpg")
    if options.image and ".mp4" not in options.formats:
        raise InvalidInput("--image is for --format mp4; motion formats need no portrait")
    if options.image:
        _avatar(options.image, options.face_box)  # a portrait without a face fails here, before any line
    os.makedirs(options.out_dir, exist_ok=True)
    started = time.perf_counter()
    results: list[LineResult] = []
    # A daemon does the work itself, so threads only wait on it; local animation needs processes for the cores.
    workers = max(1, min(options.workers, len(lines)))
    pool = (futures.ThreadPoolExecutor(max_workers=workers) if options.server
            else futures.ProcessPoolExecutor(max_workers=workers, initializer=_leave_interrupts_to_the_parent))
    with pool:
        pending = [pool.submit(process_line, line, options) for line in lines]
        try:
            for future in futures.as_completed(pending):
                results.append(future.result())
                if on_result:
                    on_result(results[-1])
        except KeyboardInterrupt:  # the lines in flight finish whole; the rest are left for a rerun
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    if options.server:
        with _clients_lock:
            cached = _clients.pop(f"{options.server}|{options.token}", None)
        if cached:
            cached[0].close()
    order = {line.name: i for i, line in enumerate(lines)}
    results.sort(key=lambda r: order.get(r.name, len(order)))
    report = _report(results, options, time.perf_counter() - started)
    atomic_write_text(Path(options.out_dir) / REPORT_NAME, json.dumps(report, indent=1) + "\n")
    failures = [f"{r.name}\t{r.audio}\t{r.reason}\n" for r in results if r.status == "failed"]
    atomic_write_text(Path(options.out_dir) / FAILURES_NAME, "".join(failures))
    return report


def _leave_interrupts_to_the_parent() -> None:
    """In a worker process: Ctrl-C (sent to the whole process group) is the parent's to handle, so the line being
    written finishes whole instead of leaving a temporary file; SIGTERM unwinds, so atomic writes clean up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_term)


def _exit_on_term(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _report(results: list[LineResult], options: BatchOptions, wall_seconds: float) -> dict[str, Any]:
    done = [r for r in results if r.status == "done"]
    audio_seconds = sum(r.audio_seconds for r in done)
    return {
        "formats": options.formats,
        "animator": options.animator,
        "fps": options.fps,
        "server": options.server,
        "workers": options.workers,
        "counts": {status: sum(r.status == status for r in results) for status in ("done", "skipped", "failed")},
        "wall_seconds": round(wall_seconds, 3),
        "audio_seconds": round(audio_seconds, 3),
        "lines_per_minute": round(60 * len(done) / wall_seconds, 2) if wall_seconds and done else 0.0,
        "x_realtime": round(audio_seconds / wall_seconds, 2) if wall_seconds and done else 0.0,
        "lines": [asdict(r) for r in results],
    }
