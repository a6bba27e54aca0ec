"""Network architectures, looked up by name: ``get_model("mlp", n_in=8, n_out=8)``."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .elementwise import Exp
from .mlp import MLP

_REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLP,
}

__all__ = ["Exp", "MLP", "get_model", "available_models", "register_model"]


def available_models() -> list[str]:
    """Names accepted by :func:`get_model`."""
    return sorted(_REGISTRY)


def register_model(name: str, factory: Callable[..., nn.Module]) -> None:
    """Add an architecture to the registry (ValueError if the name is taken)."""
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is already registered")
    _REGISTRY[name] = factory


def get_model(name: str, **kwargs) -> nn.Module:
    """Build the architecture registered as ``name`` with ``kwargs``.

    Raises
    ------
    ValueError
        Unknown name; the message lists the valid names.
    """
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; valid names are: {', '.join(available_models())}"
        ) from None
    return factory(**kwargs)
