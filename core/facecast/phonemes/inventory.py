"""Phone inventories: ARPAbet (pocketsphinx, CMU dictionary, festival and flite) and the IPA that espeak-ng
reports for every language it speaks, mapped onto ARPAbet so that one viseme table serves them all.

The IPA map is explicit for the symbols espeak-ng uses in its ~100 languages (English, German, French,
Spanish, Mandarin, ...); a symbol it does not list falls back to its base letter with diacritics, length,
stress and tone removed, then to its longest known prefix.
"""

from __future__ import annotations

import unicodedata

ARPABET: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY",
    "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z",
    "ZH",
)  # fmt: skip
SILENCE = "SIL"
PHONES: tuple[str, ...] = (SILENCE, *ARPABET)
PHONE_ID: dict[str, int] = {p: i for i, p in enumerate(PHONES)}
VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
BILABIALS = frozenset({"P", "B", "M"})

# espeak-ng IPA (after removing stress and length marks) -> ARPAbet.
IPA_TO_ARPABET: dict[str, str] = {
    # English vowels and diphthongs
    "ɑ": "AA", "ɒ": "AA", "a": "AA", "ä": "AA", "æ": "AE", "ɐ": "AH", "ʌ": "AH", "ə": "AH", "ɜ": "ER", "ɚ": "ER",
    "ɝ": "ER", "ɔ": "AO", "aʊ": "AW", "aɪ": "AY", "ɑɪ": "AY", "ɛ": "EH", "e": "EY", "eɪ": "EY", "ɪ": "IH",
    "ᵻ": "IH", "ɨ": "IH", "i": "IY", "oʊ": "OW", "əʊ": "OW", "o": "OW", "ɔɪ": "OY", "ʊ": "UH", "u": "UW",
    "ɪə": "IH", "eə": "EH", "ʊə": "UH", "aɪə": "AY", "aʊə": "AW", "ɛɹ": "EH", "ɑɹ": "AA", "ɔɹ": "AO", "ɪɹ": "IH",
    "ʊɹ": "UH", "iə": "IY", "oː": "OW",
    # other languages' vowels (German, French, Nordic, Mandarin, ...)
    "y": "UW", "ʏ": "UH", "ø": "OW", "œ": "AH", "ɵ": "UH", "ɯ": "UW", "ɤ": "AH", "ɘ": "AH", "ɞ": "AH", "ɶ": "AE",
    "ɑ̃": "AA", "ɛ̃": "EH", "ɔ̃": "AO", "œ̃": "AH", "aɪ̯": "AY", "aʊ̯": "AW", "ɔʏ": "OY", "ɔø": "OY", "ai": "AY",
    "au": "AW", "ei": "EY", "ou": "OW", "ia": "AA", "ua": "AA", "uo": "OW", "ie": "EH", "iou": "OW", "uei": "EY",
    "ɪ̯": "IH", "ʊ̯": "UH", "ɐ̯": "AH", "ɑ5": "AA",
    # consonants
    "p": "P", "b": "B", "m": "M", "ɱ": "M", "f": "F", "v": "V", "ʋ": "V", "β": "V", "ɸ": "F", "θ": "TH",
    "ð": "DH", "t": "T", "d": "D", "n": "N", "ɾ": "D", "ɽ": "D", "ʈ": "T", "ɖ": "D", "ɳ": "N", "s": "S", "z": "Z",
    "ʃ": "SH", "ʒ": "ZH", "ɕ": "SH", "ʑ": "ZH", "ʂ": "SH", "ʐ": "ZH", "tʃ": "CH", "dʒ": "JH", "tɕ": "CH",
    "dʑ": "JH", "tʂ": "CH", "dʐ": "JH", "ts": "S", "dz": "Z", "pf": "F", "k": "K", "ɡ": "G", "g": "G", "ŋ": "NG",
    "x": "HH", "ɣ": "G", "χ": "HH", "ʁ": "R", "ʀ": "R", "q": "K", "ɢ": "G", "h": "HH", "ɦ": "HH", "ʔ": "T",
    "ç": "HH", "ʝ": "Y", "j": "Y", "ɲ": "N", "ʎ": "L", "l": "L", "ɫ": "L", "ɬ": "L", "ɭ": "L", "ʟ": "L", "ɹ": "R",
    "r": "R", "ɻ": "R", "w": "W", "ʍ": "W", "ɥ": "W", "c": "K", "ɟ": "G", "ħ": "HH", "ʕ": "HH", "ɰ": "W",
    "n̩": "N", "l̩": "L", "m̩": "M",
}  # fmt: skip

# Festival and flite ("radio" phone set, lower case) differ from ARPAbet only here.
FESTIVAL_TO_ARPABET: dict[str, str] = {"pau": SILENCE, "h#": SILENCE, "brth": SILENCE, "ax": "AH", "axr": "ER"}

_STRIP = {"ˈ", "ˌ", "ː", "ˑ", "-", "_", "'", ",", "%", "=", "#", "|", "‖", "ʰ", "ʲ", "ʷ", "ˠ", "ˤ", "̚", "̯"}


def _clean_ipa(symbol: str) -> str:
    kept = [ch for ch in unicodedata.normalize("NFD", symbol) if ch not in _STRIP and not ch.isdigit()]
    return unicodedata.normalize("NFC", "".join(kept))


def ipa_to_arpabet(symbol: str) -> str | None:
    """The ARPAbet phone for one espeak-ng IPA phone, or ``None`` for a pause or a marker without sound."""
    if symbol in IPA_TO_ARPABET:
        return IPA_TO_ARPABET[symbol]
    cleaned = _clean_ipa(symbol)
    if not cleaned:
        return None
    if cleaned in IPA_TO_ARPABET:
        return IPA_TO_ARPABET[cleaned]
    base = "".join(ch for ch in unicodedata.normalize("NFD", cleaned) if not unicodedata.combining(ch))
    for end in range(len(base), 0, -1):  # longest known prefix: "tsʰ" -> "ts", "ɑ̃ɪ" -> "ɑ"
        if base[:end] in IPA_TO_ARPABET:
            return IPA_TO_ARPABET[base[:end]]
    return None


def arpabet(symbol: str) -> str | None:
    """Normalise an ARPAbet or festival/flite phone (``"AH0"``, ``"ax"``, ``"pau"``, ``"+SPN+"``) to
    :data:`PHONES`; ``None`` when it is not a phone at all."""
    lower = symbol.strip().lower()
    if lower in FESTIVAL_TO_ARPABET:
        return FESTIVAL_TO_ARPABET[lower]
    upper = lower.rstrip("012").upper()
    if upper in PHONE_ID:
        return upper
    if upper.startswith("+") or upper in {"<SIL>", "</S>", "<S>", "SP", "SPN", "NSN"}:
        return SILENCE
    return None
