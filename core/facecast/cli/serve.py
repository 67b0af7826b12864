"""``facecast serve``: run the gRPC daemon."""

from __future__ import annotations

import argparse
import os
import sys

from facecast.server.config import ServerConfig, read_token


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the gRPC daemon",
                              description="Run the facecast gRPC daemon (stop it with Ctrl-C or SIGTERM).")
    defaults = ServerConfig()
    p.add_argument("--host", default=defaults.host,
                   help="address to bind (default %(default)s: this machine only; any other needs a token or "
                        "--tls-client-ca, or --insecure)")
    p.add_argument("--port", type=port_number, default=defaults.port,
                   help="port 0-65535 (default %(default)s; 0 picks a free one)")
    p.add_argument("--token-file", help="file holding the bearer token that every call must send as "
                                        "'authorization: Bearer TOKEN' (default: $FACECAST_TOKEN)")
    p.add_argument("--token", help="the bearer token itself (visible in the process list: prefer --token-file or "
                                   "$FACECAST_TOKEN)")
    p.add_argument("--tls-cert", help="PEM certificate chain, to serve over TLS")
    p.add_argument("--tls-key", help="PEM private key, to serve over TLS")
    p.add_argument("--tls-client-ca", help="PEM CA certificates: require client certificates they signed (mTLS)")
    p.add_argument("--insecure", action="store_true",
                   help="allow a non-loopback --host without a token or client certificates")
    p.add_argument("--rate-limit", type=float, default=defaults.rate_limit, metavar="CALLS_PER_S",
                   help="calls per second per client (by certificate name, else address); 0 = none (default)")
    p.add_argument("--rate-burst", type=int, default=defaults.rate_burst,
                   help="calls a client may make at once above --rate-limit (default %(default)s)")
    p.add_argument("--animator", default="", help="default animator for requests that name none")
    p.add_argument("--max-sessions", type=int, default=defaults.max_sessions,
                   help="concurrent streaming sessions; more are refused with RESOURCE_EXHAUSTED (default %(default)s)")
    p.add_argument("--max-message-mb", type=float, default=defaults.max_message_bytes / 2**20,
                   help="largest gRPC message in MiB, either way (default %(default)g)")
    p.add_argument("--max-audio-seconds", type=float, default=defaults.max_audio_seconds,
                   help="longest audio one Animate call may send (default %(default)g s)")
    p.add_argument("--max-avatars", type=int, default=defaults.max_avatars,
                   help="portraits held for texture frames; the oldest is dropped past this (default %(default)s)")
    p.add_argument("--a2f-compat", action="store_true",
                   help="also serve NVIDIA's Audio2Face-3D gRPC API (ACE clients, the ACE Unreal plugin) on --a2f-port")
    p.add_argument("--a2f-port", type=port_number, default=defaults.a2f_port,
                   help="port of the Audio2Face-3D API (default %(default)s, as the NIM; 0 picks a free one)")
    p.add_argument("--avatar-dir", default=None,
                   help="also keep portraits in this folder, shared by every replica, so any replica serves them")
    p.add_argument("--metrics-port", type=port_number, default=None,
                   help="serve Prometheus metrics on http://HOST:PORT/metrics (0 picks a free port; default off)")
    p.add_argument("--clip-workers", type=int, default=defaults.clip_workers,
                   help="Animate calls run at once, each in a worker process (default %(default)s: the cores)")
    p.add_argument("--max-clip-wait", type=float, default=defaults.max_clip_wait_seconds, metavar="SECONDS",
                   help="refuse an Animate that would wait longer than this for a clip worker, by what clips "
                        "measurably cost here (default %(default)g)")
    p.add_argument("--live-lanes", type=int, default=defaults.live_lanes,
                   help="scheduler threads per animator for live streams (default %(default)s)")
    p.add_argument("--max-live-streams", type=int, default=defaults.max_live_streams,
                   help="live streams admitted at most; below this the daemon admits what it measures it can "
                        "serve on time (default %(default)s)")
    p.add_argument("--live-initial-streams", type=int, default=defaults.live_capacity_initial, metavar="N",
                   help="live stream units admitted before the daemon has measured what they cost, and the least "
                        "it admits while they use little of its target; a stream of an animator that gathers its "
                        "streams costs 1, one that runs each stream apart 2 until measured (default: 16 per core "
                        "it may run on)")
    p.add_argument("--live-target-cores", type=float, default=defaults.live_target_cores, metavar="CORES",
                   help="cores live streams may use: the daemon admits the streams that fit, as it measures them "
                        "(default: 0.75 of the cores it may run on; its Python threads stay under 0.8 of a core "
                        "either way)")
    p.add_argument("--config-timeout", type=float, default=defaults.config_timeout_seconds,
                   help="close a Stream that sends no config within this many seconds (default %(default)s)")
    p.add_argument("--idle-timeout", type=float, default=defaults.idle_timeout_seconds,
                   help="close a Stream that sends nothing for this many seconds (default %(default)s)")
    p.add_argument("--grace-seconds", type=float, default=defaults.grace_seconds,
                   help="on SIGTERM, how long calls in flight get to finish (default %(default)s)")
    p.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="what the daemon logs on stderr (default %(default)s)")
    p.set_defaults(run=run)


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return port



def run(args: argparse.Namespace) -> int:
    from facecast.cli import fail
    from facecast.server import run_server
    from facecast.server.logs import configure_logging

    configure_logging(args.log_level, args.log_json)
    if bool(args.tls_cert) != bool(args.tls_key):
        fail("--tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        fail("--tls-client-ca needs --tls-cert and --tls-key")
    if args.rate_limit < 0 or args.rate_burst < 1:
        fail("--rate-limit must be >= 0 and --rate-burst >= 1")
    if args.live_initial_streams is not None and args.live_initial_streams < 1:
        fail(f"--live-initial-streams must be at least 1, not {args.live_initial_streams}")
    if args.live_target_cores is not None and not args.live_target_cores > 0:
        fail(f"--live-target-cores must be more than 0, not {args.live_target_cores:g}")
    if not args.max_clip_wait > 0:
        fail(f"--max-clip-wait must be more than 0 seconds, not {args.max_clip_wait:g}")
    if args.token:
        print("facecast: warning: --token shows the token in the process list; use --token-file or "
              "$FACECAST_TOKEN", file=sys.stderr)
    token = read_token(args.token_file, args.token, os.environ.get("FACECAST_TOKEN"))
    if args.animator:
        from facecast.animators import get_animator

        get_animator(args.animator)
    config = ServerConfig(
        host=args.host, port=args.port, token=token, tls_cert=args.tls_cert, tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca, insecure=args.insecure, rate_limit=args.rate_limit,
        rate_burst=args.rate_burst,
        max_sessions=args.max_sessions, max_message_bytes=int(args.max_message_mb * 2**20),
        max_audio_seconds=args.max_audio_seconds, max_avatars=args.max_avatars, default_animator=args.animator,
        a2f_compat=args.a2f_compat, a2f_port=args.a2f_port,
        metrics_port=args.metrics_port, avatar_dir=args.avatar_dir, clip_workers=args.clip_workers,
        max_clip_wait_seconds=args.max_clip_wait,
        idle_timeout_seconds=args.idle_timeout,
        max_live_streams=args.max_live_streams, live_lanes=args.live_lanes,
        live_target_cores=args.live_target_cores, live_capacity_initial=args.live_initial_streams,
        config_timeout_seconds=args.config_timeout,
        grace_seconds=args.grace_seconds)
    run_server(config)
    return 0
