# A layer call is clean only when every run of its code that counts proves it even: each run
# with a caller's values, or (when nothing in the tree calls it) the run with its parameters
# unbound. One way of an `if` even and the other not known leaves it unresolved; so does one
# caller passing a value not known beside another passing a literal.
import torch.nn as nn
from mmcv.cnn import ConvModule


def one_way_not_known(c, flag, extra):
    k = 4
    if flag:
        k = extra
    return nn.ConvTranspose2d(c, c, k, 2, 1)  # ? parameter extra of `one_way_not_known`


def both_ways_even(c, flag):
    if flag:
        k = 4
    else:
        k = 8
    return nn.ConvTranspose2d(c, c, k, 2, 1)  # ok


class Up(nn.Module):
    def __init__(self, c, k=4):
        super().__init__()
        self.up = nn.ConvTranspose2d(c, c, k, 2, 1)  # ? the attribute `k`


class Called(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.up = nn.ConvTranspose2d(c, c, k, 2, 1)  # ok (every caller passes an even kernel)


def build(cfg):
    return [Up(8), Up(8, cfg.k), Called(8, 4), Called(8, 6)]


def stride_one(c, k, conv_cfg):
    return [
        nn.ConvTranspose2d(c, c, k, 1),  # ok (stride 1: even whatever the kernel)
        nn.ConvTranspose2d(c, c, kernel_size=k, stride=(1, 1), dilation=2),  # ok
        nn.ConvTranspose2d(c, c, k, (1, 2)),  # ? parameter k of `stride_one`
        ConvModule(c, c, k, 1, conv_cfg=conv_cfg),  # ok
    ]
