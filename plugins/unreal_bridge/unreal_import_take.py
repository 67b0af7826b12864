"""Import a Live Link Face take (facecast's or the app's) as an Animation Sequence with curves.

Run it inside the Unreal Editor (Python Editor Script Plugin enabled), from the Output Log's ``Cmd`` box::

    py "C:/facecast/plugins/unreal_bridge/unreal_import_take.py" --take "D:/takes/20250101_Ada_3"
       --skeleton /Game/MetaHumans/Common/Face/Face_Archetype_Skeleton --destination /Game/Facecast

or from Python: ``import unreal_import_take; unreal_import_take.import_take(...)`` with this folder on
``sys.path``. The take's wav, when present, is imported beside the sequence as a Sound Wave.
The curve work (CSV, names, angle units, key reduction) is in ``facecast_take_curves.py`` next to this file.
"""

from __future__ import annotations

import argparse
import os
import sys

import unreal  # only inside the Unreal Editor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facecast_take_curves as takes


def _create_sequence(name: str, destination: str, skeleton: unreal.Skeleton) -> unreal.AnimSequence:
    factory = unreal.AnimSequenceFactory()
    factory.set_editor_property("target_skeleton", skeleton)
    tools = unreal.AssetToolsHelpers.get_asset_tools()
    sequence = tools.create_asset(name, destination, unreal.AnimSequence, factory)
    if sequence is None:
        raise RuntimeError(f"could not create {destination}/{name} (does it exist already?)")
    return sequence


def _set_length(sequence: unreal.AnimSequence, fps: int, frames: int) -> None:
    """Frame rate and length through the animation data controller (UE 5), else the UE 4 length property."""
    try:
        controller = sequence.get_editor_property("controller")
    except Exception:  # UE 4 has no controller property and raises its own exception type
        controller = None
    if controller is None:
        sequence.set_editor_property("sequence_length", max(1, frames - 1) / fps)
        return
    controller.set_frame_rate(unreal.FrameRate(fps, 1))
    if hasattr(controller, "set_number_of_frames"):  # UE 5.1 and later
        controller.set_number_of_frames(unreal.FrameNumber(max(1, frames - 1)))
    else:  # UE 5.0
        controller.set_play_length(max(1, frames - 1) / fps)


def _import_audio(wav: str, destination: str) -> None:
    task = unreal.AssetImportTask()
    task.set_editor_property("filename", wav)
    task.set_editor_property("destination_path", destination)
    task.set_editor_property("automated", True)
    task.set_editor_property("save", True)
    unreal.AssetToolsHelpers.get_asset_tools().import_asset_tasks([task])


def import_take(take: str, skeleton: str, destination: str = "/Game/Facecast", name: str | None = None,
                style: str = "livelink", prefix: str = "", mapping: dict[str, str] | None = None,
                tolerance: float = 0.0005, angle_units: str = "livelink", audio: bool = True) -> unreal.AnimSequence:
    """Create ``destination/name`` on ``skeleton`` with one float curve per take column; returns the sequence."""
    loaded = takes.load_take(take)
    skeleton_asset = unreal.load_asset(skeleton)
    if not isinstance(skeleton_asset, unreal.Skeleton):
        raise ValueError(f"{skeleton} is not a Skeleton asset")
    name = name or os.path.splitext(os.path.basename(loaded.path))[0]
    sequence = _create_sequence(name, destination, skeleton_asset)
    _set_length(sequence, loaded.fps, loaded.num_frames)
    curves = takes.take_curves(loaded, style, prefix, mapping, tolerance, angle_units)
    with unreal.ScopedSlowTask(len(curves), f"Importing {name}") as task:
        task.make_dialog(True)
        for curve in curves:
            if task.should_cancel():
                break
            task.enter_progress_frame(1, curve.name)
            unreal.AnimationLibrary.add_curve(sequence, curve.name, unreal.RawCurveTrackTypes.RCT_FLOAT, False)
            unreal.AnimationLibrary.add_float_curve_keys(sequence, curve.name, curve.times, curve.values)
    if audio and loaded.audio_path:
        _import_audio(loaded.audio_path, destination)
    unreal.EditorAssetLibrary.save_loaded_asset(sequence)
    unreal.log(f"facecast: {destination}/{name}: {len(curves)} curves, {loaded.num_frames} frames at {loaded.fps} fps")
    return sequence


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="unreal_import_take.py", description=__doc__.splitlines()[0])
    parser.add_argument("--take", required=True, help="take folder or its CSV")
    parser.add_argument("--skeleton", required=True, help="skeleton asset path, e.g. /Game/Char/Face_Skeleton")
    parser.add_argument("--destination", default="/Game/Facecast")
    parser.add_argument("--name", help="asset name (default: the CSV's name)")
    parser.add_argument("--style", choices=takes.NAME_STYLES, default="livelink")
    parser.add_argument("--prefix", default="", help="curve name prefix for --style prefixed")
    parser.add_argument("--tolerance", type=float, default=0.0005, help="key reduction tolerance (0: every frame)")
    parser.add_argument("--angles", choices=takes.ANGLE_UNITS, default="livelink", help="head/eye curve units")
    parser.add_argument("--no-audio", action="store_true")
    args = parser.parse_args(argv)
    import_take(args.take, args.skeleton, args.destination, args.name, args.style, args.prefix, None,
                args.tolerance, args.angles, not args.no_audio)


if __name__ == "__main__":
    main()
