# parameter defaults: used when a caller leaves them out, or when nothing in the tree calls
import torch.nn as nn


def deconv2d(x, output_dim, k_h=5, k_w=5, d_h=2, d_w=2):
    return nn.ConvTranspose2d(x, output_dim, (k_h, k_w), (d_h, d_w))  # <- CBD101


g1 = deconv2d(64, 32)
g2 = deconv2d(32, 16)


class Block(nn.Module):
    def __init__(self, cin, cout, ks=5, stride=2):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, ks, stride, padding=2, output_padding=1)  # <- CBD101


def overridden(c, k=3, s=2):
    return nn.ConvTranspose2d(c, c, k, s, 1)


ok1 = overridden(8, k=4)
ok2 = overridden(8, 4, 2)
