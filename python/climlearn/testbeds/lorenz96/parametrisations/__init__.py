"""Sub-grid parametrisations of two-scale Lorenz 96, looked up by name.

>>> p = get_parametrisation("poly", degree=4)
>>> info = p.fit(x, u, seed=0)          # x, u: (ntime, K) truth samples, 0.005 MTU apart
>>> spec = p.export("run/models")       # what the coupled runs consume

Schemes (options: :data:`..config.SCHEME_OPTIONS`):

``mlp_local``
    MLP ``U_k = f(X_k)``.
``mlp_nonlocal``
    MLP on the cyclic stencil ``X_{k-s}, ..., X_{k+s}``, ``s = halfwidth``.
``poly``
    Deterministic least-squares polynomial ``U(X)`` (Wilks 2005), degree 4 by default.
``poly_ar1``
    Cubic polynomial plus additive AR(1) noise on its residuals (Arnold et al. 2013).

Networks take ``noise: ar1`` to carry the same AR(1) residual noise.
"""

from __future__ import annotations

from typing import Any

from ..config import SCHEME_OPTIONS, parse_options
from .base import Parametrisation
from .mlp import LocalMLP, NetworkParametrisation, NonlocalMLP, stencil, stencil_indices
from .noise import AR1Noise
from .poly import PolyAR1Parametrisation, PolyParametrisation

__all__ = [
    "AR1Noise", "LocalMLP", "NetworkParametrisation", "NonlocalMLP", "Parametrisation",
    "PolyAR1Parametrisation", "PolyParametrisation", "available_parametrisations",
    "get_parametrisation", "stencil", "stencil_indices",
]

_REGISTRY: dict[str, type[Parametrisation]] = {
    "mlp_local": LocalMLP,
    "mlp_nonlocal": NonlocalMLP,
    "poly": PolyParametrisation,
    "poly_ar1": PolyAR1Parametrisation,
}
if set(_REGISTRY) != set(SCHEME_OPTIONS):  # pragma: no cover - a programming error
    raise RuntimeError(f"parametrisation registry {sorted(_REGISTRY)} and config schemes "
                       f"{sorted(SCHEME_OPTIONS)} disagree")


def available_parametrisations() -> list[str]:
    """Names accepted by :func:`get_parametrisation`, sorted."""
    return sorted(_REGISTRY)


def get_parametrisation(name: str, **options: Any) -> Parametrisation:
    """A new, unfitted parametrisation ``name`` with ``options`` (defaults for the rest).

    Options are validated as in a config file (:func:`..config.parse_options`).

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid names), unknown option (lists the
        valid keys), or an invalid option value.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown parametrisation {name!r}; valid names are: "
                         f"{', '.join(available_parametrisations())}")
    return _REGISTRY[name](parse_options(name, options, where=name))
