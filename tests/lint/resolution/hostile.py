# values too large or too deep to be layer parameters stay unknown, quickly
import torch.nn as nn

HUGE = 2**10**10
K = 10**9
A0 = 3
A1 = A0 + 1
A2 = A1 * 2

a = nn.ConvTranspose2d(8, 8, HUGE, 2)  # ? power too large
b = nn.ConvTranspose2d(8, 8, K, 2)  # ? larger than any real layer
c = nn.ConvTranspose2d(8, 8, A2 + 1, 2)  # <- CBD101
e = nn.ConvTranspose2d(8, 8, int(1.5**2) + 1, 2)  # <- CBD101
