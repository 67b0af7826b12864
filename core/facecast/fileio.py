"""Files in and out: atomic writes (a temporary file or folder beside the target, renamed over it), inputs given
as a path or as bytes, and facecast's versioned msgpack documents (``.fcclip``, ``.fcavatar``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import msgpack

from facecast.errors import InvalidInput


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path in the target's folder; on success it is renamed to ``path``.

    On any error the temporary file is removed, so a reader never sees a half-written output.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".facecast-", suffix=suffix, dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs should get the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new temporary folder beside ``path``; on success it is renamed to ``path``.

    ``path`` may exist as an empty folder (it is replaced); a non-empty one makes the rename fail, so callers
    check first and name the problem. On any error the temporary folder and everything in it is removed, so a
    reader never sees half a folder.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(partial, 0o777 & ~umask)  # mkdtemp makes 0700; outputs should get the usual permissions
    try:
        yield partial
        if final.is_dir() and not any(final.iterdir()):
            final.rmdir()
        os.replace(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def read_input(source: str | os.PathLike[str] | bytes, what: str,
               error: type[Exception] = InvalidInput) -> tuple[bytes, str]:
    """The bytes of an input given as a path or as bytes, and a name for messages; ``error`` (an
    :class:`InvalidInput` by default) names a missing, unreadable or empty input."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), what
    else:
        name = os.fspath(source)
        try:
            with open(name, "rb") as f:
                data = f.read()
        except OSError as e:
            raise error(f"cannot read {name}: {e.strerror}") from None
    if not data:
        raise error(f"{name} is empty")
    return data, name


def read_document(data: bytes, format_name: str, version: int, extension: str, source: str) -> dict:
    """The msgpack document in ``data``, checked to be ``format_name`` at ``version``; :class:`InvalidInput`
    names garbage, another format or another version."""
    try:
        doc = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as e:  # msgpack raises several unrelated types for garbage
        raise InvalidInput(f"{source} is not a {extension} file ({type(e).__name__})") from None
    if not isinstance(doc, dict) or doc.get("format") != format_name:
        raise InvalidInput(f"{source} is not a {extension} file")
    if doc.get("version") != version:
        raise InvalidInput(f"{source} is {extension} version {doc.get('version')}; this facecast reads version "
                           f"{version}")
    return doc


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
