"""SOM quality control: consistency of each value with the map, given the other values.

Samples are the columns of a (sample, member) matrix: for a station network a sample is
one time step and the members are the stations; for profiles a sample is one profile and
the members are its levels. With ``reference="median"`` (networks) the across-member
median of each sample is removed first, so the map learns how the stations differ from
the network (offsets, diurnal amplitudes) rather than the shared weather.

For each value ``x[n, k]`` the best-matching unit is found from the OTHER values of the
sample (member k set missing, so the SOM's masked distance ignores it), and the unit's
codebook value ``c[bmu, k]`` predicts it. The consistency score is
``z[n, k] = |x[n, k] - c[bmu, k]| / s_k`` with ``s_k`` a robust (1.4826 MAD) scale of the
residuals of member k. The sample's quantisation error against the map (masked, over
the values not yet flagged) is reported as a sample anomaly score.

Flagging is robust to several faults in one sample and to faults in the training data:
gross outliers (far outside each member's distribution) are left out of the first
training; then in each round, the worst value of every sample is flagged when its score exceeds
``threshold`` and set missing, and the scores are recomputed without it; then the map is
retrained with the flagged values missing and the procedure repeats (``n_outer`` times).
"""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from ..som import SOM

log = logging.getLogger(__name__)

__all__ = ["som_qc", "loo_residuals"]

REFERENCES = ("median", "none")


def loo_residuals(som: SOM, Y: np.ndarray, reference: str = "none",
                  context: np.ndarray | None = None, n_local: int = 1) -> np.ndarray:
    """Leave-one-out residuals ``y[n, k] - expected[n, k]`` (NaN where ``y`` is NaN or no
    other member is observed). ``context`` (sample, c) columns, if any, follow the
    members in the map's features and always take part in the best-matching unit.

    ``expected[n, k] = c[bmu, k] + r_k[n]`` with the best-matching unit found from the
    other members only, after subtracting their reference ``r_k`` (the median of the
    other members for ``reference="median"``, 0 for ``"none"``); the tested value never
    enters its own expectation. With ``n_local > 1`` the codebook value is replaced by a
    local affine combination of the ``n_local`` nearest units (see :func:`_local_fit`),
    fitted on the other members.
    """
    return _loo(som, Y, reference, context, n_local)[0]


def _local_fit(som: SOM, F: np.ndarray, m: int, k: int, n_local: int,
               ridge: float = 1e-3) -> np.ndarray:
    """Expected member ``k`` of each row of ``F`` (member ``k`` missing) from the
    ``n_local`` nearest units (masked, weighted distance): ``c_0 + sum_j b_j (c_j - c_0)``
    with ``c_0`` the best-matching unit and ``b`` the ridge least-squares fit of the
    observed members. This interpolates between codebook vectors along the map's local
    manifold, so the expectation is not limited by the map's quantisation.
    """
    code = som.codebook
    w = som._weights(F.shape[1])
    M = ~np.isnan(F)
    X = np.where(M, F, 0.0)
    d2 = (M * w * X ** 2).sum(1)[:, None] - 2 * (M * w * X) @ code.T + (M * w) @ (code ** 2).T
    near = np.argsort(d2, axis=1)[:, :n_local]                   # (n, K), BMU first
    C = code[near][:, :, :m]                                      # (n, K, m)
    c0 = C[:, 0, :]
    D = C[:, 1:, :] - c0[:, None, :]                              # (n, K-1, m)
    obs = M[:, :m]
    r = np.where(obs, X[:, :m] - c0, 0.0)
    Do = D * obs[:, None, :]
    G = Do @ Do.transpose(0, 2, 1)                                # (n, K-1, K-1)
    lam = ridge * np.trace(G, axis1=1, axis2=2)[:, None, None] / max(n_local - 1, 1)
    G = G + (lam + 1e-12) * np.eye(n_local - 1)[None]
    b = np.linalg.solve(G, (Do @ r[:, :, None]))[:, :, 0]        # (n, K-1)
    return c0[:, k] + (b * D[:, :, k]).sum(1)


def _loo(som: SOM, Y: np.ndarray, reference: str, context: np.ndarray | None = None,
         n_local: int = 1) -> tuple[np.ndarray, np.ndarray]:
    n, m = Y.shape
    res = np.full((n, m), np.nan)
    expected = np.full((n, m), np.nan)
    code = som.codebook
    for k in range(m):
        Yk = Y.copy()
        Yk[:, k] = np.nan
        ok = ~np.isnan(Yk).all(axis=1)
        if not ok.any():
            continue
        ref = np.zeros(n)
        if reference == "median":
            ref[ok] = np.nanmedian(Yk[ok], axis=1)
        Fk = Yk[ok] - ref[ok, None]
        if context is not None:
            Fk = np.concatenate([Fk, context[ok]], axis=1)
        if n_local > 1:
            expected[ok, k] = _local_fit(som, Fk, m, k, n_local) + ref[ok]
        else:
            expected[ok, k] = code[som.bmu(Fk), k] + ref[ok]
        res[:, k] = Y[:, k] - expected[:, k]
    return res, expected


def _robust_scale(res: np.ndarray) -> np.ndarray:
    med = np.nanmedian(res, axis=0)
    mad = 1.4826 * np.nanmedian(np.abs(res - med), axis=0)
    return np.where(mad > 0, mad, np.nanstd(res, axis=0) + 1e-12)


def som_qc(data: xr.DataArray, *, sample_dim: str = "time", member_dim: str = "station",
           reference: str = "median", som_shape: tuple[int, int] = (10, 10),
           n_epochs: int = 15, threshold: float = 3.0, max_rounds: int = 3,
           n_outer: int = 3, screen: float = 8.0, context: xr.DataArray | None = None,
           context_weight: float = 4.0, n_local: int = 1,
           seed: int = 0) -> tuple[xr.Dataset, SOM]:
    """Flag suspect values with a SOM.

    Parameters
    ----------
    data : xarray.DataArray
        2-D values with dims ``sample_dim`` and ``member_dim`` (NaN = missing).
    sample_dim, member_dim : str
        Dim names of samples (SOM samples) and members (SOM features).
    reference : {"median", "none"}
        Remove the across-member median of each sample first (networks), or not.
    som_shape : (int, int)
        Map rows and columns (fewer units than samples).
    n_epochs : int
        Batch epochs per training.
    threshold : float
        Consistency score above which a value is flagged.
    max_rounds : int
        Values that may be flagged in one sample per outer iteration.
    n_outer : int
        Train-flag cycles.
    screen : float
        Before the first training, values more than ``screen`` robust standard deviations
        (1.4826 MAD of each member's values) from the member's median are left out of
        the training (not flagged by that alone).
    context : xarray.DataArray, optional
        Extra features per sample, never tested, that help find the best-matching unit,
        e.g. the sine and cosine of the hour of day for a network with a diurnal cycle:
        dims ``sample_dim`` and one other. Each column is standardised to the typical
        spread of the members.
    context_weight : float
        Distance weight of each context column (a member has weight 1).
    n_local : int
        1: a value is expected to equal the best-matching unit's codebook value (found
        on the other members). More: a local affine combination of the ``n_local``
        nearest units, fitted on the other members, which is not limited by the map's
        quantisation (profiles, whose shapes vary continuously, use 6).
    seed : int
        SOM seed.

    Returns
    -------
    (xarray.Dataset, SOM)
        ``flagged`` (bool), ``score`` (consistency score, float), ``expected`` (the
        codebook's value for each entry, in data units) with the dims of ``data``, and
        ``quantization_error`` (sample).
    """
    if not isinstance(data, xr.DataArray):
        raise TypeError(f"data must be an xarray.DataArray, got {type(data).__name__}")
    if set(data.dims) != {sample_dim, member_dim}:
        raise ValueError(f"data must have dims ({sample_dim!r}, {member_dim!r}), got "
                         f"{data.dims}")
    if reference not in REFERENCES:
        raise ValueError(f"unknown reference {reference!r}; valid: {', '.join(REFERENCES)}")
    da = data.transpose(sample_dim, member_dim)
    X0 = da.values.astype(np.float64)
    n, m = X0.shape
    if m < 3:
        raise ValueError(f"need at least 3 members along {member_dim!r} (each value is "
                         f"checked against the others), got {m}")
    if np.isinf(X0).any():
        raise ValueError("data contain infinite values (use NaN for missing)")
    empty = np.flatnonzero(np.isnan(X0).all(axis=1))
    if empty.size:
        raise ValueError(f"{empty.size} all-NaN sample(s) along {sample_dim!r}, first "
                         f"indices: {empty[:10].tolist()}")
    rows, cols = som_shape
    if rows * cols > n:
        raise ValueError(f"SOM grid {rows}x{cols} = {rows * cols} units is too large for "
                         f"{n} samples: use at most {n} units")
    if not 1 <= n_local <= rows * cols:
        raise ValueError(f"n_local must be in 1..{rows * cols} (map units), got {n_local}")
    if threshold <= 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    ctx = None
    if context is not None:
        if not isinstance(context, xr.DataArray) or sample_dim not in context.dims or \
                context.ndim != 2:
            raise ValueError(f"context must be a 2-D DataArray with dim {sample_dim!r}")
        cdim = [d for d in context.dims if d != sample_dim][0]
        ctx = context.transpose(sample_dim, cdim).values.astype(np.float64)
        if ctx.shape[0] != n:
            raise ValueError(f"context has {ctx.shape[0]} samples, data {n}")
        if not np.all(np.isfinite(ctx)):
            raise ValueError("context must be finite (no NaN)")
        if context_weight <= 0:
            raise ValueError(f"context_weight must be > 0, got {context_weight}")
    # each member's own median level is removed first (station offsets); with
    # reference="median" the SOM sees deviations from the across-member median
    offset = np.nanmedian(X0, axis=0)
    Y = X0 - offset
    spread = 1.4826 * np.nanmedian(np.abs(Y), axis=0)
    spread = np.where(spread > 0, spread, np.nanstd(Y, axis=0) + 1e-12)
    # coarse screen for the first training only: values far outside each member's
    # distribution (missing-value codes, gross errors) would drag whole codebook regions
    flagged = np.abs(Y) > screen * spread
    weights = None
    if ctx is not None:
        cstd = ctx.std(axis=0)
        ctx = (ctx - ctx.mean(axis=0)) / np.where(cstd > 0, cstd, 1.0) * np.median(spread)
        weights = np.concatenate([np.ones(m), np.full(ctx.shape[1], context_weight)])

    def training_matrix(mask: np.ndarray) -> np.ndarray:
        T = np.where(mask, np.nan, Y)
        if reference == "median":
            T = T - np.nanmedian(T, axis=1, keepdims=True)
        keep = ~np.isnan(T).all(axis=1)
        if ctx is not None:
            T = np.concatenate([T, ctx], axis=1)
        return T[keep]

    som = None
    scale = None
    for outer in range(n_outer):
        som = SOM(rows, cols, n_epochs=n_epochs, seed=seed, weights=weights,
                  progress=False).fit(
            training_matrix(flagged))
        if scale is None:
            scale = _robust_scale(loo_residuals(som, Y, reference, ctx, n_local))
        flagged = np.zeros((n, m), dtype=bool)
        for _ in range(max_rounds):
            z = np.abs(loo_residuals(som, np.where(flagged, np.nan, Y), reference, ctx,
                                     n_local)) / scale
            zf = np.where(np.isnan(z), -np.inf, z)
            worst = np.argmax(zf, axis=1)
            hit = zf[np.arange(n), worst] > threshold
            if not hit.any():
                break
            flagged[np.flatnonzero(hit), worst[hit]] = True
        scale = _robust_scale(np.where(flagged, np.nan, loo_residuals(
            som, np.where(flagged, np.nan, Y), reference, ctx, n_local)))
        log.info("SOM QC pass %d: %d values flagged", outer + 1, int(flagged.sum()))
    # final scores: each value against the map, given the unflagged other values
    clean = np.where(flagged, np.nan, Y)
    expected = np.full((n, m), np.nan)
    for k in range(m):
        Ck = clean.copy()
        Ck[:, k] = Y[:, k]
        expected[:, k] = _loo(som, Ck, reference, ctx, n_local)[1][:, k]
    score = np.abs(Y - expected) / scale
    C = clean - (np.nanmedian(clean, axis=1, keepdims=True) if reference == "median" else 0)
    qe = np.full(n, np.nan)
    ok = ~np.isnan(C).all(axis=1)
    full = C if ctx is None else np.concatenate([C, ctx], axis=1)
    b = som.bmu(full[ok])
    qe[ok] = np.sqrt(np.nanmean((C[ok] - som.codebook[b][:, :m]) ** 2, axis=1) * m)
    ref_out = offset[None, :]
    units = data.attrs.get("units", "")
    out = xr.Dataset(
        {"flagged": (da.dims, flagged, {"long_name": "flagged by the SOM test"}),
         "score": (da.dims, score, {"units": "1", "long_name":
                                    "consistency score |x - expected| / robust scale"}),
         "expected": (da.dims, expected + ref_out, {"units": units, "long_name":
                                                "value expected from the SOM"}),
         "quantization_error": (sample_dim, qe, {"units": units, "long_name":
                                                 "masked quantisation error of the "
                                                 "unflagged values"})},
        coords=da.coords, attrs={"threshold": threshold, "reference": reference})
    return out.transpose(*data.dims, ...), som
