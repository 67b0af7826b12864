"""Which transcript languages facecast can read: English (its pronouncing dictionary) and every language
espeak-ng has a voice for. A language without a voice is refused with a clear error before any work."""

from __future__ import annotations

import re

from facecast.errors import InvalidInput

ENGLISH = ("en", "en-us", "en-gb")
_NAME = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,2}")


def check_language(language: str | None) -> str | None:
    """``language`` when a transcript in it can be read (None stays None); :class:`InvalidInput` otherwise."""
    if language is None or language == "":
        return None
    if not isinstance(language, str) or not _NAME.fullmatch(language):
        raise InvalidInput(f"language {language!r} is not a language code such as en, de, fr or pt-br")
    if language.lower() in ENGLISH:
        return language.lower()
    try:
        from facecast.phonemes import espeak
    except ImportError:  # a client without the phoneme engines (the Blender add-on): the daemon checks the voice
        return language.lower()
    if not espeak.available():
        raise InvalidInput(f"language {language!r} needs espeak-ng for its pronunciations, which is not installed "
                           "here (apt install libespeak-ng1); English works without it")
    if not espeak.has_voice(language.lower()):
        raise InvalidInput(f"no voice for language {language!r}: facecast reads transcripts in English or in a "
                           "language espeak-ng has a voice for (espeak-ng --voices lists them)")
    return language.lower()
