"""``facecast unreal``: Live Link streaming to Unreal, take folders, presenter textures and a packet monitor."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from facecast.motion import FPS_OPTIONS

SPEECH_HELP = ("NAME=SOURCE: SOURCE is a speech file, a folder to watch (its audio files play in name order), "
               "'mic' or 'mic:DEVICE', or a clip animated before (.fcclip, .json, or a take .csv)")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("unreal", help="stream to Unreal Live Link, write takes, serve presenter frames",
                              description="Drive Unreal characters: Live Link Face over UDP, Live Link Face take "
                              "folders, and rendered presenter frames (MJPEG over HTTP or an image sequence).")
    commands = p.add_subparsers(dest="unreal_command", metavar="ACTION", required=True)

    stream = commands.add_parser("stream", help="stream subjects to Unreal's Live Link Face source")
    stream.add_argument("--subject", action="append", required=True, metavar="NAME=SOURCE", help=SPEECH_HELP)
    _daemon_options(stream)
    _livelink_options(stream)
    stream.add_argument("--takes", help="also write one Live Link Face take folder per utterance here")
    stream.add_argument("--no-video", action="store_true", help="takes without the .mov (saves CPU)")
    stream.add_argument("--prebuffer", type=float, default=0.15,
                        help="seconds between an utterance's first frame arriving and it being sent (default 0.15)")
    stream.add_argument("--play-audio", action="store_true", help="play the speech here in sync (needs PortAudio)")
    stream.add_argument("--realtime", action="store_true",
                        help="send from a real-time priority thread (Linux; needs root or CAP_SYS_NICE): steadier "
                        "timing on a busy machine")
    stream.set_defaults(run=run_stream)

    take = commands.add_parser("take", help="animate speech on the daemon and write a Live Link Face take folder")
    take.add_argument("speech", help="speech file: wav, flac, ogg, mp3 or m4a")
    take.add_argument("-o", "--output", required=True, help="folder that receives the take folder")
    take.add_argument("--slate", help="slate name (default: the speech file's name)")
    take.add_argument("--fps", type=int, default=60, choices=FPS_OPTIONS)
    take.add_argument("--no-video", action="store_true", help="skip the .mov")
    take.add_argument("--timecode-start", metavar="HH:MM:SS:FF",
                      help="timecode of frame 0 (at --fps; default: the local time of day, as the app does)")
    _daemon_options(take)
    take.set_defaults(run=run_take)

    present = commands.add_parser("present", help="a talking portrait: MJPEG over HTTP or an image sequence + wav")
    present.add_argument("speech", help="speech file")
    present.add_argument("--image", required=True, help="portrait image")
    present.add_argument("--size", type=int, default=384, help="frame size in pixels (default %(default)s)")
    present.add_argument("--fps", type=int, default=30, choices=FPS_OPTIONS)
    present.add_argument("--sequence", help="write an image sequence + audio.wav to this folder instead of serving")
    present.add_argument("--http-host", default="127.0.0.1")
    present.add_argument("--http-port", type=int, default=8554)
    present.add_argument("--subject", help="also send the motion as this Live Link subject, in sync with the frames")
    present.add_argument("--delay", type=float, default=2.0,
                         help="seconds between the frames being ready and frame 0 (time to connect; default 2)")
    _daemon_options(present)
    _livelink_options(present, with_fps=False)
    present.set_defaults(run=run_present)

    monitor = commands.add_parser("monitor", help="receive Live Link Face packets and print them (no Unreal needed)")
    monitor.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    monitor.add_argument("--port", type=int, default=11111)
    monitor.add_argument("--count", type=int, default=0, help="stop after this many packets (default: never)")
    monitor.set_defaults(run=run_monitor)


def _daemon_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--daemon", default="127.0.0.1:50051", help="facecast daemon address (default %(default)s)")
    p.add_argument("--token", default=os.environ.get("FACECAST_TOKEN"))
    p.add_argument("--animator", help="animator on the daemon (default: the daemon's)")
    p.add_argument("--emotion", help="emotion control, e.g. happy")


def _livelink_options(p: argparse.ArgumentParser, with_fps: bool = True) -> None:
    p.add_argument("--host", default="127.0.0.1", help="Unreal machine (default %(default)s)")
    p.add_argument("--port", type=int, default=11111, help="Live Link Face port (default %(default)s)")
    p.add_argument("--device-name", default="facecast", help="names the Live Link source in Unreal")
    if with_fps:
        p.add_argument("--fps", type=int, default=60, choices=FPS_OPTIONS)


def _controls_from_args(args: argparse.Namespace):
    from facecast.controls import Controls

    return Controls(emotion=args.emotion).validated() if args.emotion else None


def _print_event(subject: str, kind: str, message: str) -> None:
    print(f"{subject}: {kind}: {message}" if kind != "error" else f"facecast: {subject}: {message}", file=sys.stderr)


def parse_subject(spec: str):
    """(name, source) from ``NAME=SOURCE``; see SPEECH_HELP."""
    from facecast.errors import InvalidInput
    from facecast.exports import READERS, load_clip
    from facecast.unreal.packet import check_name
    from facecast.unreal.sources import FileSource, FolderQueue, MicrophoneSource, SpeechQueue, utterance_from_clip

    name, sep, where = spec.partition("=")
    if not sep or not name or not where:
        raise InvalidInput(f"--subject wants NAME=SOURCE, not {spec!r}")
    check_name(name)
    if where == "mic" or where.startswith("mic:"):
        device = where[4:] or None
        return name, MicrophoneSource(int(device) if device and device.isdigit() else device)
    if os.path.isdir(where):
        return name, FolderQueue(where, on_error=lambda message: _print_event(name, "error", message))
    if os.path.splitext(where)[1].lower() in READERS:
        queue = SpeechQueue()
        queue.say(utterance_from_clip(os.path.basename(where), load_clip(where)))
        queue.close()
        return name, queue
    return name, FileSource(where)


def _run_until_done(bridge, endless: bool) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if endless:
            stop.wait()
        else:
            while not stop.is_set() and not bridge.wait(timeout=0.5):
                pass
    except KeyboardInterrupt:
        pass


def run_stream(args: argparse.Namespace) -> int:
    from facecast.unreal.bridge import Bridge
    from facecast.unreal.sources import FileSource, SpeechQueue

    bridge = Bridge(daemon=args.daemon, token=args.token, host=args.host, port=args.port,
                    device_name=args.device_name, takes=args.takes, take_video=not args.no_video,
                    play_audio=args.play_audio, prebuffer=args.prebuffer, realtime=args.realtime,
                    on_event=_print_event)
    subjects = [parse_subject(spec) for spec in args.subject]
    if any(not isinstance(source, SpeechQueue) for _, source in subjects):
        bridge.check_daemon()
    for name, source in subjects:
        bridge.add_subject(name, source, args.fps, args.animator, _controls_from_args(args))
    print(f"facecast: streaming {', '.join(n for n, _ in subjects)} to Live Link {args.host}:{args.port} "
          f"(Ctrl-C stops)", file=sys.stderr)
    endless = any(not isinstance(source, (FileSource, SpeechQueue)) for _, source in subjects)
    bridge.start()
    try:
        _run_until_done(bridge, endless)
    finally:
        bridge.stop()
    failed = sum(len(s.stats.errors) for s in bridge.subjects.values())
    return 1 if failed else 0


def run_take(args: argparse.Namespace) -> int:
    from facecast.audio import load_audio
    from facecast.client import Client
    from facecast.exports.livelink_csv import parse_timecode_start
    from facecast.unreal.takes import time_of_day, write_take

    start = parse_timecode_start(args.timecode_start, args.fps) if args.timecode_start else None
    audio = load_audio(args.speech)
    with Client(args.daemon, args.token) as client:
        clip = client.animate(args.speech, args.animator, args.fps, _controls_from_args(args))
    slate = args.slate or os.path.splitext(os.path.basename(args.speech))[0]
    path = write_take(args.output, clip, audio.samples, audio.sample_rate, slate, video=not args.no_video,
                      start_seconds=time_of_day() if start is None else start)
    print(f"wrote {path}: {clip.num_frames} frames at {clip.fps} fps", file=sys.stderr)
    return 0


def run_present(args: argparse.Namespace) -> int:
    from facecast.audio import load_audio
    from facecast.client import Client
    from facecast.face import Avatar
    from facecast.render import render_frames
    from facecast.unreal.presenter import MjpegServer, present_with_subject, write_image_sequence

    audio = load_audio(args.speech)
    avatar = Avatar.from_file(args.image)
    server = None if args.sequence else MjpegServer(args.http_host, args.http_port)  # fail early on a busy port
    with Client(args.daemon, args.token) as client:
        clip = client.animate(args.speech, args.animator, args.fps, _controls_from_args(args))
    frames = list(render_frames(clip, avatar, args.size))
    if args.sequence:
        path = write_image_sequence(args.sequence, frames, clip.fps, audio.samples, audio.sample_rate)
        print(f"wrote {path}: {len(frames)} frames at {clip.fps} fps + audio.wav", file=sys.stderr)
        return 0
    assert server is not None, "without --sequence the presenter serves over HTTP"
    with server:
        print(f"facecast: presenter at {server.url} (audio: /audio.wav)", file=sys.stderr)
        if not args.subject:
            server.play(frames, clip.fps, audio.samples, audio.sample_rate, start=time.monotonic() + args.delay)
            return 0
        from facecast.unreal.bridge import Bridge

        with Bridge(daemon=args.daemon, host=args.host, port=args.port, device_name=args.device_name,
                    prebuffer=args.delay, on_event=_print_event) as bridge:
            present_with_subject(server, bridge, args.subject, clip, frames, audio.samples, audio.sample_rate)
    return 0


def run_monitor(args: argparse.Namespace) -> int:
    import socket

    from facecast.errors import InvalidInput
    from facecast.motion import CHANNEL_INDEX
    from facecast.unreal.packet import decode_packet
    from facecast.unreal.presenter import bind_error

    receiver = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        receiver.bind((args.host, args.port))
    except OSError as e:
        raise bind_error(args.host, args.port, e) from None
    print(f"facecast: listening for Live Link Face packets on {args.host}:{args.port}", file=sys.stderr)
    received = 0
    with receiver:
        while not args.count or received < args.count:
            data, sender = receiver.recvfrom(65536)
            try:
                packet = decode_packet(data)
            except InvalidInput as e:
                print(f"{sender[0]}: {e}")
                continue
            received += 1
            jaw, blink, yaw = (packet.values[CHANNEL_INDEX[n]] for n in ("JawOpen", "EyeBlinkLeft", "HeadYaw"))
            print(f"{packet.subject} frame {packet.frame_number}+{packet.sub_frame:.3f} @ {packet.fps_numerator}/"
                  f"{packet.fps_denominator} fps  JawOpen {jaw:.3f}  EyeBlinkLeft {blink:.3f}  HeadYaw {yaw:+.3f} rad",
                  flush=True)
    return 0
