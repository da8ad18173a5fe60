# vocoders: upsamplers built in a loop over a literal configuration's rates and kernel sizes
import json

import torch.nn as nn

# HiFi-GAN V1 as a literal dict: kernels twice the rates, clean
h = {"upsample_rates": [8, 8, 2, 2], "upsample_kernel_sizes": [16, 16, 4, 4], "ch": 512}


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.ups = nn.ModuleList()
        for i, (u, k) in enumerate(zip(h["upsample_rates"], h["upsample_kernel_sizes"])):
            self.ups.append(
                nn.ConvTranspose1d(h["ch"] // 2**i, h["ch"] // 2 ** (i + 1), k, u, padding=(k - u) // 2)
            )


# MelGAN: ConvTranspose1d(2r, r, padding r // 2 + r % 2, output_padding r % 2), clean
ratios = [8, 8, 2, 2]
melgan = []
for r in ratios:
    melgan += [nn.ConvTranspose1d(64, 64, r * 2, r, padding=r // 2 + r % 2, output_padding=r % 2)]


# a kernel one short of twice the rate in a literal list: found
uneven = {"upsample_rates": [5, 4, 4], "upsample_kernel_sizes": [11, 8, 8]}
bad = nn.ModuleList(
    nn.ConvTranspose1d(32, 32, k, u, padding=(k - u) // 2)  # <- CBD101
    for u, k in zip(uneven["upsample_rates"], uneven["upsample_kernel_sizes"])
)

# the same loop over a configuration read from a file stays unknown
with open("config.json") as fh:
    cfg = json.load(fh)
for u, k in zip(cfg["upsample_rates"], cfg["upsample_kernel_sizes"]):
    nn.ConvTranspose1d(32, 32, k, u)  # ? k

# a volume decoder's transposed convolutions: 3-D ratios
up3 = nn.ConvTranspose3d(32, 16, kernel_size=3, stride=2, padding=1, output_padding=1)  # <- CBD101
ok3 = nn.ConvTranspose3d(32, 16, kernel_size=(1, 2, 2), stride=(1, 2, 2))
