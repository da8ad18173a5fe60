"""Make samples/weights_decoder_torch.safetensors: the state dict of samples/decoder_model.py's
Decoder, with PyTorch's keys (stem, ups.0.deconv, ups.0.norm, ..., head.0) and its default
initialisation, seed 0. An ordinary checkpoint: no key names its layer's kind or stride.

Usage: python samples/weights_decoder_torch.py   (from the repository root)
"""

import sys
from pathlib import Path

import numpy as np

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))

from cbdiag import nn  # noqa: E402
from tests.test_weights import write_safetensors  # noqa: E402

rng = np.random.default_rng(0)
nz, ngf, nc = 16, 16, 3
tensors = {}
tensors["stem.weight"], tensors["stem.bias"] = nn.torch_default_init(
    rng, (nz, ngf * 4, 4, 4), bias_size=ngf * 4
)
for i in range(2):
    cin, cout = ngf * 4 // 2**i, ngf * 2 // 2**i
    w, b = nn.torch_default_init(rng, (cin, cout, 3, 3), bias_size=cout)
    tensors[f"ups.{i}.deconv.weight"], tensors[f"ups.{i}.deconv.bias"] = w, b
    tensors[f"ups.{i}.norm.weight"] = np.ones(cout, np.float32)
    tensors[f"ups.{i}.norm.bias"] = np.zeros(cout, np.float32)
    tensors[f"ups.{i}.norm.running_mean"] = np.zeros(cout, np.float32)
    tensors[f"ups.{i}.norm.running_var"] = np.ones(cout, np.float32)
tensors["refine.weight"], tensors["refine.bias"] = nn.torch_default_init(
    rng, (ngf, ngf, 3, 3), bias_size=ngf
)
tensors["head.0.weight"], tensors["head.0.bias"] = nn.torch_default_init(
    rng, (nc * 4, ngf, 3, 3), bias_size=nc * 4
)
write_safetensors(
    root / "samples" / "weights_decoder_torch.safetensors",
    {k: v.astype(np.float32) for k, v in tensors.items()},
)
