"""Name-mapping presets: which morph target / shape key of a rig each ARKit blendshape drives.

Rigs name the 52 ARKit shapes differently. A preset maps each contract name (``"JawOpen"``, see
:data:`facecast.motion.BLENDSHAPES`) to the target name(s) a rig uses for it; one ARKit channel may drive
several targets (Character Creator splits ``mouthPucker`` into four quadrant shapes). Presets:

- ``arkit``: the contract's PascalCase names (``JawOpen``), as Unreal's ``EARFaceBlendShape`` and Live Link use.
- ``lowercamel``: Apple's own spelling (``jawOpen``), used by three.js / Ready Player Me / VRM "perfect sync"
  heads and by Faceit's ARKit expression set.
- ``faceit``: Faceit's ARKit expressions, which use Apple's lowerCamel names.
- ``cc4``: Reallusion Character Creator 4 "Extended" (ExPlus) facial profile (``Jaw_Open``, ``Mouth_Smile_L``).
- ``metahuman``: the curve names of MetaHuman's ARKit mapping pose asset, which are Live Link's PascalCase
  names; MetaHuman's own ``CTRL_expressions_*`` rig controls are not mapped here (they need the pose asset).
- ``custom``: a dict or a JSON file ``{"JawOpen": "mouth_open", "MouthPucker": ["pucker_a", "pucker_b"]}``.

Matching a rig's target names ignores case, underscores, dots, spaces and hyphens, so ``jaw_open``, ``JAW-OPEN``
and ``JawOpen`` all match. This module needs no Blender and no glTF library; the Blender add-on reuses it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping

from facecast.errors import InvalidInput
from facecast.motion import BLENDSHAPES

Preset = str | Mapping[str, str | Iterable[str]] | os.PathLike[str]

# Reallusion CC4 Extended profile names. Where CC4 splits one ARKit shape into several (brow inner up, cheek
# puff, funnel, pucker, lip rolls), the ARKit weight drives every part, as Reallusion's own ARKit bridge does.
_CC4: dict[str, tuple[str, ...]] = {
    "EyeBlinkLeft": ("Eye_Blink_L",), "EyeBlinkRight": ("Eye_Blink_R",),
    "EyeLookDownLeft": ("Eye_L_Look_Down",), "EyeLookDownRight": ("Eye_R_Look_Down",),
    "EyeLookInLeft": ("Eye_L_Look_R",), "EyeLookInRight": ("Eye_R_Look_L",),
    "EyeLookOutLeft": ("Eye_L_Look_L",), "EyeLookOutRight": ("Eye_R_Look_R",),
    "EyeLookUpLeft": ("Eye_L_Look_Up",), "EyeLookUpRight": ("Eye_R_Look_Up",),
    "EyeSquintLeft": ("Eye_Squint_L",), "EyeSquintRight": ("Eye_Squint_R",),
    "EyeWideLeft": ("Eye_Wide_L",), "EyeWideRight": ("Eye_Wide_R",),
    "JawForward": ("Jaw_Forward",), "JawLeft": ("Jaw_L",), "JawRight": ("Jaw_R",), "JawOpen": ("Jaw_Open",),
    "MouthClose": ("Mouth_Close",),
    "MouthFunnel": ("Mouth_Funnel_Up_L", "Mouth_Funnel_Up_R", "Mouth_Funnel_Down_L", "Mouth_Funnel_Down_R"),
    "MouthPucker": ("Mouth_Pucker_Up_L", "Mouth_Pucker_Up_R", "Mouth_Pucker_Down_L", "Mouth_Pucker_Down_R"),
    "MouthLeft": ("Mouth_L",), "MouthRight": ("Mouth_R",),
    "MouthSmileLeft": ("Mouth_Smile_L",), "MouthSmileRight": ("Mouth_Smile_R",),
    "MouthFrownLeft": ("Mouth_Frown_L",), "MouthFrownRight": ("Mouth_Frown_R",),
    "MouthDimpleLeft": ("Mouth_Dimple_L",), "MouthDimpleRight": ("Mouth_Dimple_R",),
    "MouthStretchLeft": ("Mouth_Stretch_L",), "MouthStretchRight": ("Mouth_Stretch_R",),
    "MouthRollLower": ("Mouth_Roll_In_Lower_L", "Mouth_Roll_In_Lower_R"),
    "MouthRollUpper": ("Mouth_Roll_In_Upper_L", "Mouth_Roll_In_Upper_R"),
    "MouthShrugLower": ("Mouth_Shrug_Lower",), "MouthShrugUpper": ("Mouth_Shrug_Upper",),
    "MouthPressLeft": ("Mouth_Press_L",), "MouthPressRight": ("Mouth_Press_R",),
    "MouthLowerDownLeft": ("Mouth_Down_Lower_L",), "MouthLowerDownRight": ("Mouth_Down_Lower_R",),
    "MouthUpperUpLeft": ("Mouth_Up_Upper_L",), "MouthUpperUpRight": ("Mouth_Up_Upper_R",),
    "BrowDownLeft": ("Brow_Drop_L",), "BrowDownRight": ("Brow_Drop_R",),
    "BrowInnerUp": ("Brow_Raise_Inner_L", "Brow_Raise_Inner_R"),
    "BrowOuterUpLeft": ("Brow_Raise_Outer_L",), "BrowOuterUpRight": ("Brow_Raise_Outer_R",),
    "CheekPuff": ("Cheek_Puff_L", "Cheek_Puff_R"),
    "CheekSquintLeft": ("Cheek_Raise_L",), "CheekSquintRight": ("Cheek_Raise_R",),
    "NoseSneerLeft": ("Nose_Sneer_L",), "NoseSneerRight": ("Nose_Sneer_R",),
    "TongueOut": ("Tongue_Out",),
}  # fmt: skip


def _lower_camel(name: str) -> str:
    return name[0].lower() + name[1:]


_PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "arkit": {name: (name,) for name in BLENDSHAPES},
    "lowercamel": {name: (_lower_camel(name),) for name in BLENDSHAPES},
    "faceit": {name: (_lower_camel(name),) for name in BLENDSHAPES},
    "cc4": _CC4,
    "metahuman": {name: (name,) for name in BLENDSHAPES},
}
# How a user interface lists each built-in preset: (label, one-line description); in the order of _PRESETS.
PRESET_LABELS: dict[str, tuple[str, str]] = {
    "arkit": ("ARKit (PascalCase)", "Live Link / Unreal spelling: JawOpen, EyeBlinkLeft"),
    "lowercamel": ("ARKit (lowerCamel)", "Apple's spelling, used by VRM, Ready Player Me, three.js: jawOpen"),
    "faceit": ("Faceit", "Faceit's ARKit expression set (lowerCamel names)"),
    "cc4": ("Character Creator 4", "Reallusion CC4 Extended profile: Jaw_Open, Mouth_Smile_L"),
    "metahuman": ("MetaHuman-style", "MetaHuman ARKit pose-asset curve names (PascalCase)"),
}
_ALIASES = {"threejs": "lowercamel", "rpm": "lowercamel", "readyplayerme": "lowercamel", "apple": "lowercamel",
            "cc": "cc4", "charactercreator": "cc4", "reallusion": "cc4", "mh": "metahuman", "livelink": "arkit"}


def preset_names() -> list[str]:
    """The built-in preset names (``custom`` is given as a dict or a JSON file path instead of a name)."""
    return [*_PRESETS, "custom"]


def normalize(name: str) -> str:
    """A name's matching key: lower case without ``_ . - `` or spaces (``Jaw_Open`` and ``jawOpen`` -> ``jawopen``)."""
    return re.sub(r"[\s_.\-]+", "", name).lower()


def mapping_for(preset: Preset = "arkit") -> dict[str, tuple[str, ...]]:
    """ARKit channel (contract name) -> the target name(s) it drives under ``preset``.

    ``preset`` is a preset name, a dict (custom mapping; values a name or a list of names), or the path of a JSON
    file holding such a dict. Custom keys may be written in any ARKit spelling (``jawOpen``, ``JawOpen``).
    """
    if isinstance(preset, str) and not preset.lower().endswith(".json"):
        key = _ALIASES.get(normalize(preset), normalize(preset))
        if key not in _PRESETS:
            raise InvalidInput(f"unknown mapping preset {preset!r}; use one of {', '.join(preset_names()[:-1])}, "
                               "or a JSON file / dict for a custom mapping")
        return dict(_PRESETS[key])
    if isinstance(preset, Mapping):
        return _custom(preset, "custom mapping")
    path = os.fspath(preset)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise InvalidInput(f"cannot read mapping file {path}: {e}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"mapping file {path} must hold a JSON object of ARKit name -> target name(s)")
    return _custom(data, f"mapping file {path}")


def _custom(data: Mapping[str, str | Iterable[str]], source: str) -> dict[str, tuple[str, ...]]:
    by_key = {normalize(name): name for name in BLENDSHAPES}
    mapping: dict[str, tuple[str, ...]] = {}
    for arkit, targets in data.items():
        channel = by_key.get(normalize(str(arkit)))
        if channel is None:
            raise InvalidInput(f"{source}: {arkit!r} is not one of the 52 ARKit blendshape names")
        names = (targets,) if isinstance(targets, str) else tuple(targets)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise InvalidInput(f"{source}: {arkit!r} must map to a target name or a list of names")
        mapping[channel] = names
    return mapping


def match_targets(target_names: Iterable[str], preset: Preset = "arkit") -> tuple[dict[str, str], list[str]]:
    """Match a rig's target names to ARKit channels.

    Returns ``(mapping, unmapped)``: ``mapping`` is rig target name -> ARKit channel (contract name) for every
    target the preset names, compared case-, underscore- and separator-insensitively; ``unmapped`` lists the
    rig's targets that no ARKit channel drives, in their original order (callers warn about them).
    """
    by_key: dict[str, str] = {}
    for channel, names in mapping_for(preset).items():
        for name in names:
            by_key.setdefault(normalize(name), channel)
    mapping: dict[str, str] = {}
    unmapped: list[str] = []
    for target in target_names:
        found = by_key.get(normalize(target))
        if found is None:
            unmapped.append(target)
        else:
            mapping[target] = found
    return mapping, unmapped


def best_preset(target_names: Iterable[str]) -> str:
    """The built-in preset that matches the most of ``target_names`` (ties go to the earlier preset)."""
    names = list(target_names)
    return max(_PRESETS, key=lambda preset: len(match_targets(names, preset)[0]))
