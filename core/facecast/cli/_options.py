"""Flags that several commands share, so each has one name, one default and one help text everywhere:
``--server`` (a daemon's address; ``--daemon`` is kept as an alias), ``--token``, ``--fps``, ``--size``, ``--seed``."""

from __future__ import annotations

import argparse
import os

from facecast.client import DEFAULT_ADDRESS as DEFAULT_SERVER
from facecast.motion import DEFAULT_FPS, FPS_OPTIONS

DEFAULT_SIZE = 512


def server_from_env() -> str:
    return os.environ.get("FACECAST_SERVER", DEFAULT_SERVER)


def add_server_option(p: argparse.ArgumentParser, local_fallback: str | None = None) -> None:
    """``--server HOST:PORT``. With ``local_fallback`` (what happens without one) the default is no server;
    otherwise it is $FACECAST_SERVER or 127.0.0.1:50051."""
    if local_fallback:
        p.add_argument("--server", "--daemon", dest="server", default=os.environ.get("FACECAST_SERVER"),
                       metavar="HOST:PORT",
                       help=f"facecast daemon to use (default: $FACECAST_SERVER, else {local_fallback})")
    else:
        p.add_argument("--server", "--daemon", dest="server", default=server_from_env(), metavar="HOST:PORT",
                       help=f"facecast daemon address (default: $FACECAST_SERVER, else {DEFAULT_SERVER})")
    p.add_argument("--token", default=os.environ.get("FACECAST_TOKEN"),
                   help="bearer token the daemon requires (default: $FACECAST_TOKEN)")


def add_fps_option(p: argparse.ArgumentParser, help_extra: str = "") -> None:
    p.add_argument("--fps", type=int, default=DEFAULT_FPS, choices=FPS_OPTIONS,
                   help=f"frames per second of the motion{help_extra} (default %(default)s)")


def add_size_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=DEFAULT_SIZE,
                   help="video frame size in pixels, square (default %(default)s)")


def add_seed_option(p: argparse.ArgumentParser, default: int | None = 0, help_default: str = "%(default)s") -> None:
    p.add_argument("--seed", type=int, default=default,
                   help=f"random seed for blinks, gaze and head motion: same seed, same take (default {help_default})")
