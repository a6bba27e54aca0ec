"""Segment test for profiles: is a run of consecutive levels inconsistent with the rest?

Faults of profiles come in runs of levels (one spiked level, a stuck sensor over a few
levels, an offset from some level to the bottom). A leave-ONE-out test misses runs: the
other faulty levels of the run pull the expectation of each tested level towards the
fault. The segment test asks, for every run ``[a, b)`` of consecutive levels, whether
the run is consistent with the REST of the profile.

Local models. The map clusters the profiles; each unit gets a local Gaussian model of
the profiles near it: the mean and a probabilistic-PCA covariance (``n_components``
leading directions of the natural variability, plus isotropic noise) of the
``n_neighbours`` training profiles nearest to its codebook vector (profiles with
flagged levels are left out). A profile is scored with the model of its best-matching
unit, found on its unflagged levels.

Scores. For a Gaussian with precision ``P``, the levels ``s`` of a run given the other
levels ``o`` have the Mahalanobis distance ``q = g_s^T (P_ss)^{-1} g_s`` with
``g = P (x - mu)`` (flagged levels are marginalised out). This is the generalised
likelihood ratio of "the run holds a fault of any size" against "no fault", about
chi-square with ``L = b - a`` degrees of freedom without a fault; the Wilson-Hilferty
transform turns it into a normal score. A run of 2 or more levels is also tested for
the two shapes of a drift, a constant offset and a linear ramp (1 degree of freedom
each, ``threshold_shape``). Among the runs that are significant (score above
``threshold_point`` for single levels, ``threshold_run`` for longer runs), the run with
the largest ``q - penalty * L`` is flagged (the penalty keeps clean neighbours of a
fault out of its run); the scan repeats on the remaining levels (``max_runs``), and the
local models are rebuilt without the flagged profiles (``n_passes`` passes).

Faults that reach the bottom. An offset or a ramp from some level down to the last level
has no clean level below it, and it pulls the best-matching unit (found on all levels)
towards a unit whose deep water matches the fault, so the model of that unit explains
much of it. The mixture test (``threshold_mixture``) treats the unit models as a
mixture of Gaussians and lets ANY unit explain the profile once the fault is removed:
for each hypothesis ``h`` (a constant offset or a linear ramp from level ``a`` to the
bottom) the statistic is ``2 [max_{u, d} log N(x - d h; mu_u, C_u) - max_u log N(x;
mu_u, C_u)]`` (the best multiple ``d`` is closed-form per unit), a generalised
likelihood ratio with one fitted amplitude; its square root is compared with the
threshold. The unit that explains the corrected profile may differ from the
best-matching unit of the faulty one. The same test runs on offsets and ramps over
inner runs of 3-10 levels (``threshold_mixture_inner``). A mixture hypothesis is
flagged when it beats the best ``q``-run in the same currency: that run's likelihood
ratio is re-computed under the mixture (:func:`mixture_run_gain`, the unit that
explains the profile best), and a run of 2 or more levels is flagged only if this
ratio is significant too (``confirm_runs``): the best-matching unit is the nearest in
plain distance, not always the unit whose model fits best.
"""

from __future__ import annotations

import numpy as np

__all__ = ["segment_runs", "unit_models", "run_scores", "bottom_hypotheses",
           "inner_hypotheses", "mixture_scores", "mixture_run_gain", "segment_scan"]


def segment_runs(m: int, max_length: int, min_outside: int = 2) -> list[tuple[int, int]]:
    """Runs ``[a, b)`` of ``m`` levels: all up to ``max_length`` levels, plus every run
    that reaches the last level (offsets to the bottom), leaving at least
    ``min_outside`` levels outside."""
    return [(a, b) for a in range(m) for b in range(a + 1, m + 1)
            if (b - a <= max_length or b == m) and b - a <= m - min_outside]


def _bmu(codebook: np.ndarray, Y: np.ndarray) -> np.ndarray:
    M = ~np.isnan(Y)
    X = np.where(M, Y, 0.0)
    d2 = -2.0 * X @ codebook.T + M.astype(np.float64) @ (codebook ** 2).T
    return np.argmin(d2, axis=1)


def unit_models(codebook: np.ndarray, Y: np.ndarray, exclude: np.ndarray, *,
                n_neighbours: int = 50, n_components: int = 5
                ) -> tuple[np.ndarray, np.ndarray]:
    """Local Gaussian model of each map unit (see the module).

    Parameters
    ----------
    codebook : array (units, m)
    Y : array (n, m)
        Training profiles in the units of the codebook.
    exclude : bool array (n, m)
        Flagged values: profiles with any flagged or missing value are left out.
    n_neighbours : int
        Profiles per unit model (nearest to the codebook vector).
    n_components : int
        Directions of natural variability kept by the probabilistic PCA.

    Returns
    -------
    (means, covariances)
        Arrays (units, m) and (units, m, m).
    """
    m = Y.shape[1]
    T = Y[~(exclude | np.isnan(Y)).any(axis=1)]
    if T.shape[0] < max(n_neighbours, m):
        raise ValueError(f"too few complete unflagged profiles for the local models: "
                         f"{T.shape[0]}, need at least {max(n_neighbours, m)}")
    if not 1 <= n_components < m:
        raise ValueError(f"n_components must be in 1..{m - 1}, got {n_components}")
    d2 = (codebook ** 2).sum(1)[:, None] - 2.0 * codebook @ T.T + (T ** 2).sum(1)[None]
    near = np.argsort(d2, axis=1)[:, :n_neighbours]
    P = T[near]                                               # (units, k, m)
    mean = P.mean(axis=1)
    D = P - mean[:, None, :]
    S = D.transpose(0, 2, 1) @ D / (n_neighbours - 1)
    w, V = np.linalg.eigh(S)                                  # ascending
    noise = np.maximum(w[:, :m - n_components].mean(axis=1), 1e-12)
    lead = np.maximum(w[:, m - n_components:] - noise[:, None], 0.0)
    Vl = V[:, :, m - n_components:]
    cov = (Vl * lead[:, None, :]) @ Vl.transpose(0, 2, 1) + noise[:, None, None] * np.eye(m)
    return mean, cov


def _wilson_hilferty(q: np.ndarray, dof: np.ndarray) -> np.ndarray:
    d = np.maximum(dof, 1).astype(np.float64)
    return ((np.maximum(q, 0.0) / d) ** (1.0 / 3.0) - (1.0 - 2.0 / (9.0 * d))) / \
        np.sqrt(2.0 / (9.0 * d))


def run_scores(codebook: np.ndarray, means: np.ndarray, covs: np.ndarray, Y: np.ndarray,
               flagged: np.ndarray, runs: list[tuple[int, int]], shapes: bool = False
               ) -> tuple[np.ndarray, ...]:
    """Scores of every run of every profile (see the module).

    With ``shapes``, also the 1-degree-of-freedom tests of two fault shapes ``h`` over
    the run, a constant offset and a linear ramp from 0 to the bottom of the run:
    ``|h^T g_s| / sqrt(h^T P_ss h)`` is the normal score of the best-fitting multiple of
    ``h`` given the other levels; the larger of the two is returned as ``zs``. A long
    offset spreads over many degrees of freedom in ``q``; its shape test keeps it in one.

    Returns
    -------
    (z, q, dof) or (z, q, dof, zs)
        Normal scores (``-inf`` for runs with no unflagged level), Mahalanobis
        distances of the runs given the other levels, unflagged levels per run and, with
        ``shapes``, the shape scores (``-inf`` for single levels); each (n, runs).
    """
    n, m = Y.shape
    mask = flagged | np.isnan(Y)
    obs = ~mask
    Yf = np.where(mask, np.nan, Y)
    u = _bmu(codebook, Yf)
    # flagged levels get a huge variance: they are marginalised out of the Gaussian
    cov = covs[u] + np.eye(m)[None] * (1e6 * mask[:, None, :])
    prec = np.linalg.inv(cov)
    g = np.einsum("nij,nj->ni", prec, np.where(obs, Y - means[u], 0.0))
    q = np.empty((n, len(runs)))
    dof = np.empty((n, len(runs)), dtype=np.int64)
    zs = np.full((n, len(runs)), -np.inf)
    for i, (a, b) in enumerate(runs):
        gs = g[:, a:b]
        Pss = prec[:, a:b, a:b]
        q[:, i] = np.einsum("ni,ni->n", gs, np.linalg.solve(Pss, gs[:, :, None])[:, :, 0])
        dof[:, i] = obs[:, a:b].sum(axis=1)
        if shapes and b - a >= 2:
            for h in (np.ones(b - a), np.arange(1, b - a + 1) / (b - a)):
                t = (gs @ h) ** 2 / np.einsum("i,nij,j->n", h, Pss, h)
                zs[:, i] = np.maximum(zs[:, i], np.sqrt(t))
    z = _wilson_hilferty(q, dof)
    z[dof == 0] = -np.inf
    if shapes:
        zs[dof == 0] = -np.inf
        return z, q, dof, zs
    return z, q, dof


def _offsets_and_ramps(m: int, runs: list[tuple[int, int]]
                       ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """For each run ``[a, b)`` of ``m`` levels, a constant offset and a linear ramp
    growing from ``1 / L`` at level ``a`` to 1 at level ``b - 1`` (``L = b - a``), as
    the columns of an (m, 2 len(runs)) array, and the run of each column."""
    cols = np.zeros((m, 2 * len(runs)))
    for j, (a, b) in enumerate(runs):
        L = b - a
        cols[a:b, 2 * j] = 1.0
        cols[a:b, 2 * j + 1] = np.arange(1, L + 1) / L
    return cols, [r for r in runs for _ in range(2)]


def bottom_hypotheses(m: int, min_length: int = 2) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Shapes of faults that reach the last of ``m`` levels: for every start level ``a``
    (1 .. m - min_length) a constant offset and a linear ramp growing from ``1 / L`` at
    level ``a`` to 1 at the bottom (``L = m - a``), as the columns of an (m, k) array,
    and the run ``(a, m)`` of each column."""
    return _offsets_and_ramps(m, [(a, m) for a in range(1, m - min_length + 1)])


def inner_hypotheses(m: int, min_length: int = 3, max_length: int = 10
                     ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Shapes of faults over inner runs ``[a, b)`` of ``m`` levels (``a >= 1``, ``b < m``,
    ``min_length <= b - a <= max_length``): a constant offset and a linear ramp over the
    run, as the columns of an (m, k) array (:func:`bottom_hypotheses` gives the runs
    that reach the bottom), and the run of each column."""
    return _offsets_and_ramps(m, [(a, b) for a in range(1, m - min_length)
                                  for b in range(a + min_length, min(a + max_length, m - 1) + 1)])


def _unit_fits(codebook: np.ndarray, means: np.ndarray, covs: np.ndarray, Y: np.ndarray,
               flagged: np.ndarray, n_units_masked: int, chunk: int):
    """Per chunk of profiles: (rows, P, w, ll, shared) with the precision matrices ``P`` of the
    candidate units ((1, U, m, m) shared, or (b, K, m, m) with flagged and missing levels
    marginalised out by a huge variance), ``w = P (y - mu)`` and the Gaussian
    log-likelihoods ``ll`` (b, units) up to a constant; ``shared``: ``P`` is that of all
    units, the same for every profile. Profiles with flagged or missing levels are tried
    against their ``n_units_masked`` nearest units only."""
    U, m = means.shape
    mask = flagged | np.isnan(Y)
    P0 = np.linalg.inv(covs)
    ld0 = np.linalg.slogdet(covs)[1]
    whole = np.flatnonzero(~mask.any(axis=1))
    for s in range(0, whole.size, chunk):
        rows = whole[s:s + chunk]
        r = Y[rows][:, None, :] - means[None]                       # (b, U, m)
        w = np.einsum("uij,buj->bui", P0, r)
        yield rows, P0[None], w, -0.5 * ((r * w).sum(-1) + ld0[None]), True
    part = np.flatnonzero(mask.any(axis=1))
    if not part.size:
        return
    K = min(n_units_masked, U)
    Yp = np.where(mask[part], np.nan, Y[part])
    M = ~np.isnan(Yp)
    X = np.where(M, Yp, 0.0)
    d2 = -2.0 * X @ codebook.T + M.astype(np.float64) @ (codebook ** 2).T
    near = np.argsort(d2, axis=1)[:, :K]                              # (p, K)
    step = max(1, chunk // 4)
    for s in range(0, part.size, step):
        rows = part[s:s + step]
        nu = near[s:s + step]
        mk = mask[rows]
        C = covs[nu] + np.eye(m)[None, None] * (1e6 * mk[:, None, None, :])
        P = np.linalg.inv(C)
        r = np.where(mk[:, None, :], 0.0, Y[rows][:, None, :] - means[nu])
        w = np.einsum("buij,buj->bui", P, r)
        yield rows, P, w, -0.5 * ((r * w).sum(-1) + np.linalg.slogdet(C)[1]), False


def mixture_scores(codebook: np.ndarray, means: np.ndarray, covs: np.ndarray,
                   Y: np.ndarray, flagged: np.ndarray, shapes: np.ndarray, *,
                   n_units_masked: int = 30, chunk: int = 100) -> np.ndarray:
    """Mixture test of fault shapes (see the module): for each profile and each column
    ``h`` of ``shapes`` (m, k), the normal score ``sqrt(2 [max_{u,d} log N(x - d h;
    mu_u, C_u) - max_u log N(x; mu_u, C_u)])`` over the unit models ``(means, covs)``.

    Flagged and missing levels are marginalised out; for profiles that have some, only
    the ``n_units_masked`` units nearest to the profile (masked distance to the
    codebook) are considered, which keeps the per-profile matrix inversions cheap.

    Returns
    -------
    array (n, k)
    """
    out = np.zeros((Y.shape[0], shapes.shape[1]))
    shared = None
    for rows, P, w, ll, same in _unit_fits(codebook, means, covs, Y, flagged,
                                           n_units_masked, chunk):
        if same:                     # all units, the same for every profile: compute once
            if shared is None:
                shared = (shapes * (P @ shapes)).sum(axis=-2)
            hPh = shared
        else:
            hPh = (shapes * (P @ shapes)).sum(axis=-2)               # (b, K, k)
        gain = 0.5 * (w @ shapes) ** 2 / hPh
        out[rows] = 2.0 * ((ll[:, :, None] + gain).max(axis=1) - ll.max(axis=1)[:, None])
    return np.sqrt(np.maximum(out, 0.0))


def mixture_run_gain(codebook: np.ndarray, means: np.ndarray, covs: np.ndarray,
                     Y: np.ndarray, flagged: np.ndarray, runs: list[tuple[int, int]], *,
                     n_units_masked: int = 30, chunk: int = 100) -> np.ndarray:
    """Likelihood ratio of "run ``runs[i]`` of profile ``i`` holds a fault of any size"
    under the mixture of unit models: ``2 [max_u (log N(x; mu_u, C_u) + q_u / 2) - max_u
    log N(x; mu_u, C_u)]``, with ``q_u`` the run's Mahalanobis distance given the other
    levels under unit ``u`` (freeing the run raises the log-likelihood by ``q_u / 2``).
    The same statistic as ``q`` of :func:`run_scores`, but with the unit that explains
    the profile best instead of the best-matching unit.

    Returns
    -------
    array (n,)
    """
    out = np.zeros(Y.shape[0])
    for rows, P, w, ll, same in _unit_fits(codebook, means, covs, Y, flagged,
                                           n_units_masked, chunk):
        gain = np.zeros_like(ll)
        for i, p in enumerate(rows):
            a, b = runs[p]
            Pss = (P[0] if same else P[i])[:, a:b, a:b]
            gs = w[i, :, a:b]
            gain[i] = 0.5 * np.einsum("ui,ui->u", gs,
                                      np.linalg.solve(Pss, gs[:, :, None])[:, :, 0])
        out[rows] = 2.0 * ((ll + gain).max(axis=1) - ll.max(axis=1))
    return out

def segment_scan(codebook: np.ndarray, Y: np.ndarray, model_exclude: np.ndarray, *,
                 n_neighbours: int = 50, n_components: int = 5, max_length: int = 12,
                 threshold_point: float = 3.5, threshold_run: float = 5.0,
                 penalty: float = 3.0, max_runs: int = 3, n_passes: int = 2,
                 screen: float = 8.0, threshold_shape: float | None = None,
                 threshold_mixture: float | None = 4.25,
                 threshold_mixture_inner: float | None = 4.75, confirm_runs: bool = True
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Flag runs of levels that the rest of the profile does not support.

    Parameters
    ----------
    codebook : array (units, m)
        Map codebook in the units of ``Y``.
    Y : array (n, m)
        Profiles (NaN = missing), with the same per-level offset as the map's data.
    model_exclude : bool array (n, m)
        Values flagged by an earlier test: their profiles are left out of the first
        local models (they are not flagged by that alone).
    n_neighbours, n_components : int
        Local models (:func:`unit_models`).
    max_length : int
        Longest run tested, besides the runs that reach the last level.
    threshold_point, threshold_run : float
        Normal-score thresholds for single levels and for longer runs.
    penalty : float
        Per-level penalty when choosing among significant runs.
    max_runs : int
        Runs flagged per profile at most (one per scan).
    n_passes : int
        Passes; each rebuilds the local models without the profiles flagged so far.
    screen : float
        Values more than ``screen`` robust standard deviations (1.4826 MAD across
        profiles) from their level's median are flagged before the scan (missing-value
        codes, gross errors).
    threshold_shape : float or None
        A run of 2 or more levels is also significant when its offset-shaped or
        ramp-shaped part exceeds this normal score (see :func:`run_scores`; None: not
        used).
    threshold_mixture : float or None
        A fault from some level to the bottom (constant offset or linear ramp) is also
        flagged when its mixture-test score (:func:`mixture_scores`) exceeds this
        normal score and beats the best run of the other tests (its ``score ** 2 -
        penalty`` against their ``q - penalty * L``, with ``q`` re-computed as
        :func:`mixture_run_gain`, so that both use the unit that explains the profile
        best); None: not used.
    threshold_mixture_inner : float or None
        The same for offsets and ramps over inner runs of 3-10 levels
        (:func:`inner_hypotheses`); None: not used.
    confirm_runs : bool
        A run of 2 or more levels chosen by ``q`` (best-matching unit) is flagged only
        if its likelihood ratio under the mixture (:func:`mixture_run_gain`, the unit
        that explains the profile best) is also significant: a profile that its
        best-matching unit (nearest in plain distance) fits badly but another unit's
        model fits well is not flagged.

    Returns
    -------
    (flagged, score)
        Flags (n, m), and each profile's largest run score in the first scan of the
        last pass.
    """
    n, m = Y.shape
    runs = segment_runs(m, max_length)
    length = np.array([b - a for a, b in runs])
    thr = np.where(length == 1, threshold_point, threshold_run)
    dev = np.abs(Y - np.nanmedian(Y, axis=0))
    spread = 1.4826 * np.nanmedian(dev, axis=0)
    gross = dev > screen * np.where(spread > 0, spread, np.inf)
    exclude = model_exclude | gross
    flagged = gross
    score = np.full(n, np.nan)
    shapes, shape_runs = bottom_hypotheses(m)
    mix_thr = np.full(len(shape_runs), np.inf if threshold_mixture is None
                      else threshold_mixture)
    if threshold_mixture_inner is not None:
        inner, inner_runs = inner_hypotheses(m)
        shapes = np.concatenate([shapes, inner], axis=1)
        shape_runs = shape_runs + inner_runs
        mix_thr = np.r_[mix_thr, np.full(len(inner_runs), threshold_mixture_inner)]
    use_mixture = bool(np.isfinite(mix_thr).any())
    for _ in range(n_passes):
        means, covs = unit_models(codebook, Y, exclude, n_neighbours=n_neighbours,
                                  n_components=n_components)
        flagged = gross.copy()
        active = np.ones(n, dtype=bool)
        for it in range(max_runs):
            idx = np.flatnonzero(active)
            if not idx.size:
                break
            if threshold_shape is None:
                z, q, dof = run_scores(codebook, means, covs, Y[idx], flagged[idx], runs)
                sig = z > thr[None, :]
            else:
                z, q, dof, zs = run_scores(codebook, means, covs, Y[idx], flagged[idx],
                                           runs, shapes=True)
                sig = (z > thr[None, :]) | (zs > threshold_shape)
            if it == 0:
                score[idx] = z.max(axis=1)
            pick = np.where(sig, q - penalty * dof, -np.inf)
            best = np.argmax(pick, axis=1)
            value = pick[np.arange(idx.size), best]
            chosen = [runs[j] for j in best]
            if confirm_runs or use_mixture:
                cand = np.flatnonzero(np.isfinite(value))
                gain = mixture_run_gain(codebook, means, covs, Y[idx[cand]],
                                        flagged[idx[cand]], [chosen[c] for c in cand])
                fair = np.full(idx.size, -np.inf)
                length_c = np.array([chosen[c][1] - chosen[c][0] for c in cand], dtype=int)
                fair[cand] = gain - penalty * length_c
                if confirm_runs:
                    weak = (length_c > 1) & (_wilson_hilferty(gain, length_c) <= threshold_run)
                    value[cand[weak]] = -np.inf
                    fair[cand[weak]] = -np.inf
            if use_mixture:
                zm = mixture_scores(codebook, means, covs, Y[idx], flagged[idx], shapes)
                excess = zm - mix_thr[None, :]
                jm = np.argmax(excess, axis=1)
                rows_ = np.arange(idx.size)
                wins = (excess[rows_, jm] > 0) & (zm[rows_, jm] ** 2 - penalty > fair)
                for i in np.flatnonzero(wins):
                    chosen[i] = shape_runs[jm[i]]
                value = np.where(wins, np.inf, value)
            hit = value > -np.inf
            for i in np.flatnonzero(hit):
                a, b = chosen[i]
                flagged[idx[i], a:b] = True
            active[idx[~hit]] = False
        exclude = flagged | gross
    return flagged & ~np.isnan(Y), score
