"""Make samples/weights_dcgan_icnr.safetensors: a DCGAN-shaped decoder (three k4 s2 transposed
convolutions at PyTorch's default initialisation) and an ICNR sub-pixel head, seed 0.

Usage: python samples/weights_dcgan_icnr.py   (from the repository root)
"""

import sys
from pathlib import Path

import numpy as np

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))

from cbdiag import nn  # noqa: E402
from tests.test_weights import write_safetensors  # noqa: E402

rng = np.random.default_rng(0)
tensors = {}
for i, (cin, cout) in enumerate([(128, 64), (64, 32), (32, 16)]):
    w, b = nn.torch_default_init(rng, (cin, cout, 4, 4), bias_size=cout)
    tensors[f"decoder.{i}.convtranspose.weight"] = w
    tensors[f"decoder.{i}.convtranspose.bias"] = b
w0, _ = nn.torch_default_init(rng, (3 * 4, 16, 3, 3))
tensors["head.pixelshuffle.weight"], _ = nn.icnr(w0, 2)
tensors["head.pixelshuffle.bias"] = np.zeros(12, np.float32)
write_safetensors(
    root / "samples" / "weights_dcgan_icnr.safetensors",
    {k: v.astype(np.float32) for k, v in tensors.items()},
)
