# A class of the tree that is a layer and registers a forward pre-hook or a parametrization
# may run another weight than its arguments make (PGGAN's fused upsampling pads a 3x3 kernel
# to 4x4 before each call): its calls are not checked from their arguments
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch.nn.utils import parametrize


class FusedUp(ConvModule):
    def __init__(self, *args, fused=True, **kwargs):
        super().__init__(*args, **kwargs)
        if fused:
            self.conv.register_forward_pre_hook(FusedUp.pad_hook)

    @staticmethod
    def pad_hook(module, inputs):
        w = F.pad(module.weight, (1, 1, 1, 1))
        module.weight = w[..., 1:, 1:] + w[..., 1:, :-1] + w[..., :-1, 1:] + w[..., :-1, :-1]


class FusedUpChild(FusedUp):
    pass


class Reparam(nn.ConvTranspose2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        parametrize.register_parametrization(self, "weight", nn.Identity())


class Hookless(ConvModule):
    def __init__(self, *args, gain=1, **kwargs):
        super().__init__(*args, **kwargs)
        self.gain = gain


def blocks(c):
    deconv = dict(type="deconv")
    return [
        FusedUp(c, c, 3, 2, 1, conv_cfg=deconv),  # ? FusedUp registers a forward pre-hook
        FusedUpChild(c, c, 3, 2, 1, conv_cfg=deconv),  # ? FusedUp registers a forward pre-hook
        Reparam(c, c, 3, 2, 1),  # ? Reparam registers a parametrization
        Hookless(c, c, 3, 2, 1, conv_cfg=deconv),  # <- CBD101
    ]
