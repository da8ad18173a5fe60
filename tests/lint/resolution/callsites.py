# literals passed at call sites reach helpers, blocks' __init__ and factories (named: via ...)
import torch.nn as nn


class UpBlock(nn.Module):
    def __init__(self, cin, cout, k_size, stride):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, k_size, stride, 1)  # <- CBD101

    def forward(self, x):
        return self.deconv(x)


def make_up(c, k, s):
    return nn.ConvTranspose2d(c, c // 2, kernel_size=k, stride=s)  # <- CBD101


def two_deep(c, k):
    return make_up(c, k, 2)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = UpBlock(64, 32, k_size=3, stride=2)
        self.b = UpBlock(32, 16, k_size=4, stride=2)
        self.c = two_deep(16, 5)
        self.d = nn.Sequential(make_up(64, 3, 2), make_up(32, 3, 2))  # <- CBD104


def never_called(c, k):
    return nn.ConvTranspose2d(c, c, k, 2)  # ? parameter k of `never_called`, which no caller


def from_config(cfg):
    return UpBlock(8, 8, cfg.kernel, 2)
