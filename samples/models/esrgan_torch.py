"""ESRGAN-style (RRDBNet) upsampling: nearest-neighbour resize then a 3x3 convolution, twice.

Resize-convolution: no transposed convolution, nothing to report.
"""

import torch.nn as nn
import torch.nn.functional as F


class Upsampler(nn.Module):
    def __init__(self, nf=64, out_nc=3):
        super().__init__()
        self.upconv1 = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
        self.upconv2 = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
        self.hrconv = nn.Conv2d(nf, nf, 3, 1, 1, bias=True)
        self.conv_last = nn.Conv2d(nf, out_nc, 3, 1, 1, bias=True)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, fea):
        fea = self.lrelu(self.upconv1(F.interpolate(fea, scale_factor=2, mode="nearest")))
        fea = self.lrelu(self.upconv2(F.interpolate(fea, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.hrconv(fea)))
