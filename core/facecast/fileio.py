"""Files in and out: atomic writes (a temporary file or folder beside the target, renamed over it), inputs given
as a path or as bytes, and facecast's versioned msgpack documents (``.fcclip``, ``.fcavatar``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import typing
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
    tmp = ""
    try:  # from the moment the temporary exists: an interrupt anywhere below removes it
        fd, tmp = tempfile.mkstemp(prefix=".facecast-", suffix=suffix, dir=folder)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs should get the usual permissions
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if tmp:
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


# --- container formats ------------------------------------------------------------------------------------
# The container formats facecast decodes: the format is recognised from the data's leading bytes and must be on an
# allow-list; FFmpeg then opens it from memory (or an open file) as exactly that format, with every other demuxer
# and every protocol refused. A playlist format such as ffconcat, HLS or a file:/http: reference therefore never
# makes the decoder open something the client named.

# FFmpeg demuxer names: "mov" reads mp4, m4a and mov; "matroska" reads mkv and webm.
AUDIO_CONTAINERS: tuple[str, ...] = ("wav", "flac", "ogg", "mp3", "mov")
VIDEO_CONTAINERS: tuple[str, ...] = ("mov", "matroska")
AUDIO_NAMES = "wav, flac, ogg, mp3, m4a (or an mp4's sound track)"
VIDEO_NAMES = "mp4, mov, mkv, webm"
SNIFF_BYTES = 16
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")  # for a clearer message only: never decoded here


def sniff(head: bytes) -> str | None:
    """The FFmpeg demuxer name of a container recognised by its first bytes, or None."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE6 in (0xE2, 0xE4, 0xE6)):
        return "mp3"  # an ID3 tag, or an MPEG audio frame header (sync bits, a layer I-III)
    return None


def container_format(head: bytes, allowed: tuple[str, ...], name: str, what: str,
                     error: type[Exception] = InvalidInput) -> str:
    """The allowed demuxer for data starting with ``head``; ``error`` when it is none of them."""
    found = sniff(head)
    if found not in allowed:
        if head.startswith(IMAGE_MAGIC):
            raise error(f"{name} has no audio stream (it is an image)")
        raise error(f"{name} is not {what} facecast reads")
    return found


def open_container(source: bytes | typing.BinaryIO, format_name: str, name: str,
                   error: type[Exception] = InvalidInput) -> typing.Any:
    """A PyAV input container for ``source`` (bytes or an open binary file) read as ``format_name`` only, with no
    protocol: the demuxer cannot open any other file or URL. ``error`` names data that does not open."""
    import io

    import av

    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    try:
        return av.open(stream, mode="r", format=format_name,
                       options={"format_whitelist": format_name, "protocol_whitelist": "none"})
    except (av.FFmpegError, ValueError, UnicodeDecodeError) as e:
        raise error(f"{name} is not a readable video or sound file ({format_name}: {type(e).__name__})") from None


@contextlib.contextmanager
def open_video_file(path: str | os.PathLike[str], still_hint: str = "") -> Iterator[typing.Any]:
    """A PyAV container for a video file on disk (a path the local user gave), opened as above; the file and
    the container close on leaving the ``with``. A still image is refused as one (``still_hint`` says what to
    do instead)."""
    name = os.fspath(path)
    try:
        file = open(name, "rb")  # noqa: SIM115 (closed on leaving the context)
    except OSError as e:
        raise InvalidInput(f"cannot read video {name}: {e.strerror}") from None
    with file:
        head = file.read(SNIFF_BYTES)
        if head.startswith(IMAGE_MAGIC):
            raise InvalidInput(f"{name} is a still image, not a video" + (f": {still_hint}" if still_hint else ""))
        if sniff(head) in AUDIO_CONTAINERS and sniff(head) not in VIDEO_CONTAINERS:
            raise InvalidInput(f"{name} has no video stream (it is a {sniff(head)} sound file)")
        format_name = sniff(head)
        if format_name not in VIDEO_CONTAINERS:
            raise InvalidInput(f"{name} is not a readable video or image (videos: {VIDEO_NAMES})")
        file.seek(0)
        with open_container(file, format_name, name) as container:
            yield container
