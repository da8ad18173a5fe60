# OpenMMLab (mmcv): a layer made from a config dict is a transposed convolution when the
# config's type names one ("deconv", "Deconv", "ConvTranspose2d", "deconv3d")
import torch.nn as nn
from mmcv.cnn import ConvModule, build_conv_layer, build_upsample_layer
from mmcv.cnn.bricks import ConvModule as CM

DECONV = dict(type="deconv")

a = ConvModule(64, 32, 3, 2, 1, conv_cfg=dict(type="deconv", output_padding=1))  # <- CBD101
b = ConvModule(64, 32, kernel_size=4, stride=2, padding=1, conv_cfg=dict(type="Deconv"))
c = ConvModule(64, 32, 3, stride=2, padding=1)  # (no conv_cfg: a plain convolution)
d = CM(64, 32, 5, 2, conv_cfg=dict(type="ConvTranspose2d"))  # <- CBD101
e = ConvModule(8, 8, 3, 2, 1, conv_cfg=dict(DECONV, output_padding=1))  # <- CBD101
f = ConvModule(8, 8, (3, 4, 4), (1, 2, 2), conv_cfg=dict(type="deconv3d"))
g = ConvModule(8, 8, 3, 2, conv_cfg=dict(type="Conv2d"))  # (a strided convolution)
h = build_conv_layer(dict(type="deconv"), 8, 8, 3, stride=2, padding=1)  # <- CBD101
i = build_upsample_layer(dict(type="deconv"), 8, 8, kernel_size=2, stride=2)
j = ConvModule(8, 8, 2, 2, 0, 2, conv_cfg=dict(type="deconv"))  # <- CBD103 (its dilation)


class Up(nn.Module):
    def __init__(self, c, conv_cfg=dict(type="ConvTranspose2d")):  # noqa: B006 (as mmagic does)
        super().__init__()
        layers = []
        for _ in range(2):
            cfg = dict(conv_cfg, output_padding=1)
            layers.append(ConvModule(c, c, 3, 2, 1, conv_cfg=cfg))  # <- CBD101
        self.up = nn.Sequential(*layers)  # <- CBD104


def from_config(cfg, c):
    return ConvModule(c, c, 3, 2, 1, conv_cfg=cfg)  # ? conv_cfg: parameter cfg
