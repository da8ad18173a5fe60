"""A small image decoder, PyTorch: a k4 s1 stem from the latent, two k3 s2 p1 op1 transposed
convolutions in blocks built in a loop, a 3x3 convolution, and a sub-pixel head."""

import torch.nn as nn


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)
        self.norm = nn.BatchNorm2d(cout)
        self.act = nn.ReLU(True)

    def forward(self, x):
        return self.act(self.norm(self.deconv(x)))


class Decoder(nn.Module):
    def __init__(self, nz=16, ngf=16, nc=3):
        super().__init__()
        self.stem = nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0)
        self.ups = nn.ModuleList([Up(ngf * 4 // 2**i, ngf * 2 // 2**i) for i in range(2)])
        self.refine = nn.Conv2d(ngf, ngf, 3, padding=1)
        self.head = nn.Sequential(
            nn.Conv2d(ngf, nc * 4, 3, padding=1), nn.PixelShuffle(2), nn.Tanh()
        )

    def forward(self, z):
        x = self.stem(z)
        for up in self.ups:
            x = up(x)
        return self.head(self.refine(x))
