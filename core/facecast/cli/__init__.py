"""The ``facecast`` command. Each subcommand lives in its own module in this package and registers itself
through ``add_parser(subparsers)``; errors end the program with a one-line message, never a traceback."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from facecast._version import __version__
from facecast.errors import FacecastError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facecast", description="Speech audio (and one portrait) to facial animation.")
    parser.add_argument("--version", action="version", version=f"facecast {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}").add_parser(subparsers)
    return parser


def fail(message: str, code: int = 1) -> None:
    """Print ``facecast: error: message`` to stderr and exit with ``code``."""
    print(f"facecast: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except FacecastError as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except OSError as e:
        fail(f"{e.strerror or e}{': ' + e.filename if getattr(e, 'filename', None) else ''}")
    return 1
