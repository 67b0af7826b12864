"""``facecast animate AUDIO -o OUT``: speech to a take (format from the extension), locally or on a daemon."""

from __future__ import annotations

import argparse
import os
import sys

from facecast.animators import DEFAULT_ANIMATOR, animator_names

SIDECAR_RATE = 48000  # the wav written beside USD and glTF exports


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from facecast.cli._options import add_fps_option, add_seed_option, add_server_option, add_size_option
    from facecast.cli._progress import add_progress_option
    from facecast.exports import output_formats

    p = subparsers.add_parser(
        "animate", help="animate a speech clip", description="Animate a speech clip. The output format comes "
        f"from the extension of -o: {', '.join(output_formats())}.")
    p.add_argument("audio", help="speech file: wav, flac, ogg, mp3 or m4a")
    p.add_argument("-o", "--output", required=True, help="output file")
    p.add_argument("--animator", choices=animator_names(), help=f"animator (default: {DEFAULT_ANIMATOR})")
    add_fps_option(p)
    p.add_argument("--emotion", default="neutral", help="neutral, happy, sad, angry, surprised, disgusted, fearful "
                   "(Audio2Face and MetaHuman names are mapped)")
    p.add_argument("--emotion-intensity", type=float, default=0.6,
                   help="strength of the emotion, 0..1 (default %(default)s)")
    p.add_argument("--intensity", type=float, default=1.0, help="expression strength (default %(default)s)")
    p.add_argument("--head-motion", type=float, default=1.0, help="head motion scale (default %(default)s)")
    p.add_argument("--gaze", type=float, nargs=2, metavar=("YAW", "PITCH"), help="gaze in radians (default: camera)")
    p.add_argument("--blink-rate", type=float, default=15.0, help="blinks per minute (default %(default)s)")
    add_seed_option(p)
    p.add_argument("--text", help="transcript of the speech (for animators that take text)")
    p.add_argument("--language", help="language of the speech, e.g. en, de (for animators that take text)")
    p.add_argument("--timecode-start", metavar="HH:MM:SS:FF",
                   help="timecode of frame 0 in a .csv take (at --fps; default 00:00:00:00), as a Live Link Face "
                   "recording starts at the time of day")
    p.add_argument("--image", help="portrait (photo, painting, drawing) or .fcavatar, for .mp4 output")
    p.add_argument("--face-box", help="x,y,w,h of the face in --image, where detection fails (paintings, cartoons)")
    add_size_option(p)
    add_server_option(p, local_fallback="animate here, without a daemon")
    p.add_argument("--no-settle", action="store_true",
                   help="end the take as the animator left it (default: the face settles to neutral over the last "
                   "150 ms; a daemon always settles)")
    add_progress_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import facecast
    from facecast.audio import load_audio
    from facecast.cli._progress import progress_mode, reporter, seconds_bar
    from facecast.cli._warnings import warnings_as_lines
    from facecast.controls import Controls
    from facecast.errors import InvalidInput
    from facecast.exports import WRITERS, _extension
    from facecast.phonemes.languages import check_language
    from facecast.speechcheck import warn_if_not_speech

    extension = _extension(args.output, WRITERS, "write")  # fail on a bad extension before any work
    timecode_start = None
    if args.timecode_start is not None:
        from facecast.exports.livelink_csv import parse_timecode_start

        if extension not in (".csv", ".fcclip", ".json"):
            raise InvalidInput(f"--timecode-start is for .csv takes (and .fcclip/.json clips), not {extension}")
        timecode_start = parse_timecode_start(args.timecode_start, args.fps)
    video = extension == ".mp4"
    if video and not args.image:
        raise InvalidInput("an .mp4 shows a talking portrait: give the portrait with --image FACE.jpg")
    if args.server and args.no_settle:
        raise InvalidInput("--no-settle works for local animation only; a daemon always settles the take's end")
    if args.image and not video:
        raise InvalidInput("--image is for .mp4 output; motion formats need no portrait")
    avatar = None
    if video:
        from facecast.face import Avatar, parse_face_box

        avatar = Avatar.from_file(args.image, parse_face_box(args.face_box) if args.face_box else None)
    controls = Controls(
        emotion=args.emotion, emotion_intensity=args.emotion_intensity, gaze=tuple(args.gaze) if args.gaze else None,
        head_motion=args.head_motion, intensity=args.intensity, blink_rate=args.blink_rate, seed=args.seed,
    ).validated()
    options = {k: v for k, v in (("text", args.text), ("language", check_language(args.language))) if v}
    audio = load_audio(args.audio)
    with warnings_as_lines():
        warn_if_not_speech(audio, args.audio)
    with warnings_as_lines(), seconds_bar("animating", progress_mode(args)) as bar:
        progress = reporter(bar)
        if args.server:
            from facecast.client import Client

            with Client(args.server, token=args.token) as client:
                clip = client.animate(args.audio, args.animator, args.fps, controls,
                                      progress=reporter(bar, per_second=args.fps), **options)
        else:
            from facecast.animators import get_animator
            from facecast.settle import settle_clip

            clip = get_animator(args.animator).animate(audio, controls, args.fps,
                                                       progress=progress, **options)
            clip = clip if args.no_settle else settle_clip(clip)
    if timecode_start is not None:
        clip.metadata["timecode_start"] = timecode_start
    if video:
        with seconds_bar("rendering", progress_mode(args), clip.duration) as bar:
            facecast.export(clip, args.output, avatar=avatar, audio=audio, size=args.size,
                          progress=reporter(bar))
    else:
        from facecast.exports.options import accepted_options

        # Rhubarb cues name their recording and its length
        clip.metadata.setdefault("sound_file", os.path.abspath(args.audio))
        clip.metadata.setdefault("audio_seconds", audio.duration)
        carries_audio = "audio" in accepted_options(extension)  # USD and glTF: the wav beside, referenced
        facecast.export(clip, args.output, **({"audio": load_audio(args.audio, rate=SIDECAR_RATE)}
                                              if carries_audio else {}))
    print(f"wrote {args.output}: {clip.num_frames} frames at {clip.fps} fps ({clip.duration:.1f} s)", file=sys.stderr)
    return 0
