# A caller that forwards **kwargs (or *args) may leave any parameter it does not name to its
# default: the default is one of the values the function is built with
import torch.nn as nn


def create(variant, kernel_size=3, stride=2):
    if variant == "small":
        width = 32
    else:
        width = 64
    return nn.ConvTranspose2d(width, width, kernel_size, stride, 1)  # <- CBD101


Small = lambda **kwargs: create("small", **kwargs)  # noqa: E731
Large = lambda **kwargs: create("large", **kwargs)  # noqa: E731


def named(c, kernel_size=5, stride=2):
    return nn.ConvTranspose2d(c, c, kernel_size, stride)  # ? every caller passes


def build(cfg):
    return named(8, kernel_size=cfg.k, **cfg.rest)
