"""Hostile payloads (decompression bombs, playlists that name files, formats outside the allow-list) and a way to
measure what one request costs a real daemon in memory. Used by the attack tests and benchmarks/bench_bombs.py."""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import msgpack
import numpy as np
import soundfile as sf

# --- audio -----------------------------------------------------------------------------------------------------


def flac_bomb(seconds: float, rate: int = 48_000, hide_length: bool = False) -> bytes:
    """A FLAC of ``seconds`` of silence (about 100 KB per hour); ``hide_length`` zeroes the total-samples
    field of STREAMINFO, as a bomb would, so only the decode itself can find out how long it is."""
    buf = io.BytesIO()
    block = np.zeros(rate * 10, np.float32)
    with sf.SoundFile(buf, "w", rate, 1, format="FLAC", subtype="PCM_16") as f:
        for _ in range(int(seconds // 10)):
            f.write(block)
    data = bytearray(buf.getvalue())
    if hide_length:
        assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO is the first metadata block
        # STREAMINFO body from byte 8: 10 bytes of block and frame sizes, then 20 bits rate, 3 channels,
        # 5 bits per sample, 36 bits total samples (the low 4 bits of byte 21 and bytes 22-25).
        data[21] &= 0xF0
        data[22:26] = bytes(4)
    return bytes(data)


def float_wav(samples: np.ndarray, rate: int = 16_000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples.astype(np.float32), rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def ffconcat(target: str) -> bytes:
    """An FFmpeg concat playlist naming a file relative to the daemon's working directory."""
    return f"ffconcat version 1.0\nfile '{target}'\n".encode()


def hls(target: str) -> bytes:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:{target}\n#EXT-X-ENDLIST\n".encode()


# --- images ----------------------------------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(width: int, height: int, channels: int = 3) -> bytes:
    """A real, complete PNG of ``width`` x ``height`` black pixels: a few hundred KB that decode to
    width * height * channels bytes."""
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    compressor = zlib.compressobj(9)
    row = bytes(1 + width * channels)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n%%EndComments\n"
       b"newpath 0 0 moveto 64 64 lineto stroke showpage\n%%EOF\n")


def fcavatar(png: bytes, size: tuple[int, int], **fields: object) -> bytes:
    """A ``.fcavatar`` document holding ``png`` recorded as ``size``, scattered landmarks, and ``fields`` over
    the defaults."""
    width, height = size
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(0.3, 0.7, 468) * width, rng.uniform(0.3, 0.7, 468) * height,
                              np.zeros(468)]).astype("<f4")
    doc = {"format": "facecast.fcavatar", "version": 1, "image_png": png,
           "landmarks": points.tobytes(), "box": [0.0, 0.0, float(width), float(height)],
           "image_size": [width, height], "score": 0.9, "source": "detector", "faces_found": 1,
           "rig_scale": 0.2 * width, "metadata": {}}
    doc.update(fields)
    return msgpack.packb(doc, use_bin_type=True)


# --- memory ----------------------------------------------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def peak_rss_growth_mb(pid: int, call: Callable[[], object], settle: float = 0.2) -> tuple[float, object]:
    """How far the process's peak RSS rose above its RSS at the start while ``call`` ran (MB), and what
    ``call`` returned (or the exception it raised). Resets the kernel's high-water mark first (clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = _status_kib(pid, "VmRSS")
    try:
        result: object = call()
    except Exception as e:  # the caller checks what the refusal was
        result = e
    time.sleep(settle)
    return (_status_kib(pid, "VmHWM") - before) / 1024, result
