"""Which writer options (``head``, ``preset``, ``max_error``, ...) a format takes.

The CLI and batch runs accept one set of options for several formats at once; each writer gets the ones its
signature names. An option no requested format understands is an error, so a typo never goes unnoticed.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable
from typing import Any

from facecast.errors import InvalidInput
from facecast.exports import WRITERS, _extension, writer


def accepted_options(path_or_ext: str | os.PathLike[str]) -> set[str]:
    """The keyword options the writer for this path (or bare extension such as ``.glb``) accepts."""
    text = os.fspath(path_or_ext)
    ext = _extension(text if os.path.splitext(text)[1] else f"x{text}", WRITERS, "write")
    parameters = list(inspect.signature(writer(ext)).parameters.values())[2:]  # after (clip, path)
    return {p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def options_for(path_or_ext: str | os.PathLike[str], options: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``options`` (None values dropped) that this format's writer accepts."""
    accepted = accepted_options(path_or_ext)
    return {k: v for k, v in options.items() if v is not None and k in accepted}


def check_options(formats: Iterable[str | os.PathLike[str]], options: dict[str, Any]) -> None:
    """Raise :class:`InvalidInput` for a given option that none of ``formats`` takes."""
    formats = list(formats)
    accepted = set().union(*(accepted_options(f) for f in formats))
    for name, value in options.items():
        if value is not None and name not in accepted:
            exts = ", ".join(os.path.splitext(os.fspath(f))[1] or os.fspath(f) for f in formats)
            takers = sorted(ext for ext in WRITERS if name in accepted_options(ext))
            raise InvalidInput(f"--{name.replace('_', '-')} does not apply to {exts}; "
                               f"it is for {', '.join(takers) or 'no format'}")
