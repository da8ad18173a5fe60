# A class of the tree that subclasses a layer (ConvTranspose2d, mmcv's ConvModule, Sequential)
# is that layer: checked at the call that makes it, with what its __init__ passes on
import torch.nn as nn
from mmcv.cnn import ConvModule


class EqualDeconv(nn.ConvTranspose2d):
    def __init__(self, *args, gain=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.gain = gain


class Plain(nn.ConvTranspose2d):
    pass


class Fixed(nn.ConvTranspose2d):
    def __init__(self, c):
        super(Fixed, self).__init__(c, c, kernel_size=3, stride=2, padding=1)


class EqualConvModule(ConvModule):
    def __init__(self, *args, lr=dict(mode="fan_in"), **kwargs):  # noqa: B006
        super().__init__(*args, **kwargs)


class EqualConvUpModule(EqualConvModule):  # through a class of the tree
    def __init__(self, *args, upsample=None, **kwargs):
        super().__init__(*args, **kwargs)


class Up(nn.Sequential):
    def __init__(self, c):
        super().__init__(
            EqualDeconv(c, c, 4, 2, 1),
            nn.ReLU(),
            EqualDeconv(c, c, 3, 2, 1, output_padding=1),  # <- CBD101
        )


a = EqualDeconv(8, 8, 3, 2, 1)  # <- CBD101
b = EqualDeconv(8, 8, 4, stride=2, padding=1, gain=2.0)
c = Plain(8, 8, 5, 2)  # <- CBD101
d = Fixed(8)  # <- CBD101
e = EqualConvUpModule(8, 8, 3, 2, 1, conv_cfg=dict(type="deconv"))  # <- CBD101
f = EqualConvModule(8, 8, 3, 2, 1)  # (no conv_cfg: a plain convolution)
g = Up(8)  # <- CBD104
h = nn.Sequential(EqualDeconv(8, 8, 4, 2, 1), Plain(8, 8, 4, 2, 1))


def make(k):
    return EqualDeconv(8, 8, k, 2)  # ? parameter k
