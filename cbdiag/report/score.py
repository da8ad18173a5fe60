"""Row formats of ``cbdiag score`` written as results arrive: CSV and JSON lines.

CSV: a header, one row per input, and (with ``--pooled``) a last row whose path is
``(pooled: N images)``. The period columns are those searched: ``period_S`` / ``amplitude_S``
for S in 2, 4, 8, 16, 32, or only ``--stride``'s; a period too large for an image is empty.

JSON lines: a first line with the envelope and the settings (``{"tool", "version", "command",
"format": "json-lines", "stride", "threshold", "min_amplitude", "min_significance"}``), one
result object per input (the objects of the JSON document's ``results``), and with
``--pooled`` a last line ``{"pooled": {...}}``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..spectrum import PERIODS
from . import envelope, finite


def periods(stride: int | None) -> tuple[int, ...]:
    """The periods that get CSV columns."""
    return (stride,) if stride is not None else PERIODS


def csv_columns(stride: int | None) -> list[str]:
    searched = periods(stride)
    cols = ["path", "score", "flagged", "period", "amplitude", "significance"]
    cols += [f"period_{s}" for s in searched]
    cols += [f"amplitude_{s}" for s in searched]
    cols += ["peak_frequency", "peak_ratio", "notes", "error"]
    return cols


def _line(values: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def csv_header(stride: int | None) -> str:
    return _line(csv_columns(stride))


def csv_row(r: dict[str, Any], stride: int | None) -> str:
    searched = periods(stride)
    pk = r["peaks"][0] if r["peaks"] else None
    amps = r.get("per_period_amplitude") or {}
    return _line(
        [r["path"], r["score"], r["flagged"], r["period"]]
        + [r.get("amplitude"), r.get("significance")]
        + [r["per_period"].get(str(s)) for s in searched]
        + [amps.get(str(s)) for s in searched]
        + [
            ",".join(pk["frequency"]) if pk else None,
            pk["ratio"] if pk else None,
            notes(r),
            r["error"],
        ]
    )


def pool_label(pooled: dict[str, Any]) -> str:
    n = pooled.get("n_images", 0)
    return f"(pooled: {n} image{'' if n == 1 else 's'})"


def csv_pooled(pooled: dict[str, Any], stride: int | None) -> str:
    searched = periods(stride)
    per = pooled.get("per_period") or {}
    return _line(
        [pool_label(pooled), None, pooled["flagged"]]
        + [pooled.get("period"), pooled.get("amplitude"), pooled.get("significance")]
        + [(per.get(str(s)) or {}).get("score") for s in searched]
        + [(per.get(str(s)) or {}).get("amplitude") for s in searched]
        + [None, None, "", pooled.get("error")]
    )


def settings(
    stride: int | None, threshold: float, min_amplitude: float, min_significance: float
) -> dict[str, Any]:
    """What a result depends on: an output resumed with other settings would mix two runs."""
    return {
        "stride": stride,
        "threshold": threshold,
        "min_amplitude": min_amplitude,
        "min_significance": min_significance,
    }


def jsonl_header(fields: dict[str, Any]) -> str:
    return _json(envelope("score", format="json-lines", **fields))


def jsonl_row(r: dict[str, Any]) -> str:
    return _json(r)


def jsonl_pooled(pooled: dict[str, Any]) -> str:
    return _json({"pooled": pooled})


def _json(obj: dict[str, Any]) -> str:
    return json.dumps(finite(obj), allow_nan=False, separators=(",", ":")) + "\n"


def notes(r: dict[str, Any]) -> str:
    """The look-alikes and explanations of a result, in a few words."""
    d = r.get("diagnostics") or {}
    out = []
    if d.get("jpeg_grid", {}).get("jpeg_file"):
        q = d["jpeg_grid"].get("quality_estimate")
        out.append(f"JPEG q~{q}" if q else "JPEG")
    if d.get("interpolated_upscale", {}).get("flag"):
        out.append(f"interpolated x{d['interpolated_upscale']['factor']}")
    if d.get("nearest_upscale", {}).get("flag"):
        out.append(f"nearest x{d['nearest_upscale']['factor']}")
    if d.get("off_grid", {}).get("flag"):
        out.append(f"off-grid peak (period {d['off_grid']['implied_period']})")
    if r.get("explained_by"):
        out.append("explained: " + r["explained_by"])
    return ", ".join(out)
