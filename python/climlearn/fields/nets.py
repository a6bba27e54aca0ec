"""Small U-Net-style convolutional networks for maps (TorchScript-friendly)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

__all__ = ["UNet", "recompute_batchnorm", "dihedral_outputs"]


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, norm: bool = False) -> None:
        super().__init__()
        if norm:  # conv -> batch norm -> GELU, twice
            layers: list[nn.Module] = [
                nn.Conv2d(cin, cout, 3, padding=1, padding_mode="replicate", bias=False),
                nn.BatchNorm2d(cout), nn.GELU(),
                nn.Conv2d(cout, cout, 3, padding=1, padding_mode="replicate", bias=False),
                nn.BatchNorm2d(cout), nn.GELU()]
        else:
            layers = [nn.Conv2d(cin, cout, 3, padding=1, padding_mode="replicate"), nn.GELU(),
                      nn.Conv2d(cout, cout, 3, padding=1, padding_mode="replicate"), nn.GELU()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class UNet(nn.Module):
    """U-Net: ``depth`` 2x down-samplings (average pooling), bilinear up-sampling with
    skip connections, channel width doubling per level, a 1x1 output convolution.

    Any map size works (up-sampled maps are resized to their skip connection).

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input ``(B, in_channels, H, W)`` and output.
    width
        Channels at full resolution.
    depth
        Number of down-samplings.
    norm
        Batch normalisation after each convolution (off by default).
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 16,
                 depth: int = 2, norm: bool = False) -> None:
        super().__init__()
        if depth < 1 or width < 1:
            raise ValueError(f"depth and width must be >= 1, got depth={depth}, width={width}")
        chans = [width * 2 ** i for i in range(depth + 1)]
        self.downs = nn.ModuleList([_Block(in_channels, chans[0], norm)] + [
            _Block(chans[i], chans[i + 1], norm) for i in range(depth)])
        self.ups = nn.ModuleList([_Block(chans[i + 1] + chans[i], chans[i], norm)
                                  for i in reversed(range(depth))])
        self.head = nn.Conv2d(chans[0], out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips: list[Tensor] = []
        for i, block in enumerate(self.downs):
            if i > 0:
                x = F.avg_pool2d(x, 2, ceil_mode=True)
            x = block(x)
            skips.append(x)
        skips.pop()
        for block in self.ups:
            skip = skips.pop()
            x = F.interpolate(x, size=(skip.shape[-2], skip.shape[-1]), mode="bilinear",
                              align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


def recompute_batchnorm(model: nn.Module, x: Tensor, batch_size: int = 32) -> None:
    """Replace the running statistics of the batch-normalisation layers of ``model`` by
    their exact averages over the inputs ``x`` (run in batches of ``batch_size``) with
    the current weights. After a short training the running averages still remember
    the first steps; call this once training is done."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for b in range(0, x.shape[0], batch_size):
            model(x[b:b + batch_size])
    for m, mom in zip(norms, momenta, strict=True):
        m.momentum = mom


def dihedral_outputs(model: Callable[[Tensor], Tensor], x: Tensor) -> Iterator[Tensor]:
    """``g^-1 model(g x)`` for the 8 quarter turns and reflections ``g`` of the grid (the
    last two dims of ``x``), the identity first: test-time averaging over the symmetries
    of the grid (for a map-to-map ``model`` whose output has the grid of its input)."""
    for flip in (False, True):
        for k in range(4):
            xg = torch.rot90(x, k, (-2, -1))
            out = model(torch.flip(xg, (-1,)) if flip else xg)
            yield torch.rot90(torch.flip(out, (-1,)) if flip else out, -k, (-2, -1))
