"""Which shape key each ARKit channel drives: the add-on's mapping table, resolved against a real object.

The table is a list of ``(ARKit name, target names)`` rows, filled from a preset of
:mod:`facecast.character.rig_mapping` (plain ARKit, lowerCamel, Faceit, Character Creator, MetaHuman-style) and
editable row by row for a custom rig; several targets are written comma-separated. Resolving matches the
targets against the object's shape keys ignoring case and separators, like the exporters do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from facecast.character.rig_mapping import PRESET_LABELS, best_preset, mapping_for, normalize, preset_names
from facecast.errors import InvalidInput
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX

# (identifier, label, description) per built-in preset, as Blender's EnumProperty items take them
PRESETS: tuple[tuple[str, str, str], ...] = tuple((name, *PRESET_LABELS[name]) for name in preset_names()[:-1])
__all__ = ["PRESETS", "Plan", "best_preset", "preset_rows", "resolve", "split_targets"]


def preset_rows(preset: str) -> list[tuple[str, str]]:
    """The table rows of a preset: ``(ARKit name, "target[, target...]")`` for all 52 blendshapes, in order."""
    table = mapping_for(preset)
    return [(name, ", ".join(table.get(name, ()))) for name in BLENDSHAPES]


def split_targets(text: str) -> list[str]:
    """Target names of one table cell (comma-separated; blanks ignored)."""
    return [part.strip() for part in text.split(",") if part.strip()]


@dataclass
class Plan:
    """A resolved mapping: ``bindings`` (channel index, shape key name); rows whose targets were not found."""

    bindings: list[tuple[int, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # "JawOpen -> Jaw_Open": targets the object lacks or repeats

    def warning(self, limit: int = 4) -> str | None:
        """A one-line warning naming the missing targets, or None when every row found its shape key."""
        if not self.missing:
            return None
        shown = "; ".join(self.missing[:limit])
        more = f" and {len(self.missing) - limit} more" if len(self.missing) > limit else ""
        return f"{len(self.missing)} mapping entries skipped (shape key missing or already driven): {shown}{more}"


def resolve(rows: Iterable[tuple[str, str]], shape_keys: Iterable[str], object_name: str = "the object") -> Plan:
    """Match table ``rows`` against an object's ``shape_keys``; raise :class:`InvalidInput` if nothing matches."""
    keys = list(shape_keys)
    if not keys:
        raise InvalidInput(f"{object_name} has no shape keys: add ARKit shape keys or use 'Add ARKit test head'")
    by_key = {normalize(name): name for name in keys}
    plan = Plan()
    driven_by: dict[str, str] = {}  # a shape key takes one channel: a second row naming it is reported
    for arkit, cell in rows:
        if arkit not in CHANNEL_INDEX:
            raise InvalidInput(f"mapping row {arkit!r} is not an ARKit blendshape name")
        for target in split_targets(cell):
            found = by_key.get(normalize(target))
            if found is None:
                plan.missing.append(f"{arkit} -> {target}")
            elif found in driven_by:
                plan.missing.append(f"{arkit} -> {target} (already driven by {driven_by[found]})")
            else:
                driven_by[found] = arkit
                plan.bindings.append((CHANNEL_INDEX[arkit], found))
    if not plan.bindings:
        raise InvalidInput(f"none of {object_name}'s {len(keys)} shape keys match the mapping table; pick the "
                           "preset that fits the rig's names or edit the table")
    return plan

