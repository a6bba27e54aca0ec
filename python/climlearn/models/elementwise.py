"""Elementwise layers that torch.nn does not provide as modules."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Exp"]


class Exp(nn.Module):
    """``y = exp(x)``, elementwise.

    Used as the last layer of a network whose target was learned in log space, with the
    output scaling folded into the preceding linear layer (e.g. ``10**y`` as
    ``exp(ln(10) y)``), so that the host receives physical values. Recognised by the
    native kernel of libclimlearn (op ``"exp"``).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)
