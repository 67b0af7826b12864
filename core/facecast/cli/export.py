"""``facecast export CLIP -o OUT``: convert a take (.fcclip, Live Link Face .csv, .json) to any output format."""

from __future__ import annotations

import argparse
import sys
import warnings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from facecast.character.rig_mapping import preset_names
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
    p.add_argument("--audio", help="speech of the take: USD and glTF get it as a wav beside the file, referenced "
                   "from it (a UsdMediaSpatialAudio prim; the animation's extras.audio)")
    p.add_argument("--animation-only", action="store_true", default=None,
                   help="USD: write only the SkelAnimation, to bind onto your own skeleton")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from facecast.exports import export, load_clip
    from facecast.exports.options import check_options, options_for

    options = {"head": args.head, "preset": args.preset, "max_error": args.max_error,
               "animation_only": args.animation_only, "audio": args.audio}
    check_options(args.output, options)
    if args.audio:
        from facecast.audio import load_audio

        options["audio"] = load_audio(args.audio, rate=48000)
    clip = load_clip(args.clip)
    for output in args.output:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            export(clip, output, **options_for(output, options))
        for warning in caught:
            print(f"facecast: warning: {warning.message}", file=sys.stderr)
        print(f"wrote {output}: {clip.num_frames} frames at {clip.fps} fps ({clip.duration:.1f} s)", file=sys.stderr)
    return 0
