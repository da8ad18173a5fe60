"""Fonts for pictures: Pillow's bundled scalable font, or its bitmap font as a fallback."""

from __future__ import annotations

from functools import lru_cache

from PIL import ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=16)
def font(size: int) -> Font:
    """Pillow's default font at ``size`` pixels (bitmap fallback without FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError, TypeError):  # pragma: no cover - Pillow built without FreeType
        return ImageFont.load_default()
