"""Text-to-speech voices that report their phone timings: espeak-ng (its languages × voice variants), flite
and festival. :func:`voices` lists every voice reachable on this machine; :func:`synthesize` speaks with one.

Each engine gives exact phone timings: espeak-ng through its phoneme events, flite with ``-psdur``, festival
by saving the utterance's Segment relation. mbrola voices are not used: Debian ships them in ``non-free``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import soundfile

from facecast.errors import InvalidInput
from facecast.phonemes import EngineUnavailable, Phone, espeak, merge_silences
from facecast.phonemes.inventory import arpabet

# English espeak-ng accents and the voice variants (in espeak-ng-data/voices/!v) that sound distinct.
ESPEAK_ENGLISH = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
                  "en-us-nyc")
ESPEAK_VARIANTS = ("m1", "m3", "m7", "f1", "f2", "f4", "Andrea", "klatt3")
# Other languages (spoken with pseudo-words, see facecast.train.sentences), two variants each.
ESPEAK_OTHER = ("de", "fr", "es", "it", "nl", "pl", "pt", "sv", "cs", "fi", "tr", "hu")
ESPEAK_OTHER_VARIANTS = ("m2", "f3")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")


@dataclass(frozen=True)
class Voice:
    """One voice: ``engine`` (espeak, flite, festival), its ``name`` for that engine, and its language."""

    engine: str
    name: str
    language: str

    @property
    def id(self) -> str:
        return f"{self.engine}:{self.name}"


@dataclass
class Speech:
    """Synthesised speech: float32 samples in [-1, 1] at ``sample_rate`` and its phones with exact times."""

    samples: np.ndarray
    sample_rate: int
    phones: list[Phone]


@lru_cache(maxsize=1)
def voices() -> tuple[Voice, ...]:
    """Every voice reachable here, espeak-ng first; engines that are not installed contribute none."""
    found: list[Voice] = []
    if espeak.available():
        english = [Voice("espeak", f"{lang}+{v}", "en") for lang in ESPEAK_ENGLISH for v in ESPEAK_VARIANTS]
        other = [Voice("espeak", f"{lang}+{v}", lang) for lang in ESPEAK_OTHER for v in ESPEAK_OTHER_VARIANTS]
        found += [voice for voice in english + other if espeak.has_voice(voice.name)]
    if shutil.which("flite"):
        listed = subprocess.run(["flite", "-lv"], capture_output=True, text=True, check=False).stdout.split()
        found += [Voice("flite", name, "en") for name in FLITE_VOICES if name in listed]
    if shutil.which("festival"):
        found += [Voice("festival", name, "en") for name in _festival_voices()]
    return tuple(found)


def voice_by_id(voice_id: str) -> Voice:
    for voice in voices():
        if voice.id == voice_id:
            return voice
    raise InvalidInput(f"no TTS voice {voice_id!r} here; available: {', '.join(v.id for v in voices())}")


def synthesize(voice: Voice, text: str, rate: float = 1.0, pitch: float = 1.0) -> Speech:
    """Speak ``text``; ``rate`` and ``pitch`` are factors around the voice's own (1 = unchanged)."""
    if voice.engine == "espeak":
        spoken = espeak.speak(text, voice.name, rate=round(175 * rate), pitch=round(np.clip(50 * pitch, 0, 99)))
        speech = Speech(spoken.samples.astype(np.float32), spoken.sample_rate, spoken.phones)
    elif voice.engine == "flite":
        speech = _flite(voice.name, text, rate, pitch)
    elif voice.engine == "festival":
        speech = _festival(voice.name, text, rate, pitch)
    else:
        raise InvalidInput(f"unknown TTS engine {voice.engine!r}")
    duration = len(speech.samples) / speech.sample_rate
    ending = Phone("SIL", duration, duration)
    speech.phones = merge_silences([p for p in speech.phones if p.start < duration] + [ending])
    if speech.phones and speech.phones[-1].end > duration:
        last = speech.phones[-1]
        speech.phones[-1] = Phone(last.symbol, last.start, duration)
    speech.phones = [p for p in speech.phones if p.end > p.start]
    return speech


def _read_wav(path: str) -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    return samples[:, 0], int(rate)


def _phones_from_ends(pairs: list[tuple[str, float]]) -> list[Phone]:
    phones, start = [], 0.0
    for symbol, end in pairs:
        phone = arpabet(symbol)
        if phone and end > start:
            phones.append(Phone(phone, start, end))
        start = max(start, end)
    return merge_silences(phones)


def _flite(name: str, text: str, rate: float, pitch: float) -> Speech:
    with tempfile.TemporaryDirectory(prefix="facecast-flite-") as tmp:
        wav = os.path.join(tmp, "out.wav")
        cmd = ["flite", "-voice", name, "-psdur", "--setf", f"duration_stretch={1 / rate:.3f}",
               "--setf", f"int_f0_target_mean={110 * pitch:.1f}" if name in ("kal", "kal16", "awb", "rms")
               else f"int_f0_target_mean={170 * pitch:.1f}", "-t", text, "-o", wav]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0 or not os.path.exists(wav):
            raise EngineUnavailable(f"flite failed for voice {name}: {out.stderr.strip()[:200]}")
        samples, sample_rate = _read_wav(wav)
    pairs = []
    for token in out.stdout.split():
        symbol, _, end = token.rpartition(":")
        if symbol:
            pairs.append((symbol, float(end)))
    return Speech(samples, sample_rate, _phones_from_ends(pairs))


def _festival_voices() -> list[str]:
    present = []
    for root in ("/usr/share/festival/voices/english", "/usr/share/festival/voices/us"):
        if os.path.isdir(root):
            present += os.listdir(root)
    return [name for name in FESTIVAL_VOICES if name in present]


def _festival(name: str, text: str, rate: float, pitch: float) -> Speech:
    # Festival voices have no common pitch control: pitch variety comes from the corpus augmentation instead.
    quoted = text.replace("\\", " ").replace('"', " ")
    with tempfile.TemporaryDirectory(prefix="facecast-festival-") as tmp:
        wav, segs, script = (os.path.join(tmp, n) for n in ("out.wav", "out.segs", "run.scm"))
        with open(script, "w", encoding="utf-8") as f:
            f.write(f'(voice_{name})\n(Parameter.set \'Duration_Stretch {1 / rate:.3f})\n'
                    f'(set! utt (Utterance Text "{quoted}"))\n(utt.synth utt)\n'
                    f'(utt.save.wave utt "{wav}" \'riff)\n(utt.save.segs utt "{segs}")\n')
        out = subprocess.run(["festival", "-b", script], capture_output=True, text=True, check=False)
        if out.returncode != 0 or not os.path.exists(wav):
            raise EngineUnavailable(f"festival failed for voice {name}: {out.stderr.strip()[:200]}")
        samples, sample_rate = _read_wav(wav)
        with open(segs, encoding="utf-8") as f:
            lines = f.read().split("#", 1)[-1].split("\n")
    pairs = [(parts[2], float(parts[0])) for parts in (line.split() for line in lines) if len(parts) >= 3]
    return Speech(samples, sample_rate, _phones_from_ends(pairs))
