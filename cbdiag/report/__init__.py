"""Machine-readable output shared by the commands: the JSON envelope and number formatting."""

from __future__ import annotations

import math

from .._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def envelope(command: str, **fields: Any) -> dict[str, Any]:
    """The JSON object every command prints: ``tool``, ``version``, ``command``, then fields."""
    return {"tool": "cbdiag", "version": __version__, "command": command, **fields}


def num(v: float) -> int | float | None:
    """A JSON-friendly number: ints stay ints, non-finite values become ``null``."""
    if isinstance(v, bool):
        raise TypeError("num() takes numbers, not bools")
    if isinstance(v, int):
        return v
    if not math.isfinite(v):
        return None
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


def rounded(v: float, digits: int = 6) -> float | None:
    """A measured figure for JSON: rounded to ``digits`` decimals, ``null`` when not finite."""
    return None if not math.isfinite(v) else round(float(v), digits)


def finite(obj: Any, where: str = "", found: list[str] | None = None) -> Any:
    """``obj`` with every non-finite float (NaN, infinities; numpy scalars too) replaced by
    ``None``; the JSON paths of those replaced are appended to ``found``."""
    if isinstance(obj, dict):
        return {k: finite(v, f"{where}.{k}" if where else str(k), found) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v, f"{where}[{i}]", found) for i, v in enumerate(obj)]
    if isinstance(obj, float) and not math.isfinite(obj):
        if found is not None:
            found.append(where or "(value)")
        return None
    if hasattr(obj, "dtype") and hasattr(obj, "item"):  # a numpy scalar
        return finite(obj.item(), where, found)
    return obj


def dumps(obj: dict[str, Any]) -> str:
    """Pretty JSON with plain ASCII, never NaN / Infinity literals: a non-finite number is
    written as ``null`` and the document gets a ``notes`` entry naming where."""
    found: list[str] = []
    clean = finite(obj, "", found)
    if found:
        shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
        clean.setdefault("notes", []).append(f"non-finite numbers written as null: {shown}")
    import json

    return json.dumps(clean, indent=2, allow_nan=False)
