"""Make samples/decoder.onnx: samples/decoder_model.py's Decoder with the weights of
samples/weights_decoder_torch.safetensors, exported by PyTorch (eval mode, a 1x16x1x1 latent).
Needs torch (pip install '.[torch]'); cbdiag itself never imports it.

Usage: python samples/decoder_onnx.py   (from the repository root)
"""

import importlib.util
import sys
import warnings
from pathlib import Path

import torch

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))

from cbdiag.weights import load_checkpoint  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "decoder_model", root / "samples" / "decoder_model.py"
)
assert spec is not None and spec.loader is not None
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
model = mod.Decoder().eval()
state = {
    k: torch.from_numpy(v.copy())
    for k, v in load_checkpoint(root / "samples" / "weights_decoder_torch.safetensors").items()
}
missing, unexpected = model.load_state_dict(state, strict=False)
assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), missing
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch.onnx.export(
        model,
        torch.ones(1, 16, 1, 1),
        str(root / "samples" / "decoder.onnx"),
        dynamo=False,
        input_names=["z"],
        output_names=["image"],
    )
