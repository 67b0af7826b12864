"""OpenUSD export (``.usda`` text, ``.usdc`` crate) with UsdSkel, through the ``usd-core`` package.

The take becomes a ``SkelAnimation``: ``blendShapes`` (the 52 ARKit names) with time-sampled
``blendShapeWeights``, and joints ``Head``, ``Head/LeftEye``, ``Head/RightEye`` with time-sampled rotations
(axes as in :mod:`facecast.character.joints`; the stage is +Y up, metres). One time code is one frame:
``timeCodesPerSecond`` and ``framesPerSecond`` equal the clip fps, and start/end time codes span the take.

Two modes: ``animation_only=True`` writes just the ``SkelAnimation`` (the default prim), to bind onto an
existing skeleton and meshes, as Omniverse / Audio2Face pipelines do; otherwise the animation is applied to the
ARKit test head: a ``SkelRoot`` with the ``Skeleton``, the head ``Mesh`` with its 52 ``BlendShape`` prims bound
through ``SkelBindingAPI``, and two eye meshes rigidly bound to the eye joints.

With ``audio``, the speech is written beside the file (``take.wav``, :mod:`facecast.exports.sidecar`) and a
``UsdMediaSpatialAudio`` prim (``Audio`` under the default prim; ``/Audio`` beside an animation-only export)
plays it non-spatially once from time code 0 to the take's end, so the take plays in sync in usdview,
Omniverse and other USD tools.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from facecast.character.joints import HEAD, LEFT_EYE, RIGHT_EYE, joint_rotations, to_wxyz
from facecast.character.testhead import MeshData, build_test_head
from facecast.errors import FacecastError
from facecast.exports.keyreduce import reduce_keys
from facecast.exports.sidecar import audio_beside
from facecast.fileio import atomic_path
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, MotionClip

if TYPE_CHECKING:
    from facecast.audio import Audio

JOINTS = (HEAD, f"{HEAD}/{LEFT_EYE}", f"{HEAD}/{RIGHT_EYE}")
_JOINT_ANGLES = (HEAD, LEFT_EYE, RIGHT_EYE)


def _pxr() -> tuple[Any, ...]:  # (Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt); pxr ships no type hints
    try:
        from pxr import Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt
    except ImportError:
        raise FacecastError("USD export needs the usd-core package: pip install usd-core") from None
    return Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt


def write_usd(clip: MotionClip, path: str | os.PathLike[str], animation_only: bool = False,
              max_error: float | None = None, audio: Audio | None = None) -> None:
    """Write ``clip`` as UsdSkel to ``path`` (``.usda`` or ``.usdc``), atomically. See the module docstring."""
    Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt = _pxr()
    with audio_beside(path, audio) as wav, atomic_path(path) as tmp:
        stage = Usd.Stage.CreateNew(tmp)
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
        UsdGeom.SetStageMetersPerUnit(stage, UsdGeom.LinearUnits.meters)
        stage.SetTimeCodesPerSecond(clip.fps)
        stage.SetFramesPerSecond(clip.fps)
        stage.SetStartTimeCode(0)
        stage.SetEndTimeCode(max(clip.num_frames - 1, 0))
        stage.SetMetadata("comment", f"facecast take: {clip.num_frames} frames at {clip.fps} fps")
        if animation_only:
            animation = _animation(stage, Sdf.Path("/Animation"), clip, max_error)
            stage.SetDefaultPrim(animation.GetPrim())
        else:
            _test_head(stage, clip, max_error)
        if wav is not None:
            parent = Sdf.Path("/") if animation_only else stage.GetDefaultPrim().GetPath()
            _audio(stage, parent.AppendChild("Audio"), wav, clip)
        stage.GetRootLayer().Save()
        del stage  # release the layer before the rename


def _animation(stage: Any, prim_path: Any, clip: MotionClip, max_error: float | None) -> Any:
    Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt = _pxr()
    animation = UsdSkel.Animation.Define(stage, prim_path)
    animation.CreateJointsAttr(list(JOINTS))
    animation.CreateBlendShapesAttr(list(BLENDSHAPES))
    weights = clip.values[:, [CHANNEL_INDEX[name] for name in BLENDSHAPES]]
    weights_attr = animation.CreateBlendShapeWeightsAttr()
    for frame in reduce_keys(weights, max_error):
        weights_attr.Set(Vt.FloatArray.FromNumpy(np.ascontiguousarray(weights[frame])), Usd.TimeCode(int(frame)))
    rotations = np.stack([to_wxyz(joint_rotations(clip, joint)) for joint in _JOINT_ANGLES], axis=1)  # [T, 3, 4]
    rotations_attr = animation.CreateRotationsAttr()
    for frame in reduce_keys(rotations.reshape(len(rotations), -1), max_error):
        rotations_attr.Set(Vt.QuatfArray([Gf.Quatf(*map(float, q)) for q in rotations[frame]]),
                           Usd.TimeCode(int(frame)))
    head = build_test_head()
    animation.CreateTranslationsAttr(Vt.Vec3fArray([Gf.Vec3f(0, 0, 0)] + [Gf.Vec3f(*e.translation) for e in head.eyes]))
    animation.CreateScalesAttr(Vt.Vec3hArray([Gf.Vec3h(1, 1, 1)] * len(JOINTS)))
    return animation


def _audio(stage: Any, prim_path: Any, wav: str, clip: MotionClip) -> Any:
    """A non-spatial ``UsdMediaSpatialAudio`` playing ``wav`` (relative to the layer) from time code 0."""
    from pxr import Sdf, UsdMedia

    sound = UsdMedia.SpatialAudio.Define(stage, prim_path)
    sound.CreateFilePathAttr(Sdf.AssetPath(f"./{wav}"))
    sound.CreateAuralModeAttr(UsdMedia.Tokens.nonSpatial)
    sound.CreatePlaybackModeAttr(UsdMedia.Tokens.onceFromStartToEnd)
    sound.CreateStartTimeAttr(0.0)
    sound.CreateEndTimeAttr(float(clip.num_frames))  # the end of the last frame
    sound.CreateMediaOffsetAttr(0.0)
    return sound


def _mesh(stage: Any, prim_path: Any, mesh: MeshData, offset: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Any:
    Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt = _pxr()
    usd_mesh = UsdGeom.Mesh.Define(stage, prim_path)
    points = mesh.positions + np.asarray(offset, np.float32)
    usd_points = Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(points))
    usd_mesh.CreatePointsAttr(usd_points)
    usd_mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(mesh.normals)))
    usd_mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    usd_mesh.CreateFaceVertexCountsAttr(Vt.IntArray([3] * (len(mesh.indices) // 3)))
    usd_mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(mesh.indices.astype(np.int32)))
    usd_mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    usd_mesh.CreateExtentAttr(UsdGeom.PointBased.ComputeExtent(usd_points))
    if mesh.colors is not None:
        usd_mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex).Set(Vt.Vec3fArray.FromNumpy(mesh.colors))
    return usd_mesh


def _bind_rigidly(usd_mesh: Any, joint_index: int) -> Any:
    """Bind ``usd_mesh`` wholly to joint ``joint_index``; return its ``UsdSkel.BindingAPI`` (pxr is untyped)."""
    Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt = _pxr()
    binding = UsdSkel.BindingAPI.Apply(usd_mesh.GetPrim())
    binding.CreateJointIndicesPrimvar(constant=True, elementSize=1).Set(Vt.IntArray([joint_index]))
    binding.CreateJointWeightsPrimvar(constant=True, elementSize=1).Set(Vt.FloatArray([1.0]))
    binding.CreateGeomBindTransformAttr(Gf.Matrix4d(1.0))
    return binding


def _test_head(stage: Any, clip: MotionClip, max_error: float | None) -> None:
    Gf, Sdf, Usd, UsdGeom, UsdSkel, Vt = _pxr()
    head = build_test_head()
    root = UsdSkel.Root.Define(stage, "/FacecastHead")
    stage.SetDefaultPrim(root.GetPrim())
    skeleton = UsdSkel.Skeleton.Define(stage, "/FacecastHead/Skeleton")
    skeleton.CreateJointsAttr(list(JOINTS))
    skeleton.CreateJointNamesAttr([HEAD, LEFT_EYE, RIGHT_EYE])
    local = [Gf.Matrix4d(1.0)] + [Gf.Matrix4d(1.0).SetTranslate(Gf.Vec3d(*eye.translation)) for eye in head.eyes]
    skeleton.CreateRestTransformsAttr(Vt.Matrix4dArray(local))
    skeleton.CreateBindTransformsAttr(Vt.Matrix4dArray(local))  # the head joint is the root, so world == local
    animation = _animation(stage, Sdf.Path("/FacecastHead/Skeleton/Animation"), clip, max_error)
    UsdSkel.BindingAPI.Apply(skeleton.GetPrim()).CreateAnimationSourceRel().SetTargets([animation.GetPath()])
    UsdSkel.BindingAPI.Apply(root.GetPrim()).CreateSkeletonRel().SetTargets([skeleton.GetPath()])

    usd_mesh = _mesh(stage, "/FacecastHead/HeadMesh", head.mesh)
    binding = _bind_rigidly(usd_mesh, 0)
    binding.CreateSkeletonRel().SetTargets([skeleton.GetPath()])
    binding.CreateBlendShapesAttr(list(head.targets))
    shape_paths = []
    for name, delta in head.targets.items():
        shape = UsdSkel.BlendShape.Define(stage, usd_mesh.GetPath().AppendChild(name))
        moved = np.flatnonzero(np.any(delta != 0, axis=1)).astype(np.int32)
        shape.CreatePointIndicesAttr(Vt.IntArray.FromNumpy(moved))
        shape.CreateOffsetsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(delta[moved])))
        shape_paths.append(shape.GetPath())
    binding.CreateBlendShapeTargetsRel().SetTargets(shape_paths)
    for joint_index, eye in enumerate(head.eyes, start=1):
        eye_mesh = _mesh(stage, f"/FacecastHead/{eye.name}Mesh", eye.mesh, eye.translation)
        _bind_rigidly(eye_mesh, joint_index).CreateSkeletonRel().SetTargets([skeleton.GetPath()])


def validate_usd(path: str | os.PathLike[str]) -> list[str]:
    """Run every validator USD registers (``pxr.UsdValidation``) on ``path``; return the error messages."""
    _, _, Usd, _, _, _ = _pxr()
    from pxr import UsdValidation

    registry = UsdValidation.ValidationRegistry()
    validators = registry.GetOrLoadAllValidators()
    stage = Usd.Stage.Open(os.fspath(path))
    errors = UsdValidation.ValidationContext(validators).Validate(stage)
    return [f"{e.GetName()}: {e.GetMessage()}" for e in errors
            if e.GetType() == UsdValidation.ValidationErrorType.Error]
