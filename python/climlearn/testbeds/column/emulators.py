"""Registry of column convection emulators: ``get_emulator("mlp", klev=20, ...)``.

Every emulator maps a batch of columns x = (T(klev), q(klev)) of shape ``(ncol, 2*klev)``
(normalised) to y = (dT/dt(klev), dq/dt(klev)) of shape ``(ncol, 2*klev)`` (normalised),
level 0 the lowest layer, so that the host calls it with ``x(2*klev, klon)`` in Fortran.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ...models import MLP

__all__ = ["ColumnCNN", "available_emulators", "get_emulator"]


def _mlp(klev: int, hidden: Sequence[int] = (128, 128), activation: str = "silu"
         ) -> nn.Module:
    """MLP on the whole column (runs on libclimlearn's native kernel)."""
    return MLP(2 * klev, 2 * klev, hidden=hidden, activation=activation)


class ColumnCNN(nn.Module):
    """1-D convolutions along the vertical (channels T, q), then a linear read-out.

    Parameters
    ----------
    klev
        Number of levels.
    channels
        Channels of the hidden convolution layers.
    kernel
        Odd kernel size (zero padding keeps ``klev`` levels).
    """

    def __init__(self, klev: int, channels: Sequence[int] = (32, 32), kernel: int = 5) -> None:
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"kernel must be odd, given {kernel}")
        self.klev = int(klev)
        layers: list[nn.Module] = []
        c_in = 2
        for c in channels:
            layers += [nn.Conv1d(c_in, int(c), kernel, padding=kernel // 2), nn.SiLU()]
            c_in = int(c)
        layers.append(nn.Conv1d(c_in, 2, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        h = x.reshape(x.shape[0], 2, self.klev)
        return self.net(h).reshape(x.shape[0], 2 * self.klev)


def _cnn(klev: int, channels: Sequence[int] = (32, 32), kernel: int = 5) -> nn.Module:
    return ColumnCNN(klev, channels, kernel)


_REGISTRY: dict[str, Callable[..., nn.Module]] = {"mlp": _mlp, "cnn": _cnn}


def available_emulators() -> list[str]:
    """Names accepted by :func:`get_emulator`."""
    return sorted(_REGISTRY)


def get_emulator(name: str, klev: int, **options) -> nn.Module:
    """Build the emulator ``name`` for ``klev`` levels with its ``options``.

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid names) or bad options.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown emulator {name!r}; valid names are "
                         f"{available_emulators()}")
    try:
        net = _REGISTRY[name](klev, **options)
    except TypeError as exc:
        raise ValueError(f"emulator {name!r}: bad options {options} ({exc})") from exc
    return net.to(torch.float32)
