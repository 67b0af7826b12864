"""``facecast info``: what a running daemon offers."""

from __future__ import annotations

import argparse
import json

from facecast.cli._options import add_server_option


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="show a running daemon's version, animators and limits")
    add_server_option(p)
    p.add_argument("--json", action="store_true", help="print the whole reply as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from facecast.client import Client

    with Client(args.server, token=args.token, timeout=10) as client:
        info = client.info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"facecast {info['version']} at {args.server}")
    print(f"  providers: {', '.join(info['providers']) or 'none'}")
    print(f"  fps: {', '.join(map(str, info['fps_options']))}; sessions: {info['active_sessions']} active, "
          f"{info['limits']['max_sessions']} max")
    for a in info["animators"]:
        roles = [role for role, key in (("clips", "default_animator"), ("live streams", "default_live_animator"))
                 if a["name"] == info[key]]
        default = f" (default for {' and '.join(roles)})" if roles else ""
        print(f"  animator {a['name']}{default}: {a['description']} [lookahead {a['lookahead_ms']:.0f} ms]")
    return 0
