"""Generate & Bake inside Blender: a bundled animator runs in-process, with no daemon and no network.

The path is built around an animator *name*, as the daemon's is: :func:`local_animators` lists the animators
whose code (and weights) the extension carries and that load here, and :func:`local_animate_job` runs
``facecast.animators.get_animator(name).animate`` on a worker thread, posting progress like a daemon job. The
extension bundles ``neural`` (the learned model: its module, its ONNX weights and the onnxruntime wheels) and
``energy`` (numpy only). Without a chosen animator the bake uses :func:`default_local_animator`: ``neural``
where it loads, else ``energy``; :func:`local_report` says which and why.

Audio is decoded on the main thread by Blender's own audio library (``aud``, which reads what a sound strip
reads), mixed to mono and resampled to the model rate; without ``aud`` (bpy module builds without audio)
16-bit PCM wav files still work through the standard library. No bpy in this module.
"""

from __future__ import annotations

import importlib
import wave

import numpy as np

from facecast.controls import Controls
from facecast.errors import AudioError, FacecastError, InvalidInput
from facecast.motion import MotionClip

from .jobs import Job

PREFERRED_LOCAL_ANIMATOR = "neural"
FALLBACK_LOCAL_ANIMATOR = "energy"
MAX_SECONDS = 600.0


def _load_error(name: str) -> str | None:
    """Why animator ``name`` cannot run in this Python (its module, a module it needs such as onnxruntime, or
    its weights are missing), or ``None`` when it loads. A loaded animator stays loaded (shared with bakes)."""
    from facecast.animators import animator_module, get_animator

    try:
        importlib.import_module(animator_module(name))
        get_animator(name)
    except ImportError as e:
        return f"{e.name or 'a module'} does not import here ({e})"
    except FacecastError as e:
        return str(e)
    return None


def local_animators() -> list[str]:
    """Registered animators that can run in this Python (their modules import and their models load)."""
    from facecast.animators import animator_names

    return [name for name in animator_names() if _load_error(name) is None]


def default_local_animator() -> str:
    """:data:`PREFERRED_LOCAL_ANIMATOR` (the learned model) where it loads, else the numpy-only fallback."""
    return PREFERRED_LOCAL_ANIMATOR if _load_error(PREFERRED_LOCAL_ANIMATOR) is None else FALLBACK_LOCAL_ANIMATOR


def local_report() -> tuple[bool, str]:
    """``(ok, line)``: which animator an in-Blender bake uses by default, and why when it is the fallback."""
    error = _load_error(PREFERRED_LOCAL_ANIMATOR)
    if error is None:
        return True, f"runs in Blender with the learned model ({PREFERRED_LOCAL_ANIMATOR}, ONNX Runtime)"
    return False, (f"the learned model cannot run in Blender ({error}); baking with {FALLBACK_LOCAL_ANIMATOR} "
                   "instead (or switch Run to Daemon)")


def check_animator(name: str) -> str:
    """``name`` (default :func:`default_local_animator`) if it runs in-process, else a clear error."""
    name = name or default_local_animator()
    available = local_animators()
    if name not in available:
        raise InvalidInput(f"animator {name!r} does not run inside Blender (bundled: {', '.join(available)}); "
                           "choose one of those, or switch Run to Daemon")
    return name


def decode_audio(path: str, rate: int) -> np.ndarray:
    """Mono float32 samples of an audio file at ``rate``: Blender's ``aud`` when present, else a PCM wav."""
    try:
        import aud
    except ImportError:
        return _decode_wav(path, rate)
    try:
        sound = aud.Sound(path).rechannel(1).resample(rate, True)
        samples = np.asarray(sound.data(), np.float32).reshape(-1)
    except Exception as e:  # aud raises plain errors for unreadable files
        raise AudioError(f"cannot decode {path}: {e}") from None
    return samples


def _decode_wav(path: str, rate: int) -> np.ndarray:
    try:
        with wave.open(path) as w:
            if w.getsampwidth() != 2:
                raise AudioError(f"{path}: without Blender's audio library only 16-bit PCM wav files can be read")
            pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0
            samples = pcm.reshape(-1, w.getnchannels()).mean(axis=1)
            source_rate = w.getframerate()
    except (wave.Error, EOFError, OSError) as e:
        raise AudioError(f"cannot decode {path}: {e}") from None
    return resample_linear(samples, source_rate, rate)


def resample_linear(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Linear-interpolation resampling (enough for the loudness features of the energy animator)."""
    if from_rate == to_rate or len(samples) == 0:
        return samples.astype(np.float32)
    count = int(round(len(samples) * to_rate / from_rate))
    positions = np.arange(count) * (from_rate / to_rate)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def local_animate_job(samples: np.ndarray, animator: str, fps: int, controls: Controls, name: str = "audio") -> Job:
    """Animate ``samples`` (mono float32 at the model rate) with the in-process animator ``animator``."""
    from facecast.audio import MODEL_RATE, Audio, is_silent

    samples = np.asarray(samples, np.float32)
    if samples.size == 0:
        raise AudioError(f"{name} contains no audio samples")
    if len(samples) / MODEL_RATE > MAX_SECONDS:
        raise AudioError(f"{name} is {len(samples) / MODEL_RATE:.1f} s long; the limit is {MAX_SECONDS:g} s")
    if is_silent(samples, MODEL_RATE):
        raise AudioError(f"{name} is silent; nothing to animate")
    animator = check_animator(animator)

    def work(job: Job) -> MotionClip:
        from facecast.animators import get_animator

        def progress(done: float, total: float) -> None:
            job.progress(int(done * fps), int(total * fps))

        return get_animator(animator).animate(Audio(samples, MODEL_RATE), controls, fps, progress=progress)

    return Job(work, "facecast-local")
