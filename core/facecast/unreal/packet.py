"""The Live Link Face UDP packet, as the iPhone app sends it and Unreal's Live Link Face source reads it.

All fields are big-endian::

    uint8   version = 6
    int32   length, then the device id (UTF-8)     the app sends a 36-character UUID
    int32   length, then the subject name (UTF-8)  the name Unreal lists as the Live Link subject
    int32   frame number  \
    float32 sub-frame      | frame time: timecode frames at numerator / denominator fps
    int32   fps numerator  |
    int32   fps denominator/
    uint8   count = 61
    61 x float32           Unreal's EARFaceBlendShape order (= facecast.motion.CHANNELS); angles scaled

Head and eye angles travel in the app's scaled units (``facecast.motion.to_livelink_units``).
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

import numpy as np

from facecast.errors import InvalidInput
from facecast.motion import NUM_CHANNELS, from_livelink_units, to_livelink_units

PACKET_VERSION = 6
# Unreal turns the subject into an FName (at most 1023 characters); a short name keeps the packet small and
# readable in the Live Link panel, so the bridge refuses anything longer than this many UTF-8 bytes.
MAX_NAME_BYTES = 255
_FRAME_TIME = struct.Struct(">ifiiB")
_VALUES = struct.Struct(f">{NUM_CHANNELS}f")


@dataclass(frozen=True)
class LiveLinkPacket:
    """One decoded packet; ``values`` are in contract units (angles in radians)."""

    device_id: str
    subject: str
    frame_number: int
    sub_frame: float
    fps_numerator: int
    fps_denominator: int
    values: np.ndarray


def check_name(name: str, what: str = "subject name") -> bytes:
    """The UTF-8 bytes of a subject name or device id, or :class:`InvalidInput` naming the problem."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{what} must be a non-empty string")
    data = name.encode("utf-8")
    if len(data) > MAX_NAME_BYTES:
        raise InvalidInput(f"{what} {name[:40]!r}… is {len(data)} bytes long; Live Link names are limited to "
                           f"{MAX_NAME_BYTES} bytes")
    return data


def device_id_for(name: str) -> str:
    """A stable 36-character UUID (upper case, as iOS writes it) for a bridge or subject name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"facecast:{name}")).upper()


def packet_header(device_id: str, subject: str) -> bytes:
    """The constant start of every packet of one subject (version, device id, subject name)."""
    device, name = check_name(device_id, "device id"), check_name(subject)
    return struct.pack(">Bi", PACKET_VERSION, len(device)) + device + struct.pack(">i", len(name)) + name


def encode_packet(header: bytes, frame_number: int, sub_frame: float, fps: int, values: np.ndarray) -> bytes:
    """A full packet: ``header`` from :func:`packet_header`, then the frame time and the 61 contract values."""
    scaled = to_livelink_units(np.asarray(values, np.float32).reshape(NUM_CHANNELS))
    return header + _FRAME_TIME.pack(frame_number, sub_frame, fps, 1, NUM_CHANNELS) + _VALUES.pack(*scaled)


def decode_packet(data: bytes) -> LiveLinkPacket:
    """Parse a packet (ours or the app's); :class:`InvalidInput` for anything else."""
    try:
        version = data[0]
        if version != PACKET_VERSION:
            raise InvalidInput(f"Live Link Face packet version {version}; expected {PACKET_VERSION}")
        offset = 1
        strings = []
        for _ in range(2):
            (length,) = struct.unpack_from(">i", data, offset)
            if not 0 <= length <= len(data):
                raise InvalidInput(f"bad string length {length} in Live Link Face packet")
            strings.append(data[offset + 4:offset + 4 + length].decode("utf-8"))
            offset += 4 + length
        frame, sub_frame, numerator, denominator, count = _FRAME_TIME.unpack_from(data, offset)
        offset += _FRAME_TIME.size
        if count != NUM_CHANNELS or len(data) != offset + _VALUES.size:
            raise InvalidInput(f"Live Link Face packet has {count} values in {len(data)} bytes; expected "
                               f"{NUM_CHANNELS}")
        values = from_livelink_units(np.array(_VALUES.unpack_from(data, offset), np.float32))
    except (IndexError, struct.error, UnicodeDecodeError):
        raise InvalidInput(f"truncated or malformed Live Link Face packet ({len(data)} bytes)") from None
    return LiveLinkPacket(strings[0], strings[1], frame, sub_frame, numerator, denominator, values)
