"""Field-level differences between what a manifest asks for and what Maple holds. Pure.

The only module that imports deepdiff; its output becomes :class:`FieldDiff` records at once.
deepdiff is imported on the first diff, not with this module: most commands never diff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One field that differs: dotted path, the manifest's value, Maple's value."""

    field: str
    expected: Any
    actual: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "expected": self.expected, "actual": self.actual}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldDiff:
        return cls(
            field=str(data["field"]), expected=data.get("expected"), actual=data.get("actual")
        )


def field_diffs(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> tuple[FieldDiff, ...]:
    """Every leaf that differs between two JSON-like mappings, sorted by field path."""
    from deepdiff import DeepDiff

    tree = DeepDiff(dict(expected), dict(actual), view="tree", ignore_order=False)
    out: list[FieldDiff] = []
    for levels in tree.values():
        for level in levels:
            path = ".".join(str(p) for p in level.path(output_format="list"))
            out.append(
                FieldDiff(field=path, expected=_present(level.t1), actual=_present(level.t2))
            )
    return tuple(sorted(out, key=lambda d: d.field))


def _present(value: Any) -> Any:
    """deepdiff marks a missing side with a NotPresent object; we say None."""
    return None if type(value).__name__ == "NotPresent" else value
