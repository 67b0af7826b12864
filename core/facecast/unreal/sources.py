"""Where a subject's speech comes from: a file, a folder queue, a microphone, or a program.

A source yields :class:`Utterance` objects. An utterance carries either audio (sent to the daemon's ``Stream``
chunk by chunk) or a motion clip that was animated before (played as it is, with its audio).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facecast.audio import MODEL_RATE, load_audio
from facecast.errors import AudioError, InvalidInput
from facecast.motion import MotionClip

CHUNK_SECONDS = 0.02
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a")


@dataclass
class Utterance:
    """One thing to say. ``chunks`` are float32 mono at ``sample_rate``; a ``clip`` replaces the daemon."""

    name: str
    sample_rate: int = MODEL_RATE
    chunks: Iterable[np.ndarray] = ()
    clip: MotionClip | None = None
    audio: np.ndarray | None = None  # the whole audio when known up front (files, API, clips)
    text: str | None = None
    language: str | None = None
    on_start: Callable[[float], None] | None = None  # called with the monotonic time frame 0 goes out


def utterance_from_samples(name: str, samples: np.ndarray, sample_rate: int = MODEL_RATE,
                           text: str | None = None, language: str | None = None) -> Utterance:
    samples = np.ascontiguousarray(samples, np.float32).reshape(-1)
    step = max(1, int(sample_rate * CHUNK_SECONDS))
    chunks = [samples[i:i + step] for i in range(0, len(samples), step)]
    return Utterance(name, sample_rate, chunks, audio=samples, text=text, language=language)


def utterance_from_file(path: str | os.PathLike[str], text: str | None = None) -> Utterance:
    """A speech file (wav, flac, ogg, mp3, m4a), decoded to 16 kHz mono."""
    audio = load_audio(os.fspath(path))
    return utterance_from_samples(Path(path).stem, audio.samples, audio.sample_rate, text)


def utterance_from_clip(name: str, clip: MotionClip, audio: np.ndarray | None = None,
                        sample_rate: int = MODEL_RATE) -> Utterance:
    """A clip animated before (a take, an ``.fcclip``), played with its audio if given."""
    return Utterance(name, sample_rate, clip=clip, audio=audio)


class Source:
    """Yields utterances until closed."""

    def utterances(self) -> Iterator[Utterance]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop yielding after the current utterance."""


class FileSource(Source):
    """Say one file (or a list of files) once."""

    def __init__(self, *paths: str | os.PathLike[str]) -> None:
        missing = [os.fspath(p) for p in paths if not os.path.isfile(p)]
        if missing:
            raise InvalidInput(f"speech file not found: {', '.join(missing)}")
        self.paths = [Path(p) for p in paths]

    def utterances(self) -> Iterator[Utterance]:
        for path in self.paths:
            yield utterance_from_file(path)


class SpeechQueue(Source):
    """The Python API: call :meth:`say` from any thread; utterances play in the order they were queued."""

    _CLOSE = object()

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()

    def say(self, speech: str | os.PathLike[str] | np.ndarray | Utterance, sample_rate: int = MODEL_RATE,
            text: str | None = None) -> None:
        """Queue a speech file path, float32 mono samples at ``sample_rate``, or a ready :class:`Utterance`."""
        if isinstance(speech, Utterance):
            item = speech
        elif isinstance(speech, np.ndarray):
            item = utterance_from_samples(f"speech{self._queue.qsize()}", speech, sample_rate, text)
        else:
            item = utterance_from_file(speech, text)
        self._queue.put(item)

    def utterances(self) -> Iterator[Utterance]:
        while (item := self._queue.get()) is not self._CLOSE:
            yield item

    def close(self) -> None:
        self._queue.put(self._CLOSE)


class FolderQueue(Source):
    """Watch a folder and say each new audio file once, in name order; a file is taken once its size is steady.

    Files that fail to decode are reported through ``on_error`` and skipped, so one bad file does not stop
    the queue.
    """

    def __init__(self, folder: str | os.PathLike[str], poll_seconds: float = 0.25,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InvalidInput(f"queue folder {self.folder} does not exist")
        self.poll_seconds = poll_seconds
        self.on_error = on_error
        self._done: set[str] = set()
        self._sizes: dict[str, int] = {}
        self._closed = threading.Event()

    def _ready_files(self) -> list[Path]:
        ready = []
        for path in sorted(self.folder.iterdir()):
            if path.name in self._done or path.suffix.lower() not in AUDIO_EXTENSIONS or path.name.startswith("."):
                continue
            size = path.stat().st_size
            if size > 0 and self._sizes.get(path.name) == size:
                ready.append(path)
            self._sizes[path.name] = size
        return ready

    def utterances(self) -> Iterator[Utterance]:
        while not self._closed.is_set():
            for path in self._ready_files():
                self._done.add(path.name)
                try:
                    yield utterance_from_file(path)
                except (AudioError, InvalidInput) as e:
                    if self.on_error:
                        self.on_error(f"skipping {path.name}: {e}")
            self._closed.wait(self.poll_seconds)

    def close(self) -> None:
        self._closed.set()


def open_microphone(sample_rate: int, device: str | int | None = None) -> tuple[Any, queue.Queue]:
    """A started ``sounddevice.InputStream`` and the queue its chunks arrive on, or a clear :class:`AudioError`."""
    try:
        import sounddevice
    except (ImportError, OSError) as e:
        raise AudioError(f"microphone input needs the 'sounddevice' package and the PortAudio library "
                         f"(pip install sounddevice; apt install libportaudio2): {e}") from None
    chunks: queue.Queue = queue.Queue()
    try:
        stream = sounddevice.InputStream(samplerate=sample_rate, channels=1, dtype="float32", device=device,
                                         blocksize=int(sample_rate * CHUNK_SECONDS),
                                         callback=lambda data, *_: chunks.put(data[:, 0].copy()))
        stream.start()
    except Exception as e:  # PortAudio reports a missing or busy device with its own exception type
        raise AudioError(f"cannot open microphone {device if device is not None else '(default)'}: {e}") from None
    return stream, chunks


class MicrophoneSource(Source):
    """Live speech from a microphone as one endless utterance (needs ``sounddevice`` and PortAudio).

    If an utterance ends before the source is closed (the daemon went away), a new one starts a second later.
    """

    def __init__(self, device: str | int | None = None, sample_rate: int = 48000) -> None:
        self.sample_rate = sample_rate
        self._stream, self._chunks = open_microphone(sample_rate, device)
        self._closed = threading.Event()

    def _chunk_iterator(self) -> Iterator[np.ndarray]:
        while not self._closed.is_set():
            try:
                yield self._chunks.get(timeout=0.1)
            except queue.Empty:
                continue

    def utterances(self) -> Iterator[Utterance]:
        while not self._closed.is_set():
            yield Utterance("microphone", self.sample_rate, self._chunk_iterator())
            self._closed.wait(1.0)

    def close(self) -> None:
        self._closed.set()
        self._stream.stop()
        self._stream.close()

