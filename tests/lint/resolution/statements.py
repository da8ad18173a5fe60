# Layer calls in every kind of statement are checked: an assert's test (as if it runs), a
# raised exception's arguments, a dict comprehension over literal items (one layer per item)
import torch.nn as nn
from torch.nn import ConvTranspose2d


class EqualDeconv(ConvTranspose2d):
    pass


def test_shapes():
    assert nn.ConvTranspose2d(8, 8, 3, 2, 1) is not None  # <- CBD101
    assert EqualDeconv(8, 8, 5, 2, 2).stride == (2, 2)  # <- CBD101
    assert EqualDeconv(8, 8, 4, 2, 1), "even"  # (clean)


def refuse(c):
    raise ValueError(nn.ConvTranspose2d(c, c, 3, 2))  # <- CBD101


ups = {f"x{k}": nn.ConvTranspose2d(8, 8, k, 2) for k in (3, 4)}  # <- CBD101
evens = {f"x{k}": nn.ConvTranspose2d(8, 8, k, 2) for k in (4, 6)}  # (clean)
stack = nn.Sequential(*evens.values())  # (even layers: no stack rule)
odd_stack = nn.Sequential(ups["x3"], ups["x3"])  # <- CBD104
