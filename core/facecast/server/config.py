"""The daemon's settings: one typed record, filled by ``facecast serve`` and read by every part of the server."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

A2F_DEFAULT_PORT = 52000  # the Audio2Face-3D NIM's port


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 50051
    token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None  # PEM CA certificates: clients must present a certificate they signed
    insecure: bool = False  # allow a non-loopback bind without a token or client certificates
    rate_limit: float = 0.0  # calls per second per client (0: no limit); health and reflection not counted
    rate_burst: int = 20
    max_message_bytes: int = 64 * 1024 * 1024
    max_sessions: int = 64
    max_audio_seconds: float = 600.0
    max_stream_seconds: float = 3600.0
    max_batch: int = 64
    max_avatars: int = 16
    avatar_dir: str | None = None  # a folder all replicas share, so any of them serves any avatar
    default_animator: str = ""
    grace_seconds: float = 5.0
    a2f_compat: bool = False  # also serve NVIDIA's Audio2Face-3D API (server/a2f.py) on a2f_port
    a2f_port: int = A2F_DEFAULT_PORT
    # load and liveness (docs/RELIABILITY.md)
    metrics_port: int | None = None  # serve Prometheus text on http://host:metrics_port/metrics (0: a free port)
    clip_workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))  # Animate worker processes
    max_waiting_clips: int = 16  # Animate calls waiting for a worker; more are refused
    max_clip_wait_seconds: float = 60.0  # refuse an Animate that would wait longer for a worker (measured)
    # scheduler threads per animator for live streams (in parallel where the animator releases the GIL)
    live_lanes: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    max_live_streams: int = 1024  # a hard ceiling on the live streams held at once, whatever they cost
    # live sessions whose flush holds the GIL for long (alignment of a transcript): flushed in a worker process
    process_flush_animators: tuple[str, ...] = ("phonetic",)
    # live stream units admitted before the first measurement window (and while they use little of the targets;
    # a gathered stream costs one, see capacity); None: capacity.INITIAL_PER_CORE (16) per core the daemon may run on
    live_capacity_initial: int | None = None
    # the CPU the live path may use; None: capacity.CORE_SHARE (0.75) of the cores the daemon may run on. Its
    # Python threads together stay under capacity.PYTHON_CORES (0.8) whatever this says (one interpreter lock)
    live_target_cores: float | None = None
    config_timeout_seconds: float = 10.0  # a Stream must send its config within this
    idle_timeout_seconds: float = 30.0  # a Stream that sends nothing for this long is closed
    keepalive_seconds: float = 20.0  # HTTP/2 pings on idle connections, to find vanished clients
    max_text_chars: int = 20_000  # transcript length (about 20 minutes of speech)


def read_token(path: str | None, given: str | None, environment: str | None) -> str | None:
    """The bearer token from ``--token-file``, else ``--token``, else ``$FACECAST_TOKEN``; None when none is set.
    A set but empty token is an error (it would otherwise silently turn authentication off)."""
    from facecast.errors import ConfigError

    if path:
        try:
            with open(path, encoding="utf-8") as f:
                token, source = f.read().strip(), f"--token-file {path}"
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read --token-file {path}: {getattr(e, 'strerror', None) or e}") from None
    elif given is not None:
        token, source = given, "--token"
    elif environment is not None:
        token, source = environment, "FACECAST_TOKEN"
    else:
        return None
    if not token:
        raise ConfigError(f"{source} is empty; give a token, or unset it to serve without one")
    if not all(33 <= ord(c) <= 126 for c in token):
        raise ConfigError(f"{source} must be printable ASCII without spaces (it travels as a gRPC header)")
    return token
