# loops over literal sequences are unrolled
import torch.nn as nn

ups = nn.ModuleList()
for i, (k, u) in enumerate(zip([16, 15, 8, 4], [6, 5, 2, 2])):
    ups.append(nn.ConvTranspose1d(512 // 2**i, 512 // 2 ** (i + 1), k, u, padding=(k - u) // 2))  # <- CBD101

n = 3
for _ in range(n):
    fine = nn.ConvTranspose2d(8, 8, 4, 2, 1)

for k in [3, 4]:
    mixed = nn.ConvTranspose2d(8, 8, k, 2)  # <- CBD101

for s, _ in enumerate(["one"], start=3):  # (a keyword of the builtin: stride 3)
    thirds = nn.ConvTranspose2d(8, 8, 4, s)  # <- CBD101


def loop_over_param(kernels):
    for k in kernels:
        nn.ConvTranspose2d(8, 8, k, 2)  # ? a loop variable over
