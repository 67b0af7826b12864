"""The transcript languages facecast accepts: a fixed list of espeak-ng language names. A client's language
string is looked up here and only the listed name goes on to espeak-ng, so it never reaches the engine's voice
loader as a path (a path there crashed the daemon, and a missing one told the client whether a file exists)."""

from __future__ import annotations

from facecast.errors import InvalidInput, quoted

# espeak-ng 1.51's languages (`espeak-ng --voices`), with ``en`` for English.
LANGUAGES: tuple[str, ...] = (
    "af", "am", "an", "ar", "as", "az", "ba", "be", "bg", "bn", "bpy", "bs", "ca", "cmn", "cmn-latn-pinyin", "cs",
    "cv", "cy", "da", "de", "el", "en", "en-029", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
    "en-gb-x-rp", "en-us", "en-us-nyc", "eo", "es", "es-419", "et", "eu", "fa", "fa-latn", "fi", "fr", "fr-be",
    "fr-ch", "fr-fr", "ga", "gd", "gn", "grc", "gu", "hak", "haw", "he", "hi", "hr", "ht", "hu", "hy", "hyw", "ia",
    "id", "io", "is", "it", "ja", "jbo", "ka", "kk", "kl", "kn", "ko", "kok", "ku", "ky", "la", "lb", "lfn", "lt",
    "ltg", "lv", "mi", "mk", "ml", "mr", "ms", "mt", "my", "nb", "nci", "ne", "nl", "nog", "om", "or", "pa", "pap",
    "piqd", "pl", "pt", "pt-br", "py", "qdb", "qu", "quc", "qya", "ro", "ru", "ru-lv", "sd", "shn", "si", "sjn",
    "sk", "sl", "smj", "sq", "sr", "sv", "sw", "ta", "te", "th", "tk", "tn", "tr", "tt", "ug", "uk", "ur", "uz",
    "vi", "vi-vn-x-central", "vi-vn-x-south", "yue",
)
_BY_NAME = {name: name for name in LANGUAGES}


def check_language(language: str) -> str:
    """The listed espeak-ng name for ``language`` (case and ``_``/``-`` as BCP-47 writes them are accepted:
    ``en_US`` is ``en-us``); :class:`InvalidInput` for anything else."""
    name = _BY_NAME.get(language.strip().lower().replace("_", "-")) if len(language) <= 32 else None
    if name is None:
        raise InvalidInput(f"unknown language {quoted(language)}: use an espeak-ng language name such as en, "
                           "en-us, de, fr or es (see docs/DAEMON.md)")
    return name
