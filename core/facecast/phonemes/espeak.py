"""espeak-ng through its C library: speech with the exact start of every phone, and text to phonemes.

The library reports a phoneme event (IPA, with the sample it starts at) for each phone it synthesises, so the
timings are exact by construction. It is not thread-safe and keeps one global state per process: every call
holds :data:`_LOCK`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from facecast.errors import InvalidInput
from facecast.media import pcm16_to_float
from facecast.phonemes import EngineUnavailable, Phone, merge_silences
from facecast.phonemes.inventory import SILENCE, ipa_to_arpabet

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS, _INITIALIZE_PHONEME_IPA = 0x1, 0x2
_CHARS_UTF8, _POS_CHARACTER = 1, 1
_EVENT_END_OF_LIST, _EVENT_WORD, _EVENT_MSG_TERMINATED, _EVENT_PHONEME = 0, 1, 6, 7
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE, _PARAM_WORDGAP = 1, 2, 3, 4, 7
_LOCK = threading.Lock()


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass
class EspeakSpeech:
    """Synthesised speech: int16-range float32 samples at ``sample_rate``, its phones (ARPAbet, exact times),
    and per word the IPA phones espeak-ng chose."""

    samples: np.ndarray
    sample_rate: int
    phones: list[Phone]
    words: list[tuple[str, list[str]]]


class _Engine:
    def __init__(self) -> None:
        path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(path)
        except OSError:
            raise EngineUnavailable("espeak-ng is not installed (apt-get install espeak-ng)") from None
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA)
        if self.sample_rate <= 0:
            raise EngineUnavailable("espeak-ng could not load its data (apt-get install espeak-ng-data)")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, str]] = []
        self._callback = _CALLBACK(self._on_audio)  # kept referenced: the library calls it later
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                          ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]

    def _on_audio(self, wav: Any, count: int, events: Any) -> int:  # POINTER(c_short), POINTER(_Event)
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).astype(np.float32))
        i = 0
        while events[i].type != _EVENT_END_OF_LIST:
            e = events[i]
            if e.type in (_EVENT_WORD, _EVENT_PHONEME, _EVENT_MSG_TERMINATED):
                symbol = e.id.string.decode("utf-8", "replace") if e.type == _EVENT_PHONEME else ""
                self._events.append((e.type, e.sample, e.text_position, e.length, symbol))
            i += 1
        return 0

    def _synth(self, text: str) -> None:
        self._chunks, self._events = [], []
        data = text.encode("utf-8")
        self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()

    def speak(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int, word_gap: int) -> EspeakSpeech:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise InvalidInput(f"espeak-ng has no voice {voice!r} (see `espeak-ng --voices`)")
        for param, value in ((_PARAM_RATE, rate), (_PARAM_PITCH, pitch), (_PARAM_RANGE, pitch_range),
                             (_PARAM_WORDGAP, word_gap), (_PARAM_VOLUME, 100)):
            self.lib.espeak_SetParameter(param, int(value), 0)
        # espeak-ng carries state from one utterance to the next (after some voice switches the next utterance
        # even loses its first events): a throwaway word first makes every utterance start from the same state.
        self._synth("a")
        self._synth(text)
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        phones, words = _parse_events(self._events, text, self.sample_rate, len(samples))
        return EspeakSpeech(pcm16_to_float(samples), self.sample_rate, phones, words)


def _parse_events(events: list[tuple[int, int, int, int, str]], text: str, rate: int,
                  total: int) -> tuple[list[Phone], list[tuple[str, list[str]]]]:
    phones: list[Phone] = []
    words: list[tuple[str, list[str]]] = []
    marks = [e for e in events if e[0] in (_EVENT_PHONEME, _EVENT_MSG_TERMINATED)]
    for k, (kind, sample, _, _, symbol) in enumerate(marks):
        if kind != _EVENT_PHONEME:
            continue
        end = marks[k + 1][1] if k + 1 < len(marks) else total
        if end <= sample:
            continue
        phone = ipa_to_arpabet(symbol) if symbol and not symbol.startswith("(") else SILENCE
        phones.append(Phone(phone or SILENCE, sample / rate, end / rate))
    for kind, _, position, length, symbol in events:
        if kind == _EVENT_WORD:
            words.append((text[max(position - 1, 0):max(position - 1, 0) + length], []))
        elif kind == _EVENT_PHONEME and symbol and not symbol.startswith("(") and words:
            words[-1][1].append(symbol)
    if phones and phones[0].start > 0:
        phones.insert(0, Phone(SILENCE, 0.0, phones[0].start))
    if phones and phones[-1].end < total / rate:
        phones.append(Phone(SILENCE, phones[-1].end, total / rate))
    return merge_silences(phones), words


_engine: _Engine | None = None


def _get_engine() -> _Engine:
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


def speak(text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50, pitch_range: int = 50,
          word_gap: int = 0) -> EspeakSpeech:
    """Synthesise ``text`` with an espeak-ng voice (``"en-us"``, ``"de"``, ``"en-gb+f3"``); rate in words per
    minute (80-450), pitch and range 0-100, extra gap between words in units of 10 ms."""
    if not text.strip():
        raise InvalidInput("text to speak is empty")
    with _LOCK:
        return _get_engine().speak(text, voice, rate, pitch, pitch_range, word_gap)


def phonemize(text: str, language: str = "en-us") -> list[tuple[str, list[str]]]:
    """Each word of ``text`` with the IPA phones espeak-ng's rules for ``language`` give it."""
    return [(word, ipa) for word, ipa in speak(text, language).words if word.strip()]


def has_voice(name: str) -> bool:
    """Whether espeak-ng knows the voice ``name`` (language or file name, optionally ``+variant``)."""
    with _LOCK:
        return _get_engine().lib.espeak_SetVoiceByName(name.encode()) == 0


def available() -> bool:
    """Whether the espeak-ng library can be loaded here."""
    try:
        with _LOCK:
            _get_engine()
    except EngineUnavailable:
        return False
    return True
