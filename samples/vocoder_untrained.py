"""Writes ``vocoder_untrained.wav``: the output of an untrained HiFi-GAN-style upsampling stack
(PyTorch, seeded), the audio analogue of ``untrained_deconv_k3s2.png``.

Four ConvTranspose1d upsamplers for upsample_rates [8, 8, 2, 2] with upsample_kernel_sizes
[16, 16, 4, 4] and padding (k - u) / 2, LeakyReLU between them, fed with 100 frames of smooth
random 80-band features: even overlap (the kernels are twice the rates), and still a buzz at
k x 22050 / 256 Hz, because random weights have unequal per-phase sums.

Usage (torch is a test and sample dependency only): python samples/vocoder_untrained.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy.io import wavfile

HERE = Path(__file__).resolve().parent


def main() -> None:
    torch.manual_seed(0)
    nn = torch.nn
    layers: list[nn.Module] = [nn.Conv1d(80, 64, 7, padding=3)]
    c = 64
    for u, k in zip([8, 8, 2, 2], [16, 16, 4, 4], strict=True):
        layers += [nn.LeakyReLU(0.1), nn.ConvTranspose1d(c, c // 2, k, u, padding=(k - u) // 2)]
        c //= 2
    layers += [nn.LeakyReLU(0.1), nn.Conv1d(c, 1, 7, padding=3), nn.Tanh()]
    net = nn.Sequential(*layers)
    frames = torch.randn(1, 80, 100)
    smooth = torch.nn.functional.avg_pool1d(frames, 9, stride=1, padding=4)  # slow features
    with torch.no_grad():
        y = net(smooth)[0, 0].numpy()
    y = y / np.abs(y).max() * 0.5
    wavfile.write(HERE / "vocoder_untrained.wav", 22050, np.round(y * 32767).astype(np.int16))


if __name__ == "__main__":
    main()
