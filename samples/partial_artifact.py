"""Make samples/partial_artifact.png: a photo upscaled x2 whose left half carries uneven
per-phase gains (+8 % / 0 / -4 %, as a k3s2 transposed convolution paints), the right half not.

Usage: python samples/partial_artifact.py   (from the repository root)
"""

from pathlib import Path

import numpy as np
from PIL import Image

root = Path(__file__).resolve().parent.parent
img = np.asarray(Image.open(root / "tests" / "data" / "coffee_256.png")).astype(np.float64)
up = np.repeat(np.repeat(img, 2, 0), 2, 1)
i, j = np.indices(up.shape[:2])
gain = np.where((i % 2 == 0) & (j % 2 == 0), 1.08, np.where((i + j) % 2 == 1, 1.0, 0.96))
out = np.where((j < 256)[..., None], up * gain[..., None], up)
Image.fromarray(np.clip(np.round(out), 0, 255).astype(np.uint8)).save(
    root / "samples" / "partial_artifact.png"
)
