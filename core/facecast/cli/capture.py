"""``facecast capture VIDEO -o take.csv``: turn a talking video into a take (and its sound into take.wav)."""

from __future__ import annotations

import argparse
import os
import sys

from facecast.motion import FPS_OPTIONS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from facecast.exports import output_formats

    p = subparsers.add_parser(
        "capture", help="capture facial motion from a video",
        description="Track the face of a video, solve ARKit blendshapes and head pose per frame, and write a "
        f"take ({', '.join(output_formats())} by the extension of -o). The video's sound is written beside it "
        "as a .wav with the same name.")
    p.add_argument("video", help="video file (mp4, mov, mkv, webm, ...)")
    p.add_argument("-o", "--output", required=True, help="output take")
    p.add_argument("--fps", type=int, choices=FPS_OPTIONS,
                   help="frame rate of the take (default: the video's, snapped to the nearest option)")
    p.add_argument("--face-box", metavar="X,Y,W,H", help="the face's box in pixels, when the detector misses it")
    p.add_argument("--threads", type=int, default=1, help="threads for the face-mesh model (default %(default)s)")
    p.add_argument("--no-audio", action="store_true", help="do not write the sound")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import facecast
    from facecast.cli._warnings import warnings_as_lines
    from facecast.exports import WRITERS, _extension
    from facecast.face import parse_face_box
    from facecast.face.capture import capture_video
    from facecast.media import write_wav

    _extension(args.output, WRITERS, "write")  # fail on a bad extension before any work
    box = parse_face_box(args.face_box) if args.face_box else None
    with warnings_as_lines():
        take = capture_video(args.video, fps=args.fps, face_box=box, progress=not args.quiet, threads=args.threads)
    wav = os.path.splitext(args.output)[0] + ".wav"
    if take.audio is not None and not args.no_audio:
        take.clip.metadata["audio_file"] = os.path.basename(wav)
        write_wav(wav, take.audio.samples, take.audio.sample_rate)
    facecast.export(take.clip, args.output)
    clip = take.clip
    sound = f", sound in {wav}" if "audio_file" in clip.metadata else ""
    print(f"wrote {args.output}: {clip.num_frames} frames at {clip.fps} fps ({clip.duration:.1f} s){sound}",
          file=sys.stderr)
    return 0
