"""Progress of long work on stderr: a bar in a terminal (hidden when stderr is not one), one JSON object a line
for scripts and DCC tools (``--progress json``), or nothing (``--progress none`` / ``--quiet``).

JSON lines look like ``{"progress": "animating", "done": 1.5, "total": 8.2, "unit": "s"}``; ``total`` is null
until it is known, and the last line of each stage has ``"finished": true``. Work done in named steps (a clip's
phone recognition before its frames) adds ``"stage": "hearing phones"`` (then ``"frames"``); the bar shows it
beside its name."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from tqdm import tqdm

MODES = ("bar", "json", "none")
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} {unit} [{elapsed}<{remaining}]"
OPEN_FORMAT = "{desc}: {n:.1f} {unit} [{elapsed}]"  # before the total is known


class Progress(Protocol):
    def __enter__(self) -> Progress: ...
    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None: ...
    def update(self, done: float, total: float | None = None) -> None: ...
    def write(self, message: str) -> None: ...
    def stage(self, name: str) -> None: ...


def add_progress_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--progress", choices=MODES, default="bar",
                   help="how to show progress on stderr: a bar (only in a terminal), json (one object a line, "
                   "for scripts) or none (default %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress output (same as --progress none)")


def progress_mode(args: argparse.Namespace) -> str:
    return "none" if getattr(args, "quiet", False) else getattr(args, "progress", "bar")


class _Bar:
    def __init__(self, desc: str, total: float | None, unit: str, enabled: bool) -> None:
        self._desc = desc
        self._bar = tqdm(total=total, unit=unit, desc=desc, disable=None if enabled else True, file=sys.stderr,
                         bar_format=BAR_FORMAT if total else OPEN_FORMAT)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._bar.close()

    def update(self, done: float, total: float | None = None) -> None:
        if total and not self._bar.total:
            self._bar.bar_format = BAR_FORMAT
        if total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def write(self, message: str) -> None:
        self._bar.write(message, file=sys.stderr)

    def stage(self, name: str) -> None:
        self._bar.set_description_str(f"{self._desc} ({name})")


class _JsonLines:
    def __init__(self, desc: str, total: float | None, unit: str) -> None:
        self.desc, self.total, self.unit, self.done = desc, total, unit, 0.0
        self.step: str | None = None

    def _emit(self, **extra: object) -> None:
        line = {"progress": self.desc, "done": round(self.done, 3),
                "total": None if self.total is None else round(self.total, 3), "unit": self.unit,
                **({"stage": self.step} if self.step else {}), **extra}
        print(json.dumps(line), file=sys.stderr, flush=True)

    def __enter__(self) -> _JsonLines:
        self._emit()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self._emit(finished=True)

    def update(self, done: float, total: float | None = None) -> None:
        self.done, self.total = float(done), float(total) if total else self.total
        self._emit()

    def write(self, message: str) -> None:
        print(json.dumps({"message": message}), file=sys.stderr, flush=True)

    def stage(self, name: str) -> None:
        self.step = name


def progress_bar(desc: str, mode: str = "bar", total: float | None = None, unit: str = "s") -> Progress:
    """A context manager that shows the progress of one stage in ``mode`` (see MODES)."""
    if mode == "json":
        return _JsonLines(desc, total, unit)
    return _Bar(desc, total, unit, enabled=mode == "bar")


def seconds_bar(desc: str, quiet: bool | str = False, total: float | None = None) -> Progress:
    """Progress in seconds of audio or video; ``quiet`` is a mode name or True for none."""
    mode = quiet if isinstance(quiet, str) else ("none" if quiet else "bar")
    return progress_bar(desc, mode, total)


class _Reporter:
    """``progress(done, total)`` that moves a bar, with the ``stage(name)`` that animators announce stages by."""

    def __init__(self, bar: Progress, per_second: float = 1.0) -> None:
        self.stage = bar.stage
        self._update = bar.update
        self._per_second = per_second

    def __call__(self, done: float, total: float) -> None:
        self._update(done / self._per_second, total / self._per_second)


def reporter(bar: Progress, per_second: float = 1.0) -> Callable[[float, float], None]:
    """A ``progress(done, total)`` callback that moves ``bar`` (and names its stages, see
    :func:`facecast.animators.base.split_progress`); ``per_second``: units of ``done`` per second of the bar
    (frames per second, for a callback counting frames)."""
    return _Reporter(bar, per_second)
