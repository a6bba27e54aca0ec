"""Multi-layer perceptron acting on the last dimension."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "silu": nn.SiLU,
                "elu": nn.ELU}


class MLP(nn.Module):
    """Fully connected network ``n_in -> hidden... -> n_out`` over the last dimension.

    Parameters
    ----------
    n_in, n_out
        Input and output features.
    hidden
        Widths of the hidden layers.
    activation
        One of ``relu``, ``tanh``, ``gelu``, ``silu``, ``elu``.
    dtype
        Parameter dtype (float32 or float64).
    """

    def __init__(self, n_in: int, n_out: int, hidden: Sequence[int] = (64, 64),
                 activation: str = "relu", dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; valid names are: "
                f"{', '.join(sorted(_ACTIVATIONS))}"
            )
        widths = [int(n_in), *[int(h) for h in hidden], int(n_out)]
        layers: list[nn.Module] = []
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1], dtype=dtype))
            if i < len(widths) - 2:
                layers.append(_ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
