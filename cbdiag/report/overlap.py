"""JSON form of an overlap result (``cbdiag overlap --format json``)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..layers import AXIS_NAMES
from ..overlap import AxisResult, OverlapResult
from . import envelope, num


def _spectrum(a: AxisResult, unit: str) -> list[dict[str, Any]]:
    return [
        {
            "frequency": str(Fraction(q, a.period)),
            unit: q / a.period,
            "amplitude": amp,
        }
        for q, amp in a.spectrum
    ]


def overlap_json(result: OverlapResult, *, png: str | None = None) -> dict[str, Any]:
    """The documented JSON object of ``cbdiag overlap`` (field names only ever grow).

    Per-axis fields are objects keyed by axis name: ``y``, ``x`` for an image, ``t`` for a
    1-D signal, ``z``, ``y``, ``x`` for a volume."""
    names = AXIS_NAMES[result.ndim]
    unit = "cycles_per_pixel" if result.ndim == 2 else "cycles_per_sample"

    def per_axis(values: Any) -> dict[str, Any]:
        return dict(zip(names, values, strict=True))

    layers = []
    for stage in result.stages:
        d = stage.layer.as_dict()
        d["size"] = list(stage.size)
        d["period"] = [a.period for a in stage.axes]
        d["ratio_1d"] = per_axis(num(a.ratio) for a in stage.axes)
        d["ratio"] = num(stage.ratio)
        if result.ndim == 2:
            d["ratio_2d"] = num(stage.ratio_2d)
        d["even"] = all(a.even for a in stage.axes)
        d["holes"] = any(a.holes for a in stage.axes)
        layers.append(d)
    if result.ndim == 2:
        (top, bottom), (left, right) = result.border
        border: dict[str, Any] = {"top": top, "bottom": bottom, "left": left, "right": right}
        interior: dict[str, Any] = {
            "rows": result.interior_extent[0],
            "cols": result.interior_extent[1],
        }
        extra: dict[str, Any] = {"ratio_2d": num(result.ratio_2d)}
    else:
        border = per_axis([before, after] for before, after in result.border)
        interior = per_axis(result.interior_extent)
        extra = {}
    return envelope(
        "overlap",
        mode="gradient" if result.gradient else "forward",
        dims=result.ndim,
        layers=layers,
        input_size=list(result.input_size),
        shape=list(result.shape),
        period=list(result.period),
        structural_period=[a.structural_period for a in result.axes],
        pattern=per_axis([num(v) for v in a.pattern] for a in result.axes),
        ratio_1d=per_axis(num(a.ratio) for a in result.axes),
        ratio=num(result.ratio),
        **extra,
        min=num(result.min),
        max=num(result.max),
        even=result.even,
        holes=result.holes,
        border=border,
        interior=interior,
        spectrum=per_axis(_spectrum(a, unit) for a in result.axes),
        values=per_axis([num(float(v)) for v in vals] for vals in result.values),
        notes=list(result.notes),
        suggestions=list(result.suggestions),
        png=png,
    )
