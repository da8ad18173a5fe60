"""Machine-readable output shared by the commands: the JSON envelope and number formatting."""

from __future__ import annotations

import json
import math
from typing import Any

from .._version import __version__


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


def dumps(obj: dict[str, Any]) -> str:
    """Pretty JSON with plain ASCII, never NaN / Infinity literals."""
    return json.dumps(obj, indent=2, allow_nan=False)
