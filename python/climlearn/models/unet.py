"""A small U-Net for per-pixel prediction on 2-D maps (segmentation, gap filling)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net (Ronneberger et al. 2015): ``depth`` poolings, channels doubling each level.

    Maps of any size are accepted: after each 2x2 max-pooling (floor), the decoder
    upsamples to the exact size of the matching skip connection.

    Parameters
    ----------
    n_in, n_out
        Input and output channels. The output is linear (logits, values...).
    base
        Channels at the finest level.
    depth
        Number of poolings (``depth >= 1``).

    Input ``(batch, n_in, ny, nx)``, output ``(batch, n_out, ny, nx)``.
    """

    def __init__(self, n_in: int, n_out: int, base: int = 16, depth: int = 2) -> None:
        super().__init__()
        if depth < 1 or base < 1 or n_in < 1 or n_out < 1:
            raise ValueError(f"UNet needs positive n_in, n_out, base and depth >= 1, got "
                             f"n_in={n_in}, n_out={n_out}, base={base}, depth={depth}")
        widths = [base * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([_block(n_in, widths[0])])
        for i in range(depth):
            self.down.append(_block(widths[i], widths[i + 1]))
        self.up = nn.ModuleList()
        self.reduce = nn.ModuleList()
        for i in reversed(range(depth)):
            self.reduce.append(nn.Conv2d(widths[i + 1], widths[i], 1))
            self.up.append(_block(2 * widths[i], widths[i]))
        self.head = nn.Conv2d(widths[0], n_out, 1)
        self.n_in, self.n_out = int(n_in), int(n_out)

    def forward(self, x: Tensor) -> Tensor:
        skips: list[Tensor] = []
        h = x
        for i, block in enumerate(self.down):
            if i > 0:
                h = F.max_pool2d(h, 2)
            h = block(h)
            skips.append(h)
        skips.pop()
        for reduce, block in zip(self.reduce, self.up):  # noqa: B905 (TorchScript)
            skip = skips.pop()
            h = F.interpolate(reduce(h), size=[skip.shape[-2], skip.shape[-1]],
                              mode="nearest")
            h = block(torch.cat([h, skip], dim=1))
        return self.head(h)
