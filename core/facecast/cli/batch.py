"""``facecast batch INPUT -o OUT_DIR --format csv,glb``: animate a folder or manifest of dialogue lines."""

from __future__ import annotations

import argparse
import os
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from facecast.animators import animator_names
    from facecast.character.rig_mapping import preset_names
    from facecast.exports import output_formats
    from facecast.motion import DEFAULT_FPS, FPS_OPTIONS

    p = subparsers.add_parser(
        "batch", help="animate many dialogue lines into files",
        description="Animate every line of a folder of audio files (a NAME.txt beside NAME.wav is its transcript) "
        "or of a CSV/JSON manifest (columns: audio, name, emotion, intensity, seed, text) into OUT_DIR/NAME.EXT "
        "for each format. Lines whose outputs are newer than their inputs are skipped, so an interrupted run "
        "resumes. Writes OUT_DIR/report.json and failures.txt; exits 1 only when a line failed.")
    p.add_argument("input", help="folder of audio files, or a .csv / .json manifest")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--format", default="csv", help="comma-separated output formats: "
                   f"{', '.join(f.lstrip('.') for f in output_formats())} (default: %(default)s)")
    p.add_argument("--animator", choices=animator_names(), help="animator (default: the best one installed)")
    p.add_argument("--fps", type=int, default=DEFAULT_FPS, choices=FPS_OPTIONS)
    p.add_argument("--head", help="your own head for glTF (.glb/.gltf) or FBX (.blend/.fbx) outputs")
    p.add_argument("--preset", help=f"morph target naming of --head: {', '.join(preset_names()[:-1])} or a JSON file")
    p.add_argument("--max-error", type=float, help="thin keys so curves stay within this error (glTF, USD)")
    p.add_argument("--animation-only", action="store_true", default=None, help="USD: only the SkelAnimation")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="lines at once (default: %(default)s)")
    p.add_argument("--server", help="animate on a running daemon at this address instead of locally")
    p.add_argument("--token", default=os.environ.get("FACECAST_TOKEN"))
    p.add_argument("--force", action="store_true", help="redo lines even when their outputs are up to date")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from facecast.dialogue_batch import BatchOptions, LineResult, animate_lines, read_lines
    from facecast.errors import InvalidInput
    from facecast.exports import WRITERS

    formats = [f".{f.strip().lstrip('.').lower()}" for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in WRITERS]
    if unknown or not formats:
        raise InvalidInput(f"unknown format(s) {', '.join(unknown) or '(none)'}; use {', '.join(sorted(WRITERS))}")
    if args.jobs < 1:
        raise InvalidInput("--jobs must be at least 1")
    options = BatchOptions(
        out_dir=args.output, formats=formats, animator=args.animator, fps=args.fps, server=args.server,
        token=args.token, workers=args.jobs, force=args.force,
        export_options={"head": args.head, "preset": args.preset, "max_error": args.max_error,
                        "animation_only": args.animation_only})
    lines = read_lines(args.input)
    with tqdm(total=len(lines), unit="line", desc="batch", disable=args.quiet or None, file=sys.stderr) as bar:
        def on_result(result: LineResult) -> None:
            if result.status == "failed":
                bar.write(f"failed: {result.name}: {result.reason}", file=sys.stderr)
            bar.update(1)

        report = animate_lines(lines, options, on_result)
    counts = report["counts"]
    print(f"{counts['done']} done, {counts['skipped']} up to date, {counts['failed']} failed "
          f"({report['x_realtime']}x real time); report: {os.path.join(args.output, 'report.json')}", file=sys.stderr)
    return 1 if counts["failed"] else 0
