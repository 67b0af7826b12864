"""The take's audio beside a 3-D export: ``take.usda`` + ``take.wav``, ``take.glb`` + ``take.wav``.

USD and glTF files reference the wav by a relative name (USD: a ``UsdMediaSpatialAudio`` prim's ``filePath``;
glTF: the animation's ``extras.audio``), so a folder copied elsewhere keeps playing in sync: the wav's first
sample is frame 0 of the take. The wav is written atomically before the export; :func:`audio_beside` removes
it again when the export fails, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from facecast.audio import Audio
from facecast.media import write_wav


def sidecar_name(path: str | os.PathLike[str]) -> str:
    """The wav's file name for an export at ``path`` (``take.glb`` -> ``take.wav``)."""
    return os.path.splitext(os.path.basename(os.fspath(path)))[0] + ".wav"


@contextlib.contextmanager
def audio_beside(path: str | os.PathLike[str], audio: Audio | None) -> Iterator[str | None]:
    """Write ``audio`` as a 16-bit mono wav beside ``path``; yield its relative name (None without audio).

    If the body of the ``with`` fails, the wav is removed.
    """
    if audio is None:
        yield None
        return
    name = sidecar_name(path)
    target = os.path.join(os.path.dirname(os.path.abspath(os.fspath(path))), name)
    write_wav(target, audio.samples, audio.sample_rate)
    try:
        yield name
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise
