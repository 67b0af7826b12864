"""``facecast verify FILE``: does a video or image carry the facecast watermark? Also reports the file's C2PA
content credentials (facecast signs every mp4 it writes), when it has any.

Exit status: 0 when the file carries the mark, 1 when it does not, 2 (with a one-line error) when the file
cannot be read.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "verify", help="check a video or image for the facecast watermark",
        description="Check whether a video (mp4, mov, mkv, webm) or image (png, jpg) was rendered by facecast. "
        "Exits 0 when the watermark is found, 1 when it is not, 2 when the file cannot be read.")
    p.add_argument("file", help="video or image to check")
    p.add_argument("--frames", type=int, default=None, help="check at most this many video frames (default 300)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from facecast.cli import fail
    from facecast.errors import FacecastError
    from facecast.render.verify import MAX_FRAMES, verify_file

    try:
        result = verify_file(args.file, max_frames=args.frames or MAX_FRAMES)
    except FacecastError as e:
        fail(str(e), 2)  # not "unmarked": the question could not be answered
    from facecast.render.provenance import read_credentials

    verdict = "carries the facecast watermark" if result.marked else "does not carry the facecast watermark"
    print(f"{args.file}: {verdict} (score {result.score:.1f}, threshold {result.threshold:.0f}, "
          f"{result.frames} frame{'s' * (result.frames != 1)} checked)")
    credentials = read_credentials(args.file)
    if credentials is None:
        print("C2PA content credentials: none")
    else:
        problems = f"; {', '.join(credentials.problems)}" if credentials.problems else ""
        print(f"C2PA content credentials: made by {credentials.generator or 'an unnamed tool'}"
              f"{', ' + credentials.source_type if credentials.source_type else ''}; manifest "
              f"{credentials.validation.lower()}{problems}")
    return 0 if result.marked else 1
