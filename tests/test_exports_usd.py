"""OpenUSD export: USD's own validators report no errors; blendShapeWeights equal the CSV export."""

from __future__ import annotations

import numpy as np
import pytest
from exports_helpers import sample_clip, speech_clip, weights_matrix

from facecast.exports import export, load_clip
from facecast.exports.usd import validate_usd, write_usd
from facecast.motion import BLENDSHAPES

pxr = pytest.importorskip("pxr", reason="usd-core is not installed (pip install usd-core)")
from pxr import Usd, UsdGeom, UsdSkel  # noqa: E402


def animation_weights(stage: Usd.Stage, animation: UsdSkel.Animation, frames: int) -> np.ndarray:
    attr = animation.GetBlendShapeWeightsAttr()
    return np.array([np.asarray(attr.Get(Usd.TimeCode(f))) for f in range(frames)])


@pytest.mark.parametrize("suffix", [".usda", ".usdc"])
def test_test_head_stage_validates_and_matches_the_csv(tmp_path, suffix):
    clip = speech_clip()
    export(clip, tmp_path / "take.csv")
    csv_clip = load_clip(tmp_path / "take.csv")
    path = tmp_path / f"take{suffix}"
    write_usd(clip, path)

    from pxr import UsdValidation

    assert len(UsdValidation.ValidationRegistry().GetOrLoadAllValidators()) > 10  # the check has teeth
    assert validate_usd(path) == []
    stage = Usd.Stage.Open(str(path))
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetTimeCodesPerSecond() == clip.fps == stage.GetFramesPerSecond()
    assert (stage.GetStartTimeCode(), stage.GetEndTimeCode()) == (0, clip.num_frames - 1)

    root = UsdSkel.Root(stage.GetDefaultPrim())
    assert root
    cache = UsdSkel.Cache()
    cache.Populate(root, Usd.TraverseInstanceProxies())
    skeleton = UsdSkel.Skeleton(stage.GetPrimAtPath("/FacecastHead/Skeleton"))
    query = cache.GetSkelQuery(skeleton)
    assert query and list(query.GetJointOrder()) == ["Head", "Head/LeftEye", "Head/RightEye"]
    animation = UsdSkel.Animation(query.GetAnimQuery().GetPrim())
    assert list(animation.GetBlendShapesAttr().Get()) == list(BLENDSHAPES)
    weights = animation_weights(stage, animation, clip.num_frames)
    assert np.abs(weights - weights_matrix(csv_clip, list(BLENDSHAPES))).max() <= 1e-3

    mesh = stage.GetPrimAtPath("/FacecastHead/HeadMesh")
    binding = UsdSkel.BindingAPI(mesh)
    assert list(binding.GetBlendShapesAttr().Get()) == list(BLENDSHAPES)
    assert len(binding.GetBlendShapeTargetsRel().GetTargets()) == 52
    bindings = cache.ComputeSkelBindings(root, Usd.TraverseInstanceProxies())
    skinned = {str(q.GetPrim().GetPath()): q for b in bindings for q in b.GetSkinningTargets()}
    assert set(skinned) == {"/FacecastHead/HeadMesh", "/FacecastHead/LeftEyeMesh", "/FacecastHead/RightEyeMesh"}
    assert skinned["/FacecastHead/HeadMesh"].HasBlendShapes()
    # The head joint's animated rotation differs from rest when the take turns the head.
    rotations = np.array([list(q.GetImaginary()) + [q.GetReal()]
                          for q in animation.GetRotationsAttr().Get(Usd.TimeCode(clip.num_frames // 2))])
    assert rotations.shape == (3, 4) and np.allclose(np.linalg.norm(rotations, axis=1), 1.0, atol=1e-5)


def test_animation_only_stage_holds_just_the_skel_animation(tmp_path):
    clip = sample_clip(40)
    path = tmp_path / "anim.usda"
    write_usd(clip, path, animation_only=True, max_error=0.01)
    assert validate_usd(path) == []
    stage = Usd.Stage.Open(str(path))
    prims = [p for p in stage.Traverse()]
    assert len(prims) == 1 and prims[0].IsA(UsdSkel.Animation)
    animation = UsdSkel.Animation(stage.GetDefaultPrim())
    weights = animation_weights(stage, animation, clip.num_frames)  # USD interpolates linearly between samples
    assert np.abs(weights - weights_matrix(clip, list(BLENDSHAPES))).max() <= 0.01 + 1e-6
    assert len(animation.GetBlendShapeWeightsAttr().GetTimeSamples()) <= clip.num_frames
