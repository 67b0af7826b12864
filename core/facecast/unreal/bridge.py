"""The bridge: subjects (NPCs, presenters) that talk through Live Link, each fed by its own daemon ``Stream``.

    from facecast.unreal.bridge import Bridge

    with Bridge(daemon="127.0.0.1:50051", port=11111, takes="takes/") as bridge:
        ada = bridge.add_subject("Ada")                  # a SpeechQueue: say() from your program
        bob = bridge.add_subject("Bob", FolderQueue("inbox/bob"))
        ada.say("hello.wav")
        bridge.wait()                                    # until every finite source is done

Each subject runs in its own thread: it opens a ``Stream`` per utterance, feeds it the audio, and schedules
every frame that comes back at ``first tick + frame index`` on the shared sender, a short prebuffer after the
first frame arrived, so motion goes out at its time codes however bursty the daemon is. Utterances of one
subject never overlap. An error in one subject (daemon gone, bad file, wrong fps) is reported through
``on_event`` and that subject goes on with its next utterance; the other subjects never notice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facecast.client import DEFAULT_ADDRESS, Client
from facecast.controls import Controls
from facecast.errors import AudioError, FacecastError, InvalidInput
from facecast.motion import MotionClip, MotionFrame, check_fps
from facecast.unreal.packet import check_name, device_id_for, encode_packet, packet_header
from facecast.unreal.sender import DEFAULT_PORT, LiveLinkSender, SendLog
from facecast.unreal.sources import Source, SpeechQueue, Utterance
from facecast.unreal.takes import write_take

log = logging.getLogger(__name__)
EventHandler = Callable[[str, str, str], None]  # (subject, kind, message); kinds: error, take, done, note
LIVE_LINK_FPS = 60
PREBUFFER_SECONDS = 0.15


class LocalAudio:
    """Plays each utterance's audio on this machine when its first frame goes out (needs sounddevice)."""

    def __init__(self) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as e:
            raise AudioError(f"local audio playback needs the 'sounddevice' package and the PortAudio library "
                             f"(pip install sounddevice; apt install libportaudio2): {e}") from None
        self._sounddevice = sounddevice

    def play_at(self, samples: np.ndarray, sample_rate: int, moment: float) -> None:
        def play() -> None:
            time.sleep(max(0.0, moment - time.monotonic()))
            self._sounddevice.play(samples, sample_rate)

        threading.Thread(target=play, name="facecast-audio", daemon=True).start()


@dataclass
class SubjectStats:
    utterances: int = 0
    frames: int = 0
    errors: list[str] = field(default_factory=list)
    takes: list[Path] = field(default_factory=list)


class Subject:
    """One Live Link subject with its own source of speech; created by :meth:`Bridge.add_subject`."""

    def __init__(self, bridge: Bridge, name: str, source: Source, fps: int, animator: str | None,
                 controls: Controls | None) -> None:
        self.name = name
        self.fps = check_fps(fps)
        self.source = source
        self.animator = animator
        self.controls = controls.validated() if controls else None
        self.log = SendLog()
        self.stats = SubjectStats()
        self._bridge = bridge
        self._header = packet_header(bridge.device_id, name)
        self._next_tick = 0
        self._thread = threading.Thread(target=self._run, name=f"subject-{name}", daemon=True)

    def say(self, speech: str | os.PathLike[str] | np.ndarray, sample_rate: int = 16000,
            text: str | None = None) -> None:
        """Queue speech (file path or float32 samples); only for subjects fed by a :class:`SpeechQueue`."""
        if not isinstance(self.source, SpeechQueue):
            raise InvalidInput(f"subject {self.name!r} reads from {type(self.source).__name__}, not a SpeechQueue")
        self.source.say(speech, sample_rate, text)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        for utterance in self.source.utterances():
            try:
                self._play(utterance)
            except (FacecastError, OSError) as e:
                self._report("error", f"{utterance.name}: {e}")
            except Exception as e:  # a bug must not silence this subject for good, nor reach the others
                log.exception("subject %s, utterance %s", self.name, utterance.name)
                self._report("error", f"{utterance.name}: unexpected {type(e).__name__}: {e}")
        self._report("done", f"{self.stats.utterances} utterance(s), {self.stats.frames} frames")

    def _report(self, kind: str, message: str) -> None:
        if kind == "error":
            self.stats.errors.append(message)
        self._bridge.event(self.name, kind, message)

    def _first_tick(self) -> int:
        sender = self._bridge.sender
        return max(self._next_tick, sender.tick_at_or_after(self.fps, time.monotonic() + self._bridge.prebuffer))

    def _send(self, tick: int, frame: MotionFrame) -> None:
        sender = self._bridge.sender
        number, sub_frame = sender.frame_time(self.fps, tick)
        sender.schedule(self.fps, tick, encode_packet(self._header, number, sub_frame, self.fps, frame.values),
                        self.log)

    def _play(self, utterance: Utterance) -> None:
        if utterance.clip is not None:
            frames, first, audio = self._play_clip(utterance)
        else:
            frames, first, audio = self._play_stream(utterance)
        self._next_tick = first + len(frames)
        self.stats.utterances += 1
        self.stats.frames += len(frames)
        if frames and self._bridge.takes is not None:
            start = self._bridge.sender.frame_time(self.fps, first)
            clip = MotionClip.from_frames(self.fps, frames, {"subject": self.name, "utterance": utterance.name})
            path = write_take(self._bridge.takes, clip, audio, utterance.sample_rate, f"{self.name}",
                              start_seconds=(start[0] + start[1]) / self.fps, video=self._bridge.take_video)
            self.stats.takes.append(path)
            self._report("take", str(path))

    def _begin(self, utterance: Utterance, first: int) -> None:
        """Frame 0 is due at tick ``first``: start the local audio and the utterance's own hook for that moment."""
        moment = self._bridge.sender.deadline(self.fps, first)
        if utterance.audio is not None and self._bridge.audio is not None:
            self._bridge.audio.play_at(utterance.audio, utterance.sample_rate, moment)
        if utterance.on_start is not None:
            utterance.on_start(moment)

    def _play_clip(self, utterance: Utterance) -> tuple[list[MotionFrame], int, np.ndarray | None]:
        clip = utterance.clip
        assert clip is not None, "only called for utterances that carry a clip"
        if clip.fps != self.fps:
            raise InvalidInput(f"clip {utterance.name!r} is {clip.fps} fps but subject {self.name!r} sends "
                               f"{self.fps} fps; re-animate it at {self.fps} fps or add the subject with "
                               f"fps={clip.fps}")
        first = self._first_tick()
        self._begin(utterance, first)
        frames = clip.frames()
        for frame in frames:
            self._send(first + frame.index, frame)
        return frames, first, utterance.audio

    def _play_stream(self, utterance: Utterance) -> tuple[list[MotionFrame], int, np.ndarray | None]:
        live = self._bridge.client.stream(
            sample_rate=utterance.sample_rate, animator=self.animator, fps=self.fps, controls=self.controls,
            sample_format="float32", text=utterance.text, language=utterance.language)
        heard: list[np.ndarray] = []
        stopped = threading.Event()

        def feed() -> None:
            try:
                for chunk in utterance.chunks:
                    if stopped.is_set():  # the stream failed: stop reading (a microphone never ends by itself)
                        break
                    chunk = np.asarray(chunk, np.float32)
                    heard.append(chunk)
                    live.send(chunk)
            finally:
                live.end()

        feeder = threading.Thread(target=feed, name=f"feed-{self.name}", daemon=True)
        feeder.start()
        frames: list[MotionFrame] = []
        first = 0
        try:
            for frame in live.frames():
                if not frames:
                    if live.header is not None and live.header.fps != self.fps:
                        raise InvalidInput(f"the daemon streams {live.header.fps} fps but subject {self.name!r} "
                                           f"sends {self.fps} fps")
                    first = self._first_tick()
                    self._begin(utterance, first)
                frames.append(frame)
                self._send(first + frame.index, frame)
        except BaseException:
            stopped.set()
            live.cancel()
            raise
        finally:
            feeder.join()
        audio = utterance.audio if utterance.audio is not None else (np.concatenate(heard) if heard else None)
        return frames, first, audio


class Bridge:
    """Subjects that stream from a facecast daemon to Unreal's Live Link Face source at ``host:port``.

    ``takes``: a folder to write one Live Link Face take per utterance into (None: no takes).
    ``play_audio``: play each utterance on this machine in sync with its motion (needs sounddevice).
    ``realtime``: run the sending thread at real-time priority (Linux, needs the right) for steadier timing.
    """

    def __init__(self, daemon: str = DEFAULT_ADDRESS, token: str | None = None, host: str = "127.0.0.1",
                 port: int = DEFAULT_PORT, device_name: str = "facecast", takes: str | Path | None = None,
                 take_video: bool = True, play_audio: bool = False, prebuffer: float = PREBUFFER_SECONDS,
                 realtime: bool = False, on_event: EventHandler | None = None) -> None:
        check_name(device_name, "device name")
        self.device_id = device_id_for(device_name)
        self.on_event = on_event
        self.prebuffer = prebuffer
        self.takes = Path(takes) if takes is not None else None
        self.take_video = take_video
        self.audio = LocalAudio() if play_audio else None
        self.sender = LiveLinkSender(host, port, on_error=lambda message: self.event("*", "error", message),
                                     realtime=realtime, on_note=lambda message: self.event("*", "note", message))
        self.client = Client(daemon, token)
        self.subjects: dict[str, Subject] = {}
        self._started = False

    def event(self, subject: str, kind: str, message: str) -> None:
        (log.warning if kind == "error" else log.info)("%s: %s: %s", subject, kind, message)
        if self.on_event:
            self.on_event(subject, kind, message)

    def check_daemon(self, timeout: float = 5.0) -> None:
        """Raise :class:`facecast.client.ServerError` with a clear message when no daemon answers."""
        self.client.wait_ready(timeout)

    def add_subject(self, name: str, source: Source | None = None, fps: int = LIVE_LINK_FPS,
                    animator: str | None = None, controls: Controls | None = None) -> Subject:
        """Add a subject (a SpeechQueue unless ``source`` is given); it starts at once if the bridge runs."""
        check_name(name)
        if name in self.subjects:
            raise InvalidInput(f"there is already a subject named {name!r}")
        subject = Subject(self, name, source or SpeechQueue(), fps, animator, controls)
        self.subjects[name] = subject
        if self._started:
            subject.start()
        return subject

    def start(self) -> Bridge:
        if not self._started:
            self._started = True
            self.sender.start()
            for subject in self.subjects.values():
                subject.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every subject's source has ended and every frame has gone out; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for subject in self.subjects.values():
            if not subject.join(None if deadline is None else max(0.0, deadline - time.monotonic())):
                return False
        return self.sender.drain(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        """Close every source, send what is already scheduled, and stop."""
        for subject in self.subjects.values():
            subject.source.close()
        self.wait(timeout=30)
        self.sender.stop()
        self.client.close()

    def __enter__(self) -> Bridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
