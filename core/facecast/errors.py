"""The errors facecast raises on purpose. Each message names the problem so a user can fix it."""

import re


class FacecastError(Exception):
    """Base class of every error facecast raises on purpose."""


class InvalidInput(FacecastError, ValueError):
    """The input (audio, controls, a file, a request) is unusable; the message says why."""


class AudioError(InvalidInput):
    """Audio that cannot be decoded or used: empty, silent, too long, wrong rate, corrupt."""


_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")
_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")


def reason(error: BaseException) -> str:
    """What went wrong, for a message a user reads: the OS's words without an errno number or file name (the
    message names the file itself), no ``<_io.BytesIO object at 0x…>`` reprs; the error's type if nothing is left."""
    text = error.strerror if isinstance(error, OSError) and error.strerror else _ERRNO.sub("", str(error))
    text = _OBJECT_REPR.sub("", text).strip().rstrip(":").strip()
    return text or type(error).__name__


MAX_QUOTED = 64  # characters of a client's value that an error message repeats


def quoted(value: object, limit: int = MAX_QUOTED) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters so a message never echoes
    unbounded input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class ConfigError(FacecastError):
    """A setting given at start-up (a flag, a file, an environment variable) cannot be used; the message says
    which and why."""
