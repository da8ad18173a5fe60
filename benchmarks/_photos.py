"""Natural photos for the detection benchmarks: scikit-image's bundled data (no download), and
the recompressions and resizes applied to them."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
from PIL import Image

PHOTOS = [
    "astronaut",
    "camera",
    "cat",
    "chelsea",
    "coffee",
    "coins",
    "moon",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "stereo_motorcycle",
    "grass",
    "gravel",
    "brick",
    "clock",
    "page",
    "text",
    "colorwheel",
]


def photos(limit: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """``(name, 8-bit array)`` of each photo (the two views of a stereo pair apart); names this
    scikit-image version lacks are skipped."""
    import skimage.data as data

    for name in PHOTOS[:limit]:
        try:
            img = getattr(data, name)()
        except Exception:  # a photo this version lacks or would download
            continue
        parts = img[:2] if isinstance(img, tuple) else (img,)
        for k, part in enumerate(parts):
            arr = np.asarray(part)
            if arr.dtype != np.uint8:
                arr = np.clip(np.round(arr * (255 if arr.max() <= 1 else 1)), 0, 255)
                arr = arr.astype(np.uint8)
            if arr.ndim == 3 and arr.shape[2] == 4:
                arr = arr[..., :3]
            yield (f"{name}{k}" if len(parts) > 1 else name), arr


def to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, q: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=q)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def resize(img: np.ndarray, factor: float, method: Image.Resampling) -> np.ndarray:
    pil = Image.fromarray(img)
    size = (max(32, round(pil.width * factor)), max(32, round(pil.height * factor)))
    return np.asarray(pil.resize(size, method))
