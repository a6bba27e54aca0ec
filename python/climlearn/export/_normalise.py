"""Normalisation layers stored as buffers inside exported models.

Callers of an exported model (Fortran, C or Python) pass physical units; the model
standardises its inputs and restores physical units on its outputs itself.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Standardise(nn.Module):
    """``(x - mean) / std`` with ``mean`` and ``std`` broadcast over the batch dimension."""

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class Destandardise(nn.Module):
    """``y * std + mean``: the inverse of :class:`Standardise`."""

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, y: Tensor) -> Tensor:
        return y * self.std + self.mean


def make_layer(kind: str, stats, feature_shape: tuple[int, ...], dtype: torch.dtype,
               name: str) -> nn.Module:
    """Build the (de)standardisation layer for one variable, or an identity.

    Parameters
    ----------
    kind
        ``"in"`` (standardise) or ``"out"`` (destandardise).
    stats
        ``None`` or a pair ``(mean, std)`` of array-likes broadcastable to
        ``feature_shape`` (a sample's shape without the batch dimension).
    feature_shape
        Shape of one sample of the variable.
    dtype
        Floating dtype of the model.
    name
        Variable name, for error messages.
    """
    if stats is None:
        return nn.Identity()
    try:
        mean, std = stats
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"normalisation for {name!r} must be a pair (mean, std), given {stats!r}"
        ) from exc
    mean_t = torch.as_tensor(mean, dtype=dtype).clone()
    std_t = torch.as_tensor(std, dtype=dtype).clone()
    for label, t in (("mean", mean_t), ("std", std_t)):
        try:
            torch.broadcast_shapes(t.shape, feature_shape)
        except RuntimeError as exc:
            raise ValueError(
                f"normalisation {label} for {name!r} has shape {tuple(t.shape)}, not "
                f"broadcastable to the sample shape {feature_shape}"
            ) from exc
        if not torch.isfinite(t).all():
            raise ValueError(f"normalisation {label} for {name!r} contains NaN or Inf")
    if (std_t == 0).any():
        raise ValueError(f"normalisation std for {name!r} contains zeros")
    cls = Standardise if kind == "in" else Destandardise
    return cls(mean_t, std_t)
