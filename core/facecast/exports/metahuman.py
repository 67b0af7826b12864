"""The 52 ARKit blendshapes as MetaHuman face board control curves (``CTRL_expressions_*``).

A MetaHuman face is driven by the control curves of its face board (``CTRL_expressions_jawOpen``,
``CTRL_expressions_mouthCornerPullL``, ...); RigLogic turns them into joints, blendshapes and wrinkle maps.
Epic's Live Link path reaches them through the pose asset ``mh_arkit_mapping_pose``: each ARKit curve is a pose
that sets some control curves, and poses add up. This module does the same sum without Unreal, so a take can be
keyed straight onto the face board (``plugins/unreal_bridge/unreal_import_take.py --style metahuman``)::

    CTRL_x(t) = clip(sum over ARKit channels a of weight(a, x) * a(t), 0, 1)

The weights are the ``CTRL_expressions_*`` values of each pose of ``mh_arkit_mapping_pose`` as dumped from the
asset in the public repository alexdjulin/LiveLinkFace-CSV-Retarget-For-Motionbuilder (``unreal_mapping.txt``;
the asset itself is ``map/mh_arkit_mapping_pose.T3D`` there), keeping weights of at least 0.1: the smaller
ones are 1e-6 residue of the pose authoring and a 0.03 ``browLateralL`` bias present in many poses. Wrinkle-map
curves (``head_wm*``, ``head_cm*``) are left out: the face's RigLogic derives them from the controls.
``MouthClose`` has no pose in the asset; it is mapped to the four ``mouthLipsTogether`` controls (our choice).

Head and eye angles are not face board controls: the MetaHuman's head turns from ``HeadYaw/Pitch/Roll`` (the
*LLink Face Head* option) and the eyes from the ``eyeLook*`` controls above, so the angle channels pass through
under their Live Link names. Needs numpy only.
"""

from __future__ import annotations

import json
import os

import numpy as np

from facecast.errors import InvalidInput
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, NUM_BLENDSHAPES

PREFIX = "CTRL_expressions_"
SOURCE = "alexdjulin/LiveLinkFace-CSV-Retarget-For-Motionbuilder unreal_mapping.txt (mh_arkit_mapping_pose)"


def _quad(stem: str, weight: float = 1.0) -> tuple[tuple[str, float], ...]:
    return tuple((f"{stem}{corner}", weight) for corner in ("UL", "UR", "DL", "DR"))


def _pair(stem: str, weight: float = 1.0) -> tuple[tuple[str, float], ...]:
    return ((f"{stem}L", weight), (f"{stem}R", weight))


# ARKit channel -> (control without the CTRL_expressions_ prefix, weight) ...
FACE_BOARD: dict[str, tuple[tuple[str, float], ...]] = {
    "EyeBlinkLeft": (("eyeBlinkL", 1.0),), "EyeBlinkRight": (("eyeBlinkR", 1.0),),
    "EyeLookDownLeft": (("eyeLookDownL", 1.0),), "EyeLookDownRight": (("eyeLookDownR", 1.0),),
    "EyeLookInLeft": (("eyeLookRightL", 1.0),), "EyeLookInRight": (("eyeLookLeftR", 1.0),),
    "EyeLookOutLeft": (("eyeLookLeftL", 1.0),), "EyeLookOutRight": (("eyeLookRightR", 1.0),),
    "EyeLookUpLeft": (("eyeLookUpL", 1.0),), "EyeLookUpRight": (("eyeLookUpR", 1.0),),
    "EyeSquintLeft": (("eyeSquintInnerL", 1.0),), "EyeSquintRight": (("eyeSquintInnerR", 1.0),),
    "EyeWideLeft": (("eyeWidenL", 1.0),), "EyeWideRight": (("eyeWidenR", 1.0),),
    "JawForward": (("jawFwd", 0.998648),), "JawLeft": (("jawLeft", 1.0),), "JawRight": (("jawRight", 1.0),),
    "JawOpen": (("jawOpen", 1.0),),
    "MouthClose": _quad("mouthLipsTogether"),  # not in the pose asset: our choice
    "MouthFunnel": _quad("mouthFunnel"),
    "MouthPucker": _quad("mouthLipsPurse") + _quad("mouthLipsTowards", 0.412242) + _quad("mouthFunnel", 0.751934),
    "MouthLeft": (("mouthLeft", 1.0),), "MouthRight": (("mouthRight", 1.0),),
    "MouthSmileLeft": (("mouthCornerPullL", 1.0),), "MouthSmileRight": (("mouthCornerPullR", 1.0),),
    "MouthFrownLeft": (("mouthCornerDepressL", 1.0),), "MouthFrownRight": (("mouthCornerDepressR", 1.0),),
    "MouthDimpleLeft": (("mouthDimpleL", 1.0),), "MouthDimpleRight": (("mouthDimpleR", 1.0),),
    "MouthStretchLeft": (("mouthStretchL", 1.0),), "MouthStretchRight": (("mouthStretchR", 1.0),),
    "MouthRollLower": _pair("mouthUpperLipRollIn", 0.49881) + _pair("mouthLowerLipRollIn"),
    "MouthRollUpper": _pair("mouthUpperLipRollIn", 0.997621),
    "MouthShrugLower": (("jawChinRaiseDL", 1.0), ("jawChinRaiseDR", 1.0)),
    "MouthShrugUpper": (("jawChinRaiseUL", 1.0), ("jawChinRaiseUR", 1.0)),
    "MouthPressLeft": (("mouthPressUL", 1.0), ("mouthPressDL", 1.0)),
    "MouthPressRight": (("mouthPressUR", 1.0), ("mouthPressDR", 1.0)),
    "MouthLowerDownLeft": (("mouthLowerLipDepressL", 1.0),), "MouthLowerDownRight": (("mouthLowerLipDepressR", 1.0),),
    "MouthUpperUpLeft": (("mouthUpperLipRaiseL", 1.0),), "MouthUpperUpRight": (("mouthUpperLipRaiseR", 1.0),),
    "BrowDownLeft": (("browDownL", 1.0),), "BrowDownRight": (("browDownR", 1.0),),
    "BrowInnerUp": _pair("browLateral") + _pair("browRaiseIn"),
    "BrowOuterUpLeft": (("browRaiseInL", 1.0), ("browRaiseOuterL", 1.0)),
    "BrowOuterUpRight": (("browRaiseInR", 1.0), ("browRaiseOuterR", 1.0)),
    "CheekPuff": _pair("mouthCheekBlow") + _pair("mouthLipsBlow"),
    "CheekSquintLeft": (("eyeCheekRaiseL", 1.0),), "CheekSquintRight": (("eyeCheekRaiseR", 1.0),),
    "NoseSneerLeft": (("noseWrinkleL", 1.0),), "NoseSneerRight": (("noseWrinkleR", 1.0),),
    "TongueOut": (("tongueDown", 0.825971), ("tongueOut", 0.768854), ("tongueRollDown", 0.247319),
                  ("tongueWide", 0.627775)),
}  # fmt: skip
assert set(FACE_BOARD) == set(BLENDSHAPES), "every ARKit blendshape needs a face board entry"


def control_names() -> list[str]:
    """Every face board curve the mapping drives (``CTRL_expressions_*``), in first-use order."""
    names: dict[str, None] = {}
    for name in BLENDSHAPES:
        for control, _ in FACE_BOARD[name]:
            names.setdefault(PREFIX + control, None)
    return list(names)


def weight_matrix() -> np.ndarray:
    """``W`` [52, K]: control curves = ``clip(blendshapes @ W, 0, 1)``, columns in :func:`control_names` order."""
    names = control_names()
    column = {name: i for i, name in enumerate(names)}
    weights = np.zeros((NUM_BLENDSHAPES, len(names)), np.float32)
    for arkit, controls in FACE_BOARD.items():
        for control, weight in controls:
            weights[CHANNEL_INDEX[arkit], column[PREFIX + control]] += weight
    return weights


def face_board_curves(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """``(names, curves [T, K])`` of the face board controls for contract ``values`` [T, 52 or 61]."""
    values = np.asarray(values, np.float32)
    if values.ndim != 2 or values.shape[1] < NUM_BLENDSHAPES:
        raise InvalidInput(f"face board curves need [frames, 52+] blendshape values, not shape {values.shape}")
    return control_names(), np.clip(values[:, :NUM_BLENDSHAPES] @ weight_matrix(), 0.0, 1.0)


def table_document() -> dict[str, object]:
    """The mapping as a JSON-ready document (the Unreal import script reads this; it has no numpy)."""
    return {"source": SOURCE, "prefix": PREFIX,
            "controls": {arkit: [[control, weight] for control, weight in FACE_BOARD[arkit]] for arkit in BLENDSHAPES}}


def write_table(path: str | os.PathLike[str]) -> None:
    """Write :func:`table_document` as JSON (how ``plugins/unreal_bridge/metahuman_face_board.json`` is made)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(table_document(), f, indent=1)
        f.write("\n")
