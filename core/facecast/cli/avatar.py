"""``facecast avatar IMAGE -o face.fcavatar``: fit the face mesh to a portrait and save the avatar."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facecast.face import Avatar  # imported lazily at run time: the CLI starts fast


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "avatar", help="fit a portrait and save it as an avatar",
        description="Find the face in a portrait (photo, painting, drawing), fit the 468-point face mesh and "
        "save image + mesh as a .fcavatar file for rendering.")
    p.add_argument("image", help="portrait image: jpg, png or webp")
    p.add_argument("-o", "--output", required=True, help="output .fcavatar file")
    p.add_argument("--face-box", metavar="X,Y,W,H",
                   help="the face's box in pixels (forehead to chin), for faces the detector misses")
    p.add_argument("--preview", metavar="PNG", help="also write the image with the fitted mesh drawn on it")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from facecast.cli._warnings import warnings_as_lines
    from facecast.errors import InvalidInput
    from facecast.face import Avatar, parse_face_box

    if not args.output.lower().endswith(".fcavatar"):
        raise InvalidInput(f"the avatar file must end in .fcavatar, got {args.output}")
    box = parse_face_box(args.face_box) if args.face_box else None
    with warnings_as_lines():
        avatar = Avatar.from_file(args.image, box, name=args.image)
    avatar.save(args.output)
    if args.preview:
        write_preview(avatar, args.preview)
    fit = avatar.fit
    x, y, w, h = fit.box
    print(f"wrote {args.output}: face at {x:.0f},{y:.0f} {w:.0f}x{h:.0f} px (score {fit.score:.2f}, "
          f"{'given box' if fit.source == 'face_box' else 'detected'})", file=sys.stderr)
    return 0


def write_preview(avatar: Avatar, path: str) -> None:
    """The portrait with the mesh points drawn on it, as PNG/JPEG by extension, atomically."""
    import cv2
    import numpy as np

    from facecast.fileio import atomic_path

    canvas = cv2.cvtColor(avatar.image, cv2.COLOR_RGB2BGR)
    radius = max(1, round(avatar.rig_scale / 120))
    for x, y in np.round(avatar.fit.landmarks[:, :2]).astype(int):
        cv2.circle(canvas, (int(x), int(y)), radius, (40, 40, 230), -1, cv2.LINE_AA)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(tmp, canvas):
            raise OSError(f"cannot write the preview {path}")
