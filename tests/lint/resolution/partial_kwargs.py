# functools.partial and literal **kwargs
import functools
from functools import partial

import torch.nn as nn

Up = partial(nn.ConvTranspose2d, kernel_size=3, stride=2)
a = Up(64, 32)  # <- CBD101
Even = functools.partial(nn.ConvTranspose2d, kernel_size=4, stride=2, padding=1)
b = Even(64, 32)

cfg = {"kernel_size": 5, "stride": 2}
c = nn.ConvTranspose2d(8, 8, **cfg)  # <- CBD101
d = nn.ConvTranspose2d(8, 8, **dict(kernel_size=6, stride=2))


def opaque(**kw):
    return nn.ConvTranspose2d(8, 8, **kw)  # ? kernel_size
