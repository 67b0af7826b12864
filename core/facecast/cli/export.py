"""``facecast export CLIP -o OUT``: convert a take (.fcclip, Live Link Face .csv, .json) to any output format."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facecast.audio import Audio
    from facecast.motion import MotionClip


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from facecast.character.rig_mapping import preset_names
    from facecast.cli._options import add_size_option
    from facecast.exports import READERS, output_formats

    p = subparsers.add_parser(
        "export", help="convert a take to another format (glb, usda, fbx, csv, ...)",
        description="Convert a take to another format, chosen by the extension of -o: "
        f"{', '.join(output_formats())}. Input: {', '.join(sorted(READERS))}.")
    p.add_argument("clip", help="the take to convert")
    p.add_argument("-o", "--output", required=True, action="append",
                   help="output file; repeat -o to write several formats from one take")
    p.add_argument("--head", help="your own head to animate: .glb/.gltf for glTF output, .blend/.fbx for FBX "
                   "(default: the ARKit test head)")
    p.add_argument("--preset", help="how your head names its morph targets: "
                   f"{', '.join(preset_names()[:-1])}, or a JSON file mapping ARKit names to yours (default: arkit)")
    p.add_argument("--max-error", type=float, help="thin keys so curves stay within this error (glTF, USD)")
    p.add_argument("--animation-only", action="store_true", default=None,
                   help="USD: write only the SkelAnimation, to bind onto your own skeleton")
    p.add_argument("--image", help="mp4: the portrait (photo, painting, drawing) or .fcavatar that performs the take")
    p.add_argument("--face-box", metavar="X,Y,W,H", help="mp4: the face's box in --image, where detection fails")
    p.add_argument("--audio", help="speech of the take: mp4 muxes it in (default: the take's own, e.g. take.wav "
                   "beside a captured take.csv; none: a silent video); USD and glTF get it as a wav beside the file, "
                   "referenced from it (a UsdMediaSpatialAudio prim; the animation's extras.audio)")
    add_size_option(p)
    p.add_argument("--blender", help="FBX: Blender executable or a Python with bpy (default: $FACECAST_BLENDER, "
                   "blender on PATH, or an installed bpy)")
    p.set_defaults(run=run)


def _take_audio(clip_path: str, clip: MotionClip, audio: str | None) -> Audio | None:
    """The sound of the take (48 kHz): ``--audio``, else for a video the file the take names (capture writes it
    beside)."""
    from facecast.audio import load_audio
    from facecast.cli.animate import SIDECAR_RATE

    if audio:
        return load_audio(audio, rate=SIDECAR_RATE)
    folder = os.path.dirname(os.path.abspath(clip_path))
    named = clip.metadata.get("audio_file")
    for name in (named, os.path.splitext(os.path.basename(clip_path))[0] + ".wav"):
        if isinstance(name, str) and name and os.path.basename(name) == name:  # a bare file name, never a path
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return load_audio(path, rate=SIDECAR_RATE)
    return None


def run(args: argparse.Namespace) -> int:
    from facecast.errors import InvalidInput
    from facecast.exports import export, load_clip
    from facecast.exports.options import check_options, options_for

    options = {"head": args.head, "preset": args.preset, "max_error": args.max_error,
               "animation_only": args.animation_only, "blender": args.blender, "audio": args.audio}
    check_options(args.output, options)
    video = [o for o in args.output if os.path.splitext(o)[1].lower() == ".mp4"]
    if video and not args.image:
        raise InvalidInput("an .mp4 shows a talking portrait: give the portrait with --image FACE.jpg")
    if args.image and not video:
        raise InvalidInput("--image is for .mp4 output; motion formats need no portrait")
    clip = load_clip(args.clip)
    if video or args.audio:
        options["audio"] = _take_audio(args.clip, clip, args.audio)
    if video:
        from facecast.face import Avatar, parse_face_box

        options.update(avatar=Avatar.from_file(args.image, parse_face_box(args.face_box) if args.face_box else None),
                       size=args.size)
    for output in args.output:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            export(clip, output, **options_for(output, options))
        for warning in caught:
            print(f"facecast: warning: {warning.message}", file=sys.stderr)
        print(f"wrote {output}: {clip.num_frames} frames at {clip.fps} fps ({clip.duration:.1f} s)", file=sys.stderr)
    return 0
