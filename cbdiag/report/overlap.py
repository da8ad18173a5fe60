"""JSON form of an overlap result (``cbdiag overlap --format json``)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..overlap import AxisResult, OverlapResult
from . import envelope, num


def _spectrum(a: AxisResult) -> list[dict[str, Any]]:
    return [
        {
            "frequency": str(Fraction(q, a.period)),
            "cycles_per_pixel": q / a.period,
            "amplitude": amp,
        }
        for q, amp in a.spectrum
    ]


def overlap_json(result: OverlapResult, *, png: str | None = None) -> dict[str, Any]:
    """The documented JSON object of ``cbdiag overlap`` (field names only ever grow)."""
    (top, bottom), (left, right) = result.border
    layers = []
    for stage in result.stages:
        d = stage.layer.as_dict()
        d["size"] = list(stage.size)
        d["period"] = [stage.y.period, stage.x.period]
        d["ratio_1d"] = {"y": num(stage.y.ratio), "x": num(stage.x.ratio)}
        d["ratio_2d"] = num(stage.ratio_2d)
        d["even"] = stage.y.even and stage.x.even
        d["holes"] = stage.y.holes or stage.x.holes
        layers.append(d)
    return envelope(
        "overlap",
        mode="gradient" if result.gradient else "forward",
        layers=layers,
        input_size=list(result.input_size),
        shape=list(result.shape),
        period=list(result.period),
        structural_period=[result.y.structural_period, result.x.structural_period],
        pattern={"y": [num(v) for v in result.y.pattern], "x": [num(v) for v in result.x.pattern]},
        ratio_1d={"y": num(result.y.ratio), "x": num(result.x.ratio)},
        ratio_2d=num(result.ratio_2d),
        min=num(result.min),
        max=num(result.max),
        even=result.even,
        holes=result.holes,
        border={"top": top, "bottom": bottom, "left": left, "right": right},
        interior={"rows": result.interior_extent[0], "cols": result.interior_extent[1]},
        spectrum={"y": _spectrum(result.y), "x": _spectrum(result.x)},
        values={
            "y": [num(float(v)) for v in result.values_y],
            "x": [num(float(v)) for v in result.values_x],
        },
        notes=list(result.notes),
        suggestions=list(result.suggestions),
        png=png,
    )
