# symbolic facts: kernel_size = c * stride (the same name) is divisible whatever it is
import torch.nn as nn


def up(c, stride):
    return nn.ConvTranspose2d(c, c, kernel_size=2 * stride, stride=stride, padding=stride // 2)


def same(c, s):
    return nn.ConvTranspose2d(c, c, s, s)


def not_divisible_known(c, stride):
    return nn.ConvTranspose2d(c, c, stride + 1, stride)  # ? parameter stride of


def same_unknown_through_partial(c, config):
    from functools import partial

    u = config.load()["up"]  # (not known statically, but one value)
    up = partial(nn.ConvTranspose2d, c, c, kernel_size=u)
    first = up(stride=u)  # (kernel from the partial, stride from the call: the same value)
    down = partial(nn.ConvTranspose2d, c)
    second = down(c, u, u)  # (positions shifted by the partial's own argument)
    return first, second
