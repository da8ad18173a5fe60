# Dicts and lists changed in place: followed where the change is known (an item set or
# deleted, update, setdefault, pop, a copy); a change by values not known makes the keys (or
# items) not known, saying where they come from
import copy
from copy import deepcopy

import torch.nn as nn
from mmcv.cnn import ConvModule

BASE = dict(kernel_size=4, stride=2, padding=1)


def set_item():
    cfg = dict(BASE)
    cfg["kernel_size"] = 3
    return nn.ConvTranspose2d(8, 8, **cfg)  # <- CBD101


def deleted():
    cfg = dict(kernel_size=3, stride=2)
    del cfg["stride"]
    return nn.ConvTranspose2d(8, 8, **cfg)  # (stride 1 then: even)


def updated():
    cfg = deepcopy(BASE)
    cfg.update(kernel_size=5)
    return nn.ConvTranspose2d(8, 8, **cfg)  # <- CBD101


def copy_not_changed():
    cfg = copy.copy(BASE)
    cfg.update({"kernel_size": 3})
    return nn.ConvTranspose2d(8, 8, **BASE)  # (the copy changed, not BASE: even)


def updated_from_outside(extra):
    cfg = dict(BASE)
    cfg.update(extra)
    return nn.ConvTranspose2d(8, 8, **cfg)  # ? kernel_size may be in **extra


def set_after_update(extra):
    cfg = dict(BASE)
    cfg.update(extra)
    cfg.update(kernel_size=3, stride=2, padding=1, output_padding=1, dilation=1)
    return nn.ConvTranspose2d(8, 8, **cfg)  # <- CBD101


def popped_and_defaulted():
    cfg = dict(kernel_size=3)
    k = cfg.pop("kernel_size")
    cfg.setdefault("stride", 2)
    cfg.setdefault("kernel_size", 4)  # (popped: set again, unused)
    return nn.ConvTranspose2d(8, 8, k, stride=cfg["stride"])  # <- CBD101


def key_not_known(name):
    cfg = dict(BASE)
    cfg[name] = 3
    return nn.ConvTranspose2d(8, 8, **cfg)  # ? kernel_size may be in **cfg (`cfg[name]`


def changed_in_a_loop(names):
    cfg = dict(BASE)
    for n in names:
        cfg.update({n: 3})
    return nn.ConvTranspose2d(8, 8, **cfg)  # ? kernel_size may be in **cfg (changed in a loop


def stack_popped():
    layers = []
    for _ in range(2):
        layers.append(nn.ConvTranspose2d(8, 8, 3, 2, 1))  # <- CBD101
    layers.pop()
    return nn.Sequential(*layers)  # not a stack


def stack_reversed():
    layers = [
        nn.ConvTranspose2d(8, 8, 3, 2, 1),  # <- CBD101
        nn.ConvTranspose2d(8, 8, 3, 2, 1),  # <- CBD101
    ]
    layers.reverse()
    return nn.Sequential(*layers)  # <- CBD104


def stack_removed(x):
    layers = [
        nn.ConvTranspose2d(8, 8, 3, 2, 1),  # <- CBD101
        nn.ConvTranspose2d(8, 8, 3, 2, 1),  # <- CBD101
    ]
    layers.remove(x)
    return nn.Sequential(*layers)  # (one or two of them: not a stack cbdiag can prove)


class EqualConv(ConvModule):
    def __init__(self, *args, gain=1, **kwargs):
        super().__init__(*args, **kwargs)
        self.gain = gain


class EqualConvUp(EqualConv):
    def __init__(self, *args, up=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.up = up


class Generator(nn.Module):
    """A config kept on the class, updated from the caller's: whether the layer is a
    transposed convolution is not known (PGGAN's fused upsampling in mmagic)."""

    _fused = dict(conv_cfg=dict(type="deconv"), kernel_size=4, stride=2, padding=1)

    def __init__(self, fused_cfg, cfg=None):
        super().__init__()
        self.fused_cfg = deepcopy(self._fused)
        self.fused_cfg.update(fused_cfg)
        cfg_ = dict(up=dict(type="fused_nn"))
        cfg_.update(self.fused_cfg)
        self.up = EqualConvUp(8, 8, **cfg_)  # ? conv_cfg: conv_cfg may be in **fused_cfg
        self.known = EqualConvUp(8, 8, **self._fused)  # (a deconv k4 s2: even)
        self.odd = EqualConvUp(8, 8, 3, 2, conv_cfg=dict(type="deconv"))  # <- CBD101
        self.plain = ConvModule(8, 8, 3, 1, 1, conv_cfg=cfg)  # (stride 1: either way even)
