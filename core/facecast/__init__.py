"""facecast: speech audio (and one portrait) to facial animation.

The small public API::

    import facecast
    clip = facecast.animate("speech.wav", animator="energy", emotion="happy")
    facecast.export(clip, "take.csv")          # or .json, .fcclip, .glb, .usda, .fbx, .mp4
    clip = facecast.load("take.csv")

See :mod:`facecast.motion` for the contract every clip follows and :mod:`facecast.client` (threaded) or
:mod:`facecast.aio` (asyncio) for the daemon.
"""

from __future__ import annotations

import os
from typing import Any

# numpy's OpenBLAS keeps a worker thread per core spinning after each matrix product. facecast's products are
# small, and a daemon serving live streams makes thousands a second: that thread took 0.9 of a core on the 2-core
# box, and 32 `neural` streams ran 7-28 frames late (docs/BENCHMARKS.md, "Faster neural streams"). So one thread,
# unless the caller says otherwise; this must run before numpy loads (a process that loaded it first keeps its own).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from facecast._version import __version__
from facecast.controls import Controls
from facecast.errors import AudioError, FacecastError, InvalidInput
from facecast.motion import CHANNELS, MotionClip, MotionFrame

__all__ = [
    "__version__", "animate", "export", "load", "Controls", "MotionClip", "MotionFrame", "CHANNELS",
    "FacecastError", "InvalidInput", "AudioError",
]


def animate(
    audio: str | os.PathLike[str] | bytes,
    animator: str | None = None,
    fps: int = 30,
    controls: Controls | None = None,
    progress: Any = None,
    text: str | None = None,
    language: str | None = None,
    settle: bool = True,
    **control_fields: Any,
) -> MotionClip:
    """Animate an audio file (path or encoded bytes) and return the :class:`MotionClip`.

    Controls may be given as a :class:`Controls` or as keyword fields (``emotion="happy"``, ``seed=3``).
    ``text`` (the transcript) and ``language`` go to animators that take them (``phonetic``). The take ends
    settled to neutral over its last 150 ms unless ``settle=False``.
    """
    from facecast.animators import get_animator
    from facecast.audio import load_audio

    if control_fields:
        controls = Controls.from_dict({**(controls.to_dict() if controls else {}), **control_fields})
    from facecast.phonemes.languages import check_language

    options = {key: value for key, value in (("text", text), ("language", check_language(language))) if value}
    from facecast.settle import settle_clip
    from facecast.speechcheck import warn_if_not_speech

    decoded = load_audio(audio)
    warn_if_not_speech(decoded, os.fspath(audio) if isinstance(audio, (str, os.PathLike)) else "the audio")
    clip = get_animator(animator).animate(decoded, controls, fps, progress=progress, **options)
    return settle_clip(clip) if settle else clip


def export(clip: MotionClip, path: str | os.PathLike[str], **options: Any) -> None:
    """Write ``clip`` to ``path`` in the format its extension names (.csv .json .fcclip .glb .gltf .usda .usdc
    .fbx .mp4). ``options`` go to that format's writer: ``head=``, ``preset=``, ``max_error=`` for glTF;
    ``animation_only=``, ``max_error=`` for USD; ``head=``, ``preset=`` for FBX; ``avatar=``, ``audio=``,
    ``size=`` for mp4; ``audio=`` (a :class:`facecast.audio.Audio`) for USD and glTF writes the speech beside
    the file and references it."""
    from facecast.exports import export as write

    write(clip, path, **options)


def load(path: str | os.PathLike[str]) -> MotionClip:
    """Read a take written by :func:`export` (``.fcclip``, Live Link Face ``.csv``, ``.json``)."""
    from facecast.exports import load_clip

    return load_clip(path)
