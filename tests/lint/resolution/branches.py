# An `if` whose test is not known statically, followed by a few simple statements: those run on
# each way with that way's values (and `name == literal` holds on the first way)
import torch.nn as nn
from mmcv.cnn import ConvModule


def build(c, kernel_size, stride, conv_cfg):  # (as mmagic's BasicBlockDec.build_conv1)
    if stride == 2:
        conv_cfg = dict(type="deconv")
        kernel_size = 3
        padding = 1
    else:
        padding = kernel_size // 2
    return ConvModule(c, c, kernel_size, stride=stride, padding=padding, conv_cfg=conv_cfg)  # <- CBD101


def build_even(c, kernel_size, stride, conv_cfg):
    if stride == 2:
        conv_cfg = dict(type="Deconv")
        kernel_size = 4
    return ConvModule(c, c, kernel_size, stride=stride, padding=1, conv_cfg=conv_cfg)  # ? conv_cfg: parameter conv_cfg of `build_even`


def up(c, mode):
    if mode == "deconv":
        k = 4
    else:
        k = 3
    layer = nn.ConvTranspose2d(c, c, k, 2, 1)  # <- CBD101
    return layer


def either(c, flag):
    if flag:
        k = 4
    elif flag is None:
        k = 2
    else:
        k = 6
    return nn.ConvTranspose2d(c, c, k, 2, 1)


def after_a_loop(c, flag):
    if flag:
        k = 4
    else:
        k = 3
    for _ in range(2):
        c = c * 2
    return nn.ConvTranspose2d(c, c, k, 2, 1)  # ? depends on a condition


def narrowed_only_when_unknown(c, s=4):
    if s == 2:
        k = 3
    return nn.ConvTranspose2d(c, c, 4, s)  # (s is 4 here: the test is known, the if not taken)
