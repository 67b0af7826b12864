"""Daemon work on worker threads. Nothing here touches Blender data.

A :class:`Job` runs one function on a daemon thread and posts :class:`Message` objects to a ``queue.Queue``;
Blender's main thread (a modal operator or a ``bpy.app.timers`` callback) drains the queue with
:meth:`Job.poll`. Errors become one-line messages (facecast errors carry a message written for users), so the
add-on can report them without a traceback popup.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from facecast.client import Client
from facecast.controls import Controls
from facecast.errors import FacecastError, InvalidInput
from facecast.motion import MotionClip


class Cancelled(Exception):
    """Raised inside a job when the user cancelled it."""


@dataclass
class Message:
    """``kind`` is ``"progress"`` (``done``/``total``), ``"done"`` (``result``, and ``warnings``: one-line texts
    the operator reports as WARNING, such as the daemon's "the transcript does not fit the audio") or ``"error"``
    (``text``)."""

    kind: str
    done: float = 0
    total: float = 0
    result: Any = None
    text: str = ""
    warnings: tuple[str, ...] = ()


def error_text(error: BaseException) -> str:
    """A one-line message for a user: facecast errors as written, anything else with its type name."""
    if isinstance(error, FacecastError):
        return str(error)
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return f"{type(error).__name__}: {error}"


def clip_warnings(result: Any) -> tuple[str, ...]:
    """The warnings a take came back with (the client keeps the daemon's in ``metadata["warnings"]``)."""
    found = result.metadata.get("warnings", ()) if isinstance(result, MotionClip) else ()
    return tuple(str(text) for text in found)


class Job:
    """Runs ``work(job)`` on a thread; ``work`` may call :meth:`progress` and must return the result."""

    def __init__(self, work: Callable[[Job], Any], name: str = "facecast") -> None:
        self.messages: queue.Queue[Message] = queue.Queue()
        self.cancelled = threading.Event()
        self._work = work
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Job:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            result = self._work(self)
            self.messages.put(Message("done", result=result, warnings=clip_warnings(result)))
        except Cancelled:
            self.messages.put(Message("error", text="cancelled"))
        except Exception as e:  # every failure must reach the user as a report, never kill the thread silently
            self.messages.put(Message("error", text=error_text(e)))

    def progress(self, done: float, total: float) -> None:
        """Post progress; raises :class:`Cancelled` once :meth:`cancel` was called, which stops the work."""
        if self.cancelled.is_set():
            raise Cancelled
        self.messages.put(Message("progress", done=done, total=total))

    def cancel(self) -> None:
        self.cancelled.set()

    def poll(self) -> list[Message]:
        """Every message posted since the last poll (never blocks)."""
        out = []
        while True:
            try:
                out.append(self.messages.get_nowait())
            except queue.Empty:
                return out

    def wait(self, timeout: float | None = None) -> Message:
        """Block until the final message (``done`` or ``error``); for background mode, where no timers run."""
        while True:
            message = self.messages.get(timeout=timeout)
            if message.kind != "progress":
                return message

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def transcript_options(text: str = "", language: str = "") -> dict[str, str]:
    """The request's ``text`` and ``language`` from the panel's fields (blank ones left out), checked up front:
    a language without a voice is refused before any daemon call."""
    from facecast.phonemes.languages import check_language

    language = check_language(language.strip()) or ""
    if language and not text.strip():
        raise InvalidInput("a transcript language needs a transcript: fill in Transcript, or clear Language")
    return {k: v for k, v in (("text", text.strip()), ("language", language)) if v}


def info_job(address: str, token: str | None) -> Job:
    """Check the daemon's health and fetch its info (version, animators, providers)."""

    def work(job: Job) -> dict[str, Any]:
        with Client(address, token or None, timeout=10) as client:
            health = client.health()
            info = client.info()
        info["health"] = health
        return info

    return Job(work, "facecast-connect")


def animate_job(address: str, token: str | None, audio: bytes, animator: str | None, fps: int,
                controls: Controls, text: str = "", language: str = "") -> Job:
    """Animate a whole audio file (encoded bytes; the daemon decodes it) into a :class:`MotionClip`; ``text``
    (the transcript) and its ``language`` go to animators that take them."""
    request = transcript_options(text, language)

    def work(job: Job) -> MotionClip:
        with Client(address, token or None) as client:
            return client.animate(audio, animator or None, fps, controls, progress=job.progress, **request)

    return Job(work, "facecast-animate")
