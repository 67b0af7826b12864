"""Pictures for docs/BLENDER.md, made from the real add-on.

    .venv-blender/bin/python plugins/blender/doc_images.py render --server HOST:PORT --audio assets/speech_en.wav
    .venv-blender/bin/python plugins/blender/doc_images.py rig --server HOST:PORT
    .venv-blender/bin/python plugins/blender/doc_images.py layers --server HOST:PORT
    .venv/bin/python plugins/blender/doc_images.py diagram
    .venv/bin/python plugins/blender/doc_images.py plot-layers

``render`` (bpy): bakes the audio onto the ARKit test head through the add-on, renders the frame where the
mouth is widest with Workbench to ``docs/img/blender_test_head.png``, and records the panels' layout by
running each panel's real ``draw()`` against a recording layout (``build/blender_panel_layout.json``).
``rig`` (bpy): the same bake onto the generated Character Creator 4 rig (``tests/cc4_rig.py``: CC4 shape-key
names, head and eye bones) through the ``cc4`` preset, rendered to ``docs/img/blender_cc4_rig.png``.
``layers`` (bpy) + ``plot-layers`` (matplotlib): bake, hand-key the brows, re-bake only the mouth; plot what
the strips hold and what plays (``docs/img/blender_regions.png``).
``diagram`` (Pillow): draws that recorded layout as ``docs/img/blender_panel.png``, labelled as a diagram:
a headless Blender cannot draw its UI, so this is the panel's structure, not a screenshot.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
IMG = HERE.parent.parent / "docs" / "img"
LAYOUT_JSON = HERE.parent.parent / "build" / "blender_panel_layout.json"  # between the two steps (git-ignored)


class RecordingLayout:
    """Stands in for ``bpy.types.UILayout`` and records what a panel's ``draw()`` puts where."""

    def __init__(self, kind: str = "column") -> None:
        self.kind = kind
        self.items: list[dict[str, Any]] = []

    def __setattr__(self, name: str, value: Any) -> None:  # scale_y, enabled, alert...: layout hints
        object.__setattr__(self, name, value)

    def _child(self, kind: str) -> RecordingLayout:
        child = RecordingLayout(kind)
        self.items.append({"type": kind, "items": child.items})
        return child

    def row(self, **_: Any) -> RecordingLayout:
        return self._child("row")

    def column(self, **_: Any) -> RecordingLayout:
        return self._child("column")

    def box(self) -> RecordingLayout:
        return self._child("box")

    def label(self, text: str = "", icon: str = "NONE") -> None:
        self.items.append({"type": "label", "text": text, "icon": icon})

    def prop(self, data: Any, name: str, text: str | None = None, expand: bool = False, **_: Any) -> None:
        prop = data.bl_rna.properties[name]
        value = getattr(data, name)
        item = {"type": "prop", "kind": prop.type, "label": prop.name if text is None else text, "expand": expand}
        if prop.type == "ENUM":
            item["options"] = [e.name for e in prop.enum_items]
            item["value"] = prop.enum_items[value].name if value else ""
        elif prop.type == "POINTER":
            item["value"] = value.name if value is not None else ""
        elif prop.type == "FLOAT":
            item["value"] = f"{value:.3g}" if prop.subtype != "ANGLE" else f"{value * 57.2958:.0f}°"
        elif getattr(prop, "subtype", "") == "PASSWORD":
            item["value"] = "•" * len(value)
        else:
            item["value"] = value if isinstance(value, (bool, int)) else str(value)
        self.items.append(item)

    def prop_search(self, data: Any, name: str, *_: Any, **kwargs: Any) -> None:
        self.prop(data, name, **{k: v for k, v in kwargs.items() if k == "text"})

    def operator(self, idname: str, text: str | None = None, icon: str = "NONE", **_: Any) -> None:
        import bpy

        group, name = idname.split(".")
        label = getattr(getattr(bpy.ops, group), name).get_rna_type().name if text is None else text
        self.items.append({"type": "operator", "text": label, "icon": icon})

    def progress(self, factor: float = 0.0, text: str = "", **_: Any) -> None:
        self.items.append({"type": "progress", "text": text, "factor": factor})

    def template_list(self, *_: Any, rows: int = 5, **__: Any) -> None:
        self.items.append({"type": "list", "rows": rows})


def _addon():
    """The add-on with its own facecast subset, as the extension bundles it (the bpy venv has no facecast)."""
    sys.path.insert(0, str(HERE))
    import build_addon

    site = HERE.parent.parent / "build" / "blender-core"
    site.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(build_addon.build_core_wheel(site.parent)) as wheel:
        wheel.extractall(site)
    sys.path.insert(0, str(site))
    import facecast_blender

    return facecast_blender


def _empty_scene(facecast_blender):
    """Blender's factory scene at 30 fps with online access on and the add-on registered."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.system.use_online_access = True
    facecast_blender.register()
    scene = bpy.context.scene
    scene.render.fps = 30
    return scene


def _bake_and_pick_frame(scene, key) -> float:
    """Bake with the panel's settings from frame 1; go to the widest mouth of the middle third; its JawOpen."""
    import bpy
    import numpy as np
    from facecast_blender.apply import baked_fcurves

    scene.frame_current = 1
    bpy.ops.facecast.bake()
    jaw = next(c for c in baked_fcurves(key) if '"JawOpen"' in c.data_path or '"Jaw_Open"' in c.data_path)
    values = np.array([k.co[1] for k in jaw.keyframe_points])
    middle = slice(len(values) // 3, 2 * len(values) // 3)  # mid-sentence: the widest mouth of the middle third
    scene.frame_set(1 + middle.start + int(np.argmax(values[middle])))
    return float(values[scene.frame_current - 1])


def _workbench_render(scene, color_type: str, name: str) -> Path:
    """Render the current frame with Workbench from the docs' camera to ``docs/img/<name>``."""
    import bpy
    import numpy as np

    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.location = (0.14, -0.48, 0.115)
    camera.rotation_euler = (np.radians(90), 0.0, np.radians(16))
    camera.data.lens = 55
    scene.camera = camera
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = color_type
    scene.display.shading.show_cavity = True
    scene.display.shading.cavity_type = "BOTH"
    scene.display.shading.curvature_ridge_factor = scene.display.shading.curvature_valley_factor = 2.0
    scene.view_settings.view_transform = "Standard"
    scene.render.resolution_x = scene.render.resolution_y = 720
    scene.render.film_transparent = False
    scene.world = bpy.data.worlds.new("World")
    IMG.mkdir(parents=True, exist_ok=True)
    target = IMG / name
    scene.render.filepath = str(target.with_suffix(".tmp.png"))
    bpy.ops.render.render(write_still=True)
    os.replace(scene.render.filepath, target)
    return target


def render(args: argparse.Namespace) -> None:
    import bpy

    facecast_blender = _addon()
    from facecast_blender import ui

    scene = _empty_scene(facecast_blender)
    bpy.ops.facecast.add_test_head()
    head = bpy.context.active_object
    settings = scene.facecast
    settings.address, settings.audio_path, settings.emotion = args.server, os.path.abspath(args.audio), "happy"
    bpy.ops.facecast.connect()  # so the panel's status line shows what a connected session shows
    jaw = _bake_and_pick_frame(scene, head.data.shape_keys)
    target = _workbench_render(scene, "VERTEX", "blender_test_head.png")  # the test head's colour attribute
    print(f"rendered frame {scene.frame_current} (JawOpen {jaw:.2f}) to {target}")

    panels = []
    for cls in ui.CLASSES:
        if issubclass(cls, bpy.types.Panel):
            layout = RecordingLayout()
            cls.draw(type("PanelStandIn", (), {"layout": layout})(), bpy.context)
            panels.append({"label": cls.bl_label, "child": bool(getattr(cls, "bl_parent_id", "")),
                           "closed": "DEFAULT_CLOSED" in getattr(cls, "bl_options", set()), "items": layout.items})
    LAYOUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    tmp = LAYOUT_JSON.with_suffix(".tmp")
    tmp.write_text(json.dumps(panels, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, LAYOUT_JSON)
    facecast_blender.unregister()


# ---- diagram drawing (Pillow, main venv) ----
WIDTH, ROW, PAD, ICON = 440, 26, 10, 28
BG, PANEL, HEADER, FIELD, BUTTON, TEXT, DIM, ACCENT = ("#1d1d1d", "#2b2b2b", "#3a3a3a", "#545454", "#4a4a4a",
                                                       "#e6e6e6", "#a0a0a0", "#4772b3")


def _height(items: list[dict[str, Any]], kind: str = "column") -> int:
    if kind == "row":
        return max((_height(i["items"], i["type"]) if "items" in i else _item_height(i) for i in items), default=0)
    return sum(_height(i["items"], i["type"]) + (8 if i["type"] == "box" else 0) if "items" in i
               else _item_height(i) for i in items)


def _item_height(item: dict[str, Any]) -> int:
    return ROW * (item.get("rows", 1) + 1) if item["type"] == "list" else ROW


def _draw_items(draw, font, items, x, y, width, kind="column") -> int:
    if kind == "row" and items:
        icon_only = [i.get("type") == "operator" and not i["text"] for i in items]  # Blender keeps these narrow
        step = (width - ICON * sum(icon_only)) / max(len(items) - sum(icon_only), 1)
        for item, narrow in zip(items, icon_only, strict=True):
            _draw_item_or_group(draw, font, item, x, y, (ICON if narrow else step) - 3)
            x += ICON if narrow else step
        return y + _height(items, "row")
    for item in items:
        y = _draw_item_or_group(draw, font, item, x, y, width)
    return y


def _draw_item_or_group(draw, font, item, x, y, width) -> int:
    if "items" in item:
        if item["type"] == "box":
            h = _height(item["items"]) + 8
            draw.rounded_rectangle((x, y + 2, x + width, y + h - 2), 5, outline=HEADER, fill="#262626")
            return _draw_items(draw, font, item["items"], x + 6, y + 4, width - 12) + 4
        return _draw_items(draw, font, item["items"], x, y, width, item["type"])
    return _draw_item(draw, font, item, x, y, width)


def _draw_item(draw, font, item, x, y, width) -> int:
    h = _item_height(item)
    box = (x, y + 3, x + width, y + ROW - 3)
    kind = item["type"]
    if kind == "label":
        draw.text((x + 2, y + 6), item["text"], font=font, fill=DIM if item["icon"] == "NONE" else TEXT)
    elif kind == "operator":
        draw.rounded_rectangle(box, 4, fill=BUTTON)
        cx, cy = (box[0] + box[2]) / 2, y + ROW / 2
        if item["text"]:
            draw.text((cx, cy), item["text"], font=font, fill=TEXT, anchor="mm")
        else:  # an icon-only button (the magnifier of 'Detect Preset')
            draw.ellipse((cx - 5, cy - 6, cx + 3, cy + 2), outline=TEXT, width=2)
            draw.line((cx + 2, cy + 1, cx + 6, cy + 5), fill=TEXT, width=2)
    elif kind == "progress":
        draw.rounded_rectangle(box, 4, fill=FIELD)
        draw.text(((box[0] + box[2]) / 2, y + ROW / 2), item["text"], font=font, fill=TEXT, anchor="mm")
    elif kind == "list":
        draw.rectangle((x, y + 3, x + width, y + h - 3), fill="#232323", outline=HEADER)
        draw.text((x + 6, y + 8), "ARKit name  →  shape key(s)   (52 rows, editable)", font=font, fill=DIM)
    elif item.get("kind") == "BOOLEAN":
        draw.rectangle((x + 2, y + 7, x + 14, y + 19), fill=ACCENT if item["value"] else FIELD)
        draw.text((x + 20, y + 6), item["label"], font=font, fill=TEXT)
    elif item.get("expand"):
        step = width / len(item["options"])
        for i, option in enumerate(item["options"]):
            fill = ACCENT if option == item["value"] else FIELD
            draw.rectangle((x + i * step, y + 3, x + (i + 1) * step - 1, y + ROW - 3), fill=fill)
            draw.text((x + (i + 0.5) * step, y + ROW / 2), option, font=font, fill=TEXT, anchor="mm")
    else:
        label_w = min(width * 0.42, 110) if item["label"] else 0
        draw.text((x + label_w - 4, y + ROW / 2), item["label"], font=font, fill=TEXT, anchor="rm")
        field = (x + label_w, y + 3, x + width, y + ROW - 3)
        draw.rounded_rectangle(field, 4, fill=FIELD)
        value = str(item.get("value", ""))
        suffix = "  ▾" if item.get("kind") in ("ENUM", "POINTER") else ""
        draw.text((field[0] + 6, y + ROW / 2), (value or "—")[:34] + suffix, font=font, fill=TEXT, anchor="lm")
    return y + h


def rig(args: argparse.Namespace) -> None:
    """The generated Character Creator 4 rig (tests/cc4_rig.py) baked through the cc4 preset and its bones."""

    facecast_blender = _addon()
    sys.path.insert(0, str(HERE / "tests"))
    from cc4_rig import HEAD_BONE, LEFT_EYE_BONE, RIGHT_EYE_BONE, add_cc4_rig

    scene = _empty_scene(facecast_blender)
    body, armature = add_cc4_rig()
    settings = scene.facecast
    settings.address, settings.audio_path, settings.emotion = args.server, os.path.abspath(args.audio), "happy"
    settings.mapping_preset = "cc4"
    settings.head_object, settings.head_bone = armature, HEAD_BONE
    settings.eye_left, settings.eye_left_bone = armature, LEFT_EYE_BONE
    settings.eye_right, settings.eye_right_bone = armature, RIGHT_EYE_BONE
    jaw = _bake_and_pick_frame(scene, body.data.shape_keys)
    target = _workbench_render(scene, "VERTEX", "blender_cc4_rig.png")
    print(f"rendered frame {scene.frame_current} (Jaw_Open {jaw:.2f}) to {target}")
    facecast_blender.unregister()


LAYERS_JSON = HERE.parent.parent / "build" / "blender_layers.json"


def layers(args: argparse.Namespace) -> None:
    """Bake all regions, hand-key the brows, re-bake the mouth with another seed: record what plays."""
    import bpy

    facecast_blender = _addon()
    from facecast_blender.apply import baked_fcurves

    scene = _empty_scene(facecast_blender)
    bpy.ops.facecast.add_test_head()
    key = bpy.context.active_object.data.shape_keys
    settings = scene.facecast
    settings.address, settings.audio_path = args.server, os.path.abspath(args.audio)
    scene.frame_current = 1
    bpy.ops.facecast.bake()

    def curve(name: str) -> list[float]:
        fc = next(c for c in baked_fcurves(key) if f'"{name}"' in c.data_path)
        return [fc.evaluate(f) for f in range(1, 241)]

    first_jaw = curve("JawOpen")
    baked_brow = curve("BrowInnerUp")
    brow = key.key_blocks["BrowInnerUp"]
    hand = [(40, 0.8), (90, 0.1), (150, 0.9), (200, 0.3)]
    for frame, value in hand:
        brow.value = value
        brow.keyframe_insert("value", frame=frame)
    settings.seed, settings.region_mouth.strength = 7, 0.6
    bpy.ops.facecast.bake(regions="mouth")
    second_jaw = curve("JawOpen")
    played: dict[str, list[float]] = {"BrowInnerUp": [], "JawOpen": []}
    for frame in range(1, 241):
        scene.frame_set(frame)
        for name in played:
            played[name].append(key.key_blocks[name].value)
    LAYERS_JSON.parent.mkdir(parents=True, exist_ok=True)
    LAYERS_JSON.write_text(json.dumps({"first_jaw": first_jaw, "second_jaw": second_jaw, "baked_brow": baked_brow,
                                       "hand": hand, "played": played,
                                       "tracks": [t.name for t in key.animation_data.nla_tracks]}))
    facecast_blender.unregister()


def plot_layers(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(LAYERS_JSON.read_text())
    frames = list(range(1, 241))
    fig, (brow_ax, jaw_ax) = plt.subplots(2, 1, figsize=(9, 5.2), sharex=True)
    brow_ax.plot(frames, data["baked_brow"], color="#999999", lw=1.2, label="baked (Facecast Brows strip)")
    brow_ax.plot(frames, data["played"]["BrowInnerUp"], color="#d0601b", lw=2, label="plays (your keys win)")
    hand = list(zip(*data["hand"]))
    brow_ax.plot(hand[0], hand[1], "o", color="#d0601b", ms=7, label="hand keys (active action)")
    brow_ax.set_ylabel("BrowInnerUp")
    brow_ax.set_title("Re-baking only Mouth & Jaw (seed 7, strength 0.6) after hand-keying the brows")
    brow_ax.legend(loc="upper right", fontsize=8)
    jaw_ax.plot(frames, data["first_jaw"], color="#999999", lw=1.2, label="first bake (kept, fake user)")
    jaw_ax.plot(frames, data["played"]["JawOpen"], color="#2a6fbb", lw=2, label="plays: the re-baked strip")
    jaw_ax.set_ylabel("JawOpen")
    jaw_ax.set_xlabel("frame (30 fps)")
    jaw_ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    target = IMG / "blender_regions.png"
    fig.savefig(target, dpi=110)
    print(f"wrote {target}")


def diagram(args: argparse.Namespace) -> None:
    from PIL import Image, ImageDraw, ImageFont

    panels = json.loads(LAYOUT_JSON.read_text(encoding="utf-8"))
    font = ImageFont.truetype("DejaVuSans.ttf", 12)
    bold = ImageFont.truetype("DejaVuSans-Bold.ttf", 12)
    heights = [ROW + (0 if p["closed"] else _height(p["items"]) + PAD) for p in panels]
    top = 64
    image = Image.new("RGB", (WIDTH + 2 * PAD + 26, sum(heights) + 6 * len(panels) + top + 10), BG)
    draw = ImageDraw.Draw(image)
    draw.text((PAD, 8), "DIAGRAM of the 'Facecast' sidebar tab (3D viewport, N panel)", font=bold, fill="#f0c040")
    draw.text((PAD, 26), "drawn from the panels' real draw() calls in facecast_blender/ui.py;", font=font, fill=DIM)
    draw.text((PAD, 42), "not a screenshot: a headless Blender draws no UI", font=font, fill=DIM)
    draw.rectangle((WIDTH + 2 * PAD, top, WIDTH + 2 * PAD + 24, image.height), fill=HEADER)
    tab = Image.new("RGB", (90, 24), HEADER)
    ImageDraw.Draw(tab).text((45, 12), "Facecast", font=bold, fill=TEXT, anchor="mm")
    image.paste(tab.rotate(-90, expand=True), (WIDTH + 2 * PAD, top + 10))
    y = top
    for panel, height in zip(panels, heights, strict=True):
        x = PAD + (10 if panel["child"] else 0)
        width = WIDTH - (10 if panel["child"] else 0)
        draw.rounded_rectangle((x, y, x + width, y + height), 5, fill=PANEL)
        draw.rectangle((x, y, x + width, y + ROW), fill=HEADER)
        draw.text((x + 8, y + ROW / 2), ("▸ " if panel["closed"] else "▾ ") + panel["label"], font=bold, fill=TEXT,
                  anchor="lm")
        if not panel["closed"]:
            _draw_items(draw, font, panel["items"], x + 8, y + ROW + 4, width - 16)
        y += height + 6
    target = IMG / "blender_panel.png"
    image.save(target.with_suffix(".tmp.png"))
    os.replace(target.with_suffix(".tmp.png"), target)
    print(f"wrote {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render")
    r.add_argument("--server", required=True)
    r.add_argument("--audio", default=str(HERE.parent.parent / "assets" / "speech_en.wav"))
    r.set_defaults(run=render)
    r = sub.add_parser("rig")
    r.add_argument("--server", required=True)
    r.add_argument("--audio", default=str(HERE.parent.parent / "assets" / "speech_en.wav"))
    r.set_defaults(run=rig)
    r = sub.add_parser("layers")
    r.add_argument("--server", required=True)
    r.add_argument("--audio", default=str(HERE.parent.parent / "assets" / "speech_en.wav"))
    r.set_defaults(run=layers)
    sub.add_parser("plot-layers").set_defaults(run=plot_layers)
    sub.add_parser("diagram").set_defaults(run=diagram)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
