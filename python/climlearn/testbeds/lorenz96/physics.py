"""Two-scale Lorenz 96 and the coarse model, computed by the Fortran module ``l96_physics``.

The equations (REFERENCE convention, Wilks 2005; indices cyclic)::

    dX_k/dt     = -X_{k-1} (X_{k-2} - X_{k+1}) - X_k + F - (h c / b) sum_j Y_{j,k}
    dY_{j,k}/dt = -c b Y_{j+1,k} (Y_{j+2,k} - Y_{j-1,k}) - c Y_{j,k} + (h c / b) X_k

Y is one ring of ``K*J`` variables (``Y_{J+1,k} = Y_{1,k+1}``), stored flat with
``Y_{j,k}`` at index ``k*J + j`` (0-based), i.e. a C array ``(K, J)`` flattened. The
sub-grid tendency is ``U_k = (h c / b) sum_j Y_{j,k}``; the coarse model is
``dX_k/dt = -X_{k-1} (X_{k-2} - X_{k+1}) - X_k + F - U_k``.

Every function here calls the Fortran code that the coupled Fortran program also uses
(``fortran/physics/lorenz96.f90``, exposed through f90wrap as the extension
``climlearn.testbeds.lorenz96._l96f``). Arguments are validated here, before the call:
the Fortran routines trust their sizes. Python-facing arrays are C-ordered with ``k``
last, e.g. a batch ``x`` of shape ``(nens, K)``, which is the Fortran array
``x(K, nens)`` in memory, so no data are transposed.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import _l96f

__all__ = [
    "L96Params", "coarse_rk4_step", "coarse_tendency", "run_coarse_poly", "run_two_scale",
    "standard_normal", "subgrid_tendency", "two_scale_rk4_step", "two_scale_tendency",
]

_INT_MAX = 2**31 - 1


def _f(name: str) -> Any:
    return getattr(_l96f, f"f90wrap_l96_physics__{name}")


_TWO_SCALE_TENDENCY = _f("l96_two_scale_tendency")
_SUBGRID_TENDENCY = _f("l96_subgrid_tendency")
_TWO_SCALE_RK4_STEP = _f("l96_two_scale_rk4_step")
_TWO_SCALE_RUN = _f("l96_two_scale_run")
_COARSE_TENDENCY = _f("l96_coarse_tendency")
_COARSE_RK4_STEP = _f("l96_coarse_rk4_step")
_COARSE_POLY_RUN = _f("l96_coarse_poly_run")
_NORMAL_FILL = _f("l96_normal_fill")


@dataclass(frozen=True)
class L96Params:
    """Parameters of the two-scale Lorenz 96 model (defaults: the standard set-up).

    Attributes
    ----------
    K
        Number of large-scale variables X (>= 4).
    J
        Number of small-scale variables Y per X (>= 1).
    F
        Forcing.
    h
        Coupling strength.
    b
        Spatial-scale ratio (> 0).
    c
        Time-scale ratio (> 0).
    """

    K: int = 8
    J: int = 32
    F: float = 20.0
    h: float = 1.0
    b: float = 10.0
    c: float = 10.0

    def __post_init__(self) -> None:
        for name, lo in (("K", 4), ("J", 1)):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
                raise ValueError(f"L96Params.{name} must be an integer >= {lo}, given {v!r}")
            object.__setattr__(self, name, int(v))
        if self.K * self.J > _INT_MAX:
            raise ValueError(f"L96Params: K*J must be at most {_INT_MAX}, given "
                             f"{self.K}*{self.J}")
        for name in ("F", "h", "b", "c"):
            v = getattr(self, name)
            if (not isinstance(v, numbers.Real) or isinstance(v, bool)
                    or not math.isfinite(v)):
                raise ValueError(f"L96Params.{name} must be a finite number, given {v!r}")
            object.__setattr__(self, name, float(v))
        for name in ("b", "c"):
            if getattr(self, name) <= 0:
                raise ValueError(f"L96Params.{name} must be positive, given "
                                 f"{getattr(self, name)!r}")

    @property
    def coupling(self) -> float:
        """The coupling factor ``h c / b``."""
        return self.h * self.c / self.b

    def as_dict(self) -> dict[str, float | int]:
        """The parameters as a plain dict (for NetCDF attributes and metadata)."""
        return asdict(self)


# ---- validation helpers --------------------------------------------------------------

def _check_int(name: str, value: Any, lo: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {lo}, given {value!r}")
    if not lo <= int(value) <= _INT_MAX:
        raise ValueError(f"{name} must be an integer >= {lo} (and at most {_INT_MAX}), "
                         f"given {value!r}")
    return int(value)


def _check_real(name: str, value: Any, positive: bool = False) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, given {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, given {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be positive, given {value!r}")
    return value


def _as_array(name: str, a: Any, shape: tuple[int, ...] | None = None,
              what: str = "") -> np.ndarray:
    """A C-contiguous float64 COPY of ``a`` (so that Fortran may update it in place)."""
    try:
        arr = np.array(a, dtype=np.float64, order="C", copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}{what}, given shape {arr.shape}")
    return arr


def _batch(name: str, x: Any, nk: int | None = None) -> tuple[np.ndarray, bool]:
    """x as a C (nens, K) float64 copy, and whether the input was a single state (K,)."""
    arr = _as_array(name, x)
    single = arr.ndim == 1
    if single:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (K,) or (nens, K), given shape {arr.shape}")
    if nk is not None and arr.shape[1] != nk:
        raise ValueError(f"{name} must have K = {nk} values per member, given shape "
                         f"{arr.shape}")
    if arr.shape[1] < 4:
        raise ValueError(f"{name} needs K >= 4 values per member, given shape {arr.shape}")
    if arr.shape[0] < 1:
        raise ValueError(f"{name} needs at least one member, given shape {arr.shape}")
    return arr, single


def _check_params(params: Any) -> L96Params:
    if not isinstance(params, L96Params):
        raise ValueError(f"params must be an L96Params, given {type(params).__name__}")
    return params


# ---- two-scale model -------------------------------------------------------------------

def two_scale_tendency(x: np.ndarray, y: np.ndarray, params: L96Params,
                       damping: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Tendencies ``(dX/dt, dY/dt)`` of the two-scale model (Fortran).

    Parameters
    ----------
    x
        Large-scale state, shape ``(K,)``.
    y
        Small-scale state, shape ``(K*J,)`` (``Y_{j,k}`` at ``k*J + j``) or ``(K, J)``.
    params
        Model parameters.
    damping
        Factor of the linear damping terms ``-X_k`` and ``-c Y_{j,k}``: 1 for the model,
        0 to switch them off (with ``F = 0`` the remaining terms conserve
        ``sum X^2 + sum Y^2``).

    Returns
    -------
    dxdt, dydt
        Arrays of the shapes of ``x`` and ``y``.
    """
    p = _check_params(params)
    nk, nj = p.K, p.J
    xa = _as_array("x", x, (nk,), f" (K = {nk})")
    ya = _as_array("y", y)
    if ya.shape not in ((nk * nj,), (nk, nj)):
        raise ValueError(f"y must have shape ({nk * nj},) or ({nk}, {nj}) (K = {nk}, "
                         f"J = {nj}), given shape {ya.shape}")
    damping = _check_real("damping", damping)
    dxdt = np.zeros(nk)
    dydt = np.zeros(nk * nj)
    _TWO_SCALE_TENDENCY(nk, nj, xa, ya.reshape(-1), p.F, p.h, p.b, p.c, damping, dxdt, dydt)
    return dxdt, dydt.reshape(ya.shape)


def subgrid_tendency(y: np.ndarray, params: L96Params) -> np.ndarray:
    """Sub-grid tendency ``U_k = (h c / b) sum_j Y_{j,k}`` (Fortran).

    Parameters
    ----------
    y
        Small-scale states, shape ``(..., K*J)`` or ``(..., K, J)``.
    params
        Model parameters.

    Returns
    -------
    numpy.ndarray
        ``U`` of shape ``(..., K)``.
    """
    p = _check_params(params)
    nk, nj = p.K, p.J
    ya = _as_array("y", y)
    if ya.ndim >= 1 and ya.shape[-1] == nk * nj:
        lead = ya.shape[:-1]
    elif ya.ndim >= 2 and ya.shape[-2:] == (nk, nj):
        lead = ya.shape[:-2]
    else:
        raise ValueError(f"y must have shape (..., {nk * nj}) or (..., {nk}, {nj}) "
                         f"(K = {nk}, J = {nj}), given shape {ya.shape}")
    nblocks = nk * math.prod(lead)
    u = np.zeros(nblocks)
    if nblocks:
        # A C array (..., K, J) is one run of blocks of J: U of each block in one call.
        _check_int("number of blocks (states x K)", nblocks, 1)
        _SUBGRID_TENDENCY(nblocks, nj, ya.reshape(-1), p.h, p.b, p.c, u)
    return u.reshape(*lead, nk)


def two_scale_rk4_step(x: np.ndarray, y: np.ndarray, params: L96Params,
                       dt: float) -> tuple[np.ndarray, np.ndarray]:
    """One RK4 step of the two-scale model (Fortran); returns new ``(x, y)``.

    Parameters
    ----------
    x, y
        States of shape ``(K,)`` and ``(K*J,)``; not modified.
    params
        Model parameters.
    dt
        Time step (> 0).
    """
    p = _check_params(params)
    xa = _as_array("x", x, (p.K,), f" (K = {p.K})")
    ya = _as_array("y", y, (p.K * p.J,), f" (K*J = {p.K}*{p.J})")
    dt = _check_real("dt", dt, positive=True)
    _TWO_SCALE_RK4_STEP(p.K, p.J, xa, ya, p.F, p.h, p.b, p.c, dt)
    return xa, ya


def run_two_scale(x0: np.ndarray, y0: np.ndarray, params: L96Params, dt: float,
                  nsteps: int, every: int = 1, return_state: bool = False,
                  ) -> tuple[np.ndarray, ...]:
    """Integrate the two-scale model with RK4 in Fortran, sampling every ``every`` steps.

    Parameters
    ----------
    x0, y0
        Initial states, shapes ``(K,)`` and ``(K*J,)``; not modified.
    params
        Model parameters.
    dt
        Time step (> 0), e.g. 0.001 for the truth.
    nsteps
        Number of steps (>= 0).
    every
        Sampling interval in steps (>= 1). Samples are taken after steps ``every``,
        ``2*every``, ..., so there are ``nout = nsteps // every`` of them.
    return_state
        Also return the state after the last step (useful when ``nsteps`` is not a
        multiple of ``every``, and to continue a run).

    Returns
    -------
    xs, ys, us
        Samples of X ``(nout, K)``, Y ``(nout, K*J)`` and ``U`` ``(nout, K)``;
        followed by ``x, y`` (the final state) when ``return_state`` is true.
    """
    p = _check_params(params)
    nk, nj = p.K, p.J
    x = _as_array("x0", x0, (nk,), f" (K = {nk})")
    y = _as_array("y0", y0, (nk * nj,), f" (K*J = {nk}*{nj})")
    dt = _check_real("dt", dt, positive=True)
    nsteps = _check_int("nsteps", nsteps, 0)
    every = _check_int("every", every, 1)
    nout = nsteps // every
    xs = np.zeros((nout, nk))
    ys = np.zeros((nout, nk * nj))
    us = np.zeros((nout, nk))
    if nsteps:
        # C (nout, n) arrays are Fortran (n, nout): pass the transposed views in place.
        _TWO_SCALE_RUN(nk, nj, x, y, p.F, p.h, p.b, p.c, dt, nsteps, every, nout,
                       xs.T, ys.T, us.T)
    if return_state:
        return xs, ys, us, x, y
    return xs, ys, us


# ---- coarse model ----------------------------------------------------------------------

def coarse_tendency(x: np.ndarray, u: np.ndarray, forcing: float) -> np.ndarray:
    """Coarse-model tendency ``-X_{k-1} (X_{k-2} - X_{k+1}) - X_k + F - U_k`` (Fortran).

    Parameters
    ----------
    x
        States, shape ``(K,)`` or ``(nens, K)``.
    u
        Sub-grid term, same shape as ``x``.
    forcing
        ``F``.

    Returns
    -------
    numpy.ndarray
        ``dX/dt``, same shape as ``x``.
    """
    xa, single = _batch("x", x)
    if np.shape(u) != np.shape(x):
        raise ValueError(f"u must have the shape of x {np.shape(x)}, given shape "
                         f"{np.shape(u)}")
    ua = _as_array("u", u).reshape(xa.shape)
    forcing = _check_real("forcing", forcing)
    nens, nk = xa.shape
    dxdt = np.zeros_like(xa)
    _COARSE_TENDENCY(nk, nens, xa.T, forcing, ua.T, dxdt.T)
    return dxdt[0] if single else dxdt


def coarse_rk4_step(x: np.ndarray, u: np.ndarray, forcing: float, dt: float,
                    out: np.ndarray | None = None) -> np.ndarray:
    """One RK4 step of the coarse model (Fortran) with ``u`` held fixed over the step.

    Parameters
    ----------
    x
        States, shape ``(K,)`` or ``(nens, K)``.
    u
        Sub-grid term, same shape as ``x`` (evaluated once, before the step).
    forcing
        ``F``.
    dt
        Time step (> 0).
    out
        Optional C-contiguous float64 array of the shape of ``x`` that receives the new
        state (it may be ``x`` itself, for an in-place update).

    Returns
    -------
    numpy.ndarray
        The state after the step (``out`` when given, else a new array).
    """
    xa, single = _batch("x", x)
    if np.shape(u) != np.shape(x):
        raise ValueError(f"u must have the shape of x {np.shape(x)}, given shape "
                         f"{np.shape(u)}")
    ua = _as_array("u", u).reshape(xa.shape)
    forcing = _check_real("forcing", forcing)
    dt = _check_real("dt", dt, positive=True)
    nens, nk = xa.shape
    _COARSE_RK4_STEP(nk, nens, xa.T, forcing, ua.T, dt)
    res = xa[0] if single else xa
    if out is None:
        return res
    if not (isinstance(out, np.ndarray) and out.dtype == np.float64
            and out.shape == np.shape(x) and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"out must be a writeable C-contiguous float64 array of shape "
                         f"{np.shape(x)}, given "
                         f"{getattr(out, 'dtype', type(out).__name__)} {np.shape(out)}")
    out[...] = res
    return out


def run_coarse_poly(x0: np.ndarray, forcing: float, dt: float, nsteps: int, every: int,
                    coef: np.ndarray, phi: float = 0.0, sigma: float = 0.0,
                    seed: int = 0, return_state: bool = False,
                    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Free run of the coarse model with a polynomial sub-grid term, in Fortran.

    ``U = sum_p coef[p] X^p + e`` with AR(1) noise per (member, k),
    ``e_t = phi e_{t-1} + sigma sqrt(1 - phi^2) z_t`` (``e_0 = 0``), ``z_t`` standard
    normal from a generator seeded with ``seed`` (deterministic for a seed); ``U`` is
    evaluated once per step and held over the RK4 step. ``sigma = 0`` is deterministic.

    Parameters
    ----------
    x0
        Initial states, shape ``(nens, K)`` (or ``(K,)`` for one member); not modified.
    forcing
        ``F``.
    dt
        Time step (> 0), e.g. 0.005.
    nsteps
        Number of steps (>= 0).
    every
        Sampling interval in steps (>= 1); samples after steps ``every, 2*every, ...``.
    coef
        Polynomial coefficients in ascending powers (1 to 64 of them).
    phi
        AR(1) autocorrelation per step, in ``[-1, 1]``.
    sigma
        Standard deviation of the stationary noise (>= 0).
    seed
        Seed of the noise, an integer in ``[0, 2**31 - 1]``.
    return_state
        Also return the state after the last step.

    Returns
    -------
    numpy.ndarray
        ``xs`` of shape ``(nsteps // every, nens, K)`` (``(nsteps // every, K)`` for a
        single state); followed by the final state when ``return_state`` is true.
    """
    xa, single = _batch("x0", x0)
    forcing = _check_real("forcing", forcing)
    dt = _check_real("dt", dt, positive=True)
    nsteps = _check_int("nsteps", nsteps, 0)
    every = _check_int("every", every, 1)
    ca = _as_array("coef", coef)
    if ca.ndim != 1 or not 1 <= ca.size <= 64:
        raise ValueError(f"coef must be a 1-D array of 1 to 64 coefficients, given shape "
                         f"{ca.shape}")
    if not np.all(np.isfinite(ca)):
        raise ValueError(f"coef must be finite, given {ca.tolist()}")
    phi = _check_real("phi", phi)
    if not -1.0 <= phi <= 1.0:
        raise ValueError(f"phi must be in [-1, 1], given {phi}")
    sigma = _check_real("sigma", sigma)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, given {sigma}")
    seed = _check_int("seed", seed, 0)
    nens, nk = xa.shape
    nout = nsteps // every
    xs = np.zeros((nout, nens, nk))
    if nsteps:
        _COARSE_POLY_RUN(nk, nens, xa.T, forcing, dt, nsteps, every, ca.size, ca, phi, sigma,
                         seed, nout, xs.T)
    if single:
        xs, xa = xs[:, 0, :], xa[0]
    return (xs, xa) if return_state else xs


def standard_normal(n: int, seed: int) -> np.ndarray:
    """``n`` standard normal numbers from the Fortran generator of :func:`run_coarse_poly`.

    Parameters
    ----------
    n
        How many (>= 0).
    seed
        Seed, an integer in ``[0, 2**31 - 1]``.
    """
    n = _check_int("n", n, 0)
    seed = _check_int("seed", seed, 0)
    z = np.zeros(n)
    if n:
        _NORMAL_FILL(n, seed, z)
    return z
