"""Self-organising map on torch tensors with first-class missing values (NaN).

Distances and updates use only the observed components of each sample:

* best-matching unit (BMU): ``d2(x, c_k) = s(x) * sum_f w_f m_f (x_f - c_kf)^2`` with
  ``m_f = 1`` where ``x_f`` is observed, feature weights ``w_f`` (default 1) and, when
  ``rescale_missing`` is true, ``s(x) = sum_f w_f / sum_f w_f m_f`` (the inverse weighted
  fraction observed), so that samples with few observed values are not systematically
  closer to every unit;
* batch update: ``c_kf = sum_n h_k(n) m_nf x_nf / sum_n h_k(n) m_nf`` with the Gaussian
  neighbourhood ``h_k(n) = exp(-|r_k - r_bmu(n)|^2 / (2 sigma^2))`` on the map grid; a
  component with no observed value under the neighbourhood keeps its value;
* online update: ``c_kf += lr * h_k(n) * m_nf * (x_nf - c_kf)`` for one sample at a time.

Without missing values these are the classical batch and online SOM.
"""

from __future__ import annotations

import copy
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .cluster import hierarchical_clusters
from .grid import adjacency, check_topology, grid_sq_distances, unit_coords
from .validate import as_matrix


class _threads:
    """Context manager: torch CPU threads set to ``n`` (None: unchanged), then restored."""

    def __init__(self, n: int | None) -> None:
        self.n = n
        self.old = None

    def __enter__(self) -> None:
        if self.n is not None:
            self.old = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc) -> None:
        if self.old is not None:
            torch.set_num_threads(self.old)

log = logging.getLogger(__name__)

MODES = ("batch", "online")
INITS = ("pca", "random")
_CHUNK = 16384


def sigma_schedule(sigma_start: float, sigma_end: float, n_steps: int) -> np.ndarray:
    """Radii decaying exponentially from ``sigma_start`` to ``sigma_end`` in ``n_steps``."""
    if n_steps == 1:
        return np.array([float(sigma_end)])
    t = np.arange(n_steps) / (n_steps - 1)
    return sigma_start * (sigma_end / sigma_start) ** t


class SOM:
    """Self-organising map with missing-value aware training and prediction.

    Parameters
    ----------
    rows, cols
        Map size (``rows * cols`` units, numbered row by row).
    topology
        ``"rectangular"`` or ``"hexagonal"`` grid.
    sigma_start, sigma_end
        Gaussian neighbourhood radius (in grid units) at the first and last epoch (batch)
        or step (online); it decays exponentially. ``sigma_start=None`` means
        ``max(rows, cols) / 2``.
    n_epochs
        Passes over the data.
    mode
        ``"batch"`` (one codebook update per epoch from all samples) or ``"online"``
        (one update per sample, samples shuffled every epoch).
    learning_rate
        Initial learning rate of online training; decays linearly to 1 % of it.
    init
        ``"pca"`` (codebook spread over the plane of the first two principal components
        of the mean-filled data) or ``"random"`` (random samples, missing values filled
        with the feature mean).
    weights
        Per-feature weights of the distance, ``(n_features,)`` positive; default all 1.
    rescale_missing
        Rescale the distance of a partly observed sample by the inverse (weighted)
        fraction of observed components.
    seed
        Seed of the random initialisation and of the online sample order.
    device
        Torch device for the computations (``"cpu"``, ``"cuda"``, ...).
    dtype
        ``torch.float32`` or ``torch.float64``.
    progress
        Show a tqdm bar over epochs (only when stderr is a terminal).
    num_threads
        CPU threads torch uses inside this object's computations (the global setting is
        restored afterwards); None keeps torch's setting. One thread is fastest for small
        maps and on busy machines.
    """

    def __init__(self, rows: int, cols: int, *, topology: str = "rectangular",
                 sigma_start: float | None = None, sigma_end: float = 0.5,
                 n_epochs: int = 20, mode: str = "batch", learning_rate: float = 0.5,
                 init: str = "pca", weights: Any = None, rescale_missing: bool = True,
                 seed: int = 0, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, progress: bool = True,
                 num_threads: int | None = None) -> None:
        if int(rows) != rows or int(cols) != cols or rows < 1 or cols < 1:
            raise ValueError(f"rows and cols must be positive integers, got {rows}x{cols}")
        if rows * cols < 2:
            raise ValueError(f"a map needs at least 2 units, got {rows}x{cols}")
        check_topology(topology)
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; valid: {', '.join(INITS)}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        if int(n_epochs) < 1:
            raise ValueError(f"n_epochs must be >= 1, got {n_epochs}")
        self.rows, self.cols = int(rows), int(cols)
        self.topology = topology
        self.sigma_start = float(max(rows, cols) / 2.0 if sigma_start is None else sigma_start)
        self.sigma_end = float(sigma_end)
        if not (self.sigma_start > 0 and self.sigma_end > 0):
            raise ValueError(f"sigma_start and sigma_end must be > 0, got "
                             f"{self.sigma_start}, {self.sigma_end}")
        self.n_epochs = int(n_epochs)
        self.mode = mode
        self.learning_rate = float(learning_rate)
        self.init = init
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        if self.weights is not None and (self.weights.ndim != 1 or
                                         not np.all(np.isfinite(self.weights)) or
                                         np.any(self.weights <= 0)):
            raise ValueError("weights must be a 1-D array of finite positive numbers, got "
                             f"{self.weights!r}")
        self.rescale_missing = bool(rescale_missing)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.dtype = dtype
        self.progress = progress
        self.num_threads = None if num_threads is None else int(num_threads)
        self.unit_coords = unit_coords(self.rows, self.cols, topology)
        self._g2 = grid_sq_distances(self.unit_coords)
        self._adj = adjacency(self.unit_coords, topology)
        self._codebook: torch.Tensor | None = None
        self.codebook_init_: np.ndarray | None = None
        self.feature_names: list[str] | None = None
        self.n_features: int | None = None
        self.feature_mean_: np.ndarray | None = None

    # ------------------------------------------------------------------ properties
    @property
    def n_units(self) -> int:
        """Number of map units, ``rows * cols``."""
        return self.rows * self.cols

    @property
    def codebook(self) -> np.ndarray:
        """Codebook as a numpy array ``(n_units, n_features)``."""
        self._check_fitted()
        return self._codebook.detach().cpu().numpy().astype(np.float64)

    def _check_fitted(self) -> None:
        if self._codebook is None:
            raise RuntimeError("the SOM is not fitted yet: call fit(X) first")

    def _t(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=self.dtype, device=self.device)

    def _weights(self, n_features: int) -> np.ndarray:
        if self.weights is None:
            return np.ones(n_features)
        if self.weights.shape[0] != n_features:
            raise ValueError(f"weights has {self.weights.shape[0]} entries but the data have "
                             f"{n_features} features")
        return self.weights

    # ------------------------------------------------------------------ init
    def _initial_codebook(self, X: np.ndarray) -> np.ndarray:
        mean = np.nanmean(X, axis=0)
        filled = np.where(np.isnan(X), mean, X)
        if self.init == "random":
            rng = np.random.default_rng(self.seed)
            idx = rng.choice(X.shape[0], size=self.n_units, replace=False)
            return filled[idx].copy()
        centred = filled - mean
        # principal axes of the mean-filled data (eigenvectors of the covariance matrix)
        cov = centred.T @ centred / max(X.shape[0] - 1, 1)
        evals, evecs = np.linalg.eigh(cov)
        order = np.argsort(evals)[::-1]
        n_pc = min(2, X.shape[1])
        vt = evecs[:, order[:n_pc]].T
        vt = vt * np.where(vt[np.arange(n_pc), np.abs(vt).argmax(1)] < 0, -1.0, 1.0)[:, None]
        std = np.sqrt(np.clip(evals[order[:n_pc]], 0.0, None))
        # the longer map side follows the first principal component
        span_c = np.linspace(-1.0, 1.0, self.cols) if self.cols > 1 else np.zeros(1)
        span_r = np.linspace(-1.0, 1.0, self.rows) if self.rows > 1 else np.zeros(1)
        r, c = np.divmod(np.arange(self.n_units), self.cols)
        a1, a2 = (span_c[c], span_r[r]) if self.cols >= self.rows else (span_r[r], span_c[c])
        code = mean + 2.0 * a1[:, None] * std[0] * vt[0]
        if n_pc > 1:
            code = code + 2.0 * a2[:, None] * std[1] * vt[1]
        return code

    # ------------------------------------------------------------------ distances
    def _masked_sq_dist(self, Xt: torch.Tensor, Mt: torch.Tensor, C: torch.Tensor,
                        w: torch.Tensor) -> torch.Tensor:
        """Masked (weighted, rescaled) squared distances ``(n, units)``; X has NaN zeroed."""
        wm = Mt * w
        d2 = ((wm * Xt * Xt).sum(1, keepdim=True) - 2.0 * (wm * Xt) @ C.T
              + wm @ (C * C).T)
        d2 = torch.clamp_min(d2, 0.0)
        if self.rescale_missing:
            d2 = d2 * (w.sum() / wm.sum(1, keepdim=True))
        return d2

    def _prepare(self, X: Any, name: str = "X") -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        self._check_fitted()
        arr, names = as_matrix(X, name)
        if arr.shape[1] != self.n_features:
            raise ValueError(f"{name} has {arr.shape[1]} features but the SOM was fitted on "
                             f"{self.n_features}")
        if names is not None and self.feature_names is not None and names != self.feature_names:
            raise ValueError(f"{name} feature names {names} differ from the fitted ones "
                             f"{self.feature_names}")
        mask = ~np.isnan(arr)
        return self._t(np.where(mask, arr, 0.0)), self._t(mask), arr

    @staticmethod
    def _bmu_operand(Xt: torch.Tensor, Mt: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``[w m x, w m]`` (n, 2F): the sample-dependent part of the masked distance.

        ``d2(x, c_k) = s(x) * (sum_f w m x^2 + [w m x, w m] . [-2 c_k, c_k^2])``; the first
        term and the positive factor ``s(x)`` are the same for every unit, so the BMU is
        the argmin of the single product ``operand @ [-2 C, C^2]^T``.
        """
        wm = Mt * w
        return torch.cat([wm * Xt, wm], dim=1)

    def _bmu_from_operand(self, A: torch.Tensor, C: torch.Tensor, k: int = 1) -> torch.Tensor:
        B = torch.cat([-2.0 * C, C * C], dim=1)
        out = []
        for s in range(0, A.shape[0], _CHUNK):
            score = A[s:s + _CHUNK] @ B.T
            if k == 1:
                out.append(torch.argmin(score, dim=1))
            else:
                out.append(torch.topk(score, k, dim=1, largest=False).indices)
        return torch.cat(out)

    def _bmu_t(self, Xt: torch.Tensor, Mt: torch.Tensor, C: torch.Tensor, w: torch.Tensor,
               k: int = 1) -> torch.Tensor:
        return self._bmu_from_operand(self._bmu_operand(Xt, Mt, w), C, k)

    # ------------------------------------------------------------------ training
    def fit(self, X: Any) -> SOM:
        """Train the map on ``X``.

        Parameters
        ----------
        X
            ``(n_samples, n_features)`` numpy array or DataArray with dims
            ``("sample", "feature")``; NaN marks missing values. Every sample needs one
            observed component and every feature one observed value; ``inf`` is rejected.

        Returns
        -------
        SOM
            ``self``.
        """
        with _threads(self.num_threads):
            return self._fit(X)

    def _fit(self, X: Any) -> SOM:
        """Body of :meth:`fit` (threads already set)."""
        arr, names = as_matrix(X, "X")
        n, f = arr.shape
        if self.n_units > n:
            raise ValueError(f"map of {self.rows}x{self.cols} = {self.n_units} units is too "
                             f"large for {n} samples: use at most {n} units")
        empty_feat = np.flatnonzero(np.isnan(arr).all(axis=0))
        if empty_feat.size:
            raise ValueError(f"X has {empty_feat.size} feature(s) with no observed value, "
                             f"indices: {empty_feat[:10].tolist()}")
        w_np = self._weights(f)
        self.n_features = f
        self.feature_names = names
        self.feature_mean_ = np.nanmean(arr, axis=0)
        code0 = self._initial_codebook(arr)
        self.codebook_init_ = code0.copy()
        mask = ~np.isnan(arr)
        Xt, Mt = self._t(np.where(mask, arr, 0.0)), self._t(mask)
        C = self._t(code0)
        w = self._t(w_np)
        G2 = self._t(self._g2)
        if self.mode == "batch":
            C = self._fit_batch(Xt, Mt, C, w, G2)
        else:
            C = self._fit_online(Xt, Mt, C, w, G2)
        self._codebook = C
        return self

    def _show_progress(self) -> bool:
        return bool(self.progress) and sys.stderr.isatty()

    def _fit_batch(self, Xt, Mt, C, w, G2) -> torch.Tensor:
        sigmas = sigma_schedule(self.sigma_start, self.sigma_end, self.n_epochs)
        MX = Mt * Xt
        K = self.n_units
        A = self._bmu_operand(Xt, Mt, w)
        for sigma in tqdm(sigmas, desc="SOM batch", disable=not self._show_progress()):
            bmu = self._bmu_from_operand(A, C)
            S = torch.zeros((K, Xt.shape[1]), dtype=self.dtype, device=self.device)
            N = torch.zeros_like(S)
            S.index_add_(0, bmu, MX)
            N.index_add_(0, bmu, Mt)
            H = torch.exp(-G2 / (2.0 * float(sigma) ** 2))
            num = H @ S
            den = H @ N
            ok = den > 1e-12 * den.amax().clamp_min(1e-300)
            C = torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), C)
        return C

    def _fit_online(self, Xt, Mt, C, w, G2) -> torch.Tensor:
        # One small update per sample: torch's per-operation overhead dominates at this
        # size, so the loop runs in numpy on the host (same float type) and the result
        # goes back to the device.
        dt = np.float32 if self.dtype == torch.float32 else np.float64
        X = Xt.cpu().numpy().astype(dt)
        M = Mt.cpu().numpy().astype(dt)
        A = (M * w.cpu().numpy().astype(dt))
        A = np.concatenate([A * X, A], axis=1)
        g2 = G2.cpu().numpy().astype(dt)
        code = C.cpu().numpy().astype(dt).copy()
        n = X.shape[0]
        T = self.n_epochs * n
        sigmas = sigma_schedule(self.sigma_start, self.sigma_end, T)
        rng = np.random.default_rng(self.seed)
        t = 0
        for _ in tqdm(range(self.n_epochs), desc="SOM online",
                      disable=not self._show_progress()):
            for i in rng.permutation(n):
                b = int(np.argmin(A[i] @ np.concatenate([-2.0 * code, code * code], 1).T))
                lr = self.learning_rate * (1.0 - 0.99 * t / T)
                h = np.exp(g2[b] * dt(-0.5 / sigmas[t] ** 2)) * dt(lr)
                code += h[:, None] * (M[i] * (X[i] - code))
                t += 1
        return self._t(code)

    # ------------------------------------------------------------------ prediction
    def bmu(self, X: Any) -> np.ndarray:
        """Index of the best-matching unit of each sample (masked distance), ``(n,)`` int."""
        Xt, Mt, arr = self._prepare(X)
        w = self._t(self._weights(arr.shape[1]))
        with _threads(self.num_threads):
            b = self._bmu_t(Xt, Mt, self._codebook, w)
        return b.cpu().numpy().astype(np.int64)

    def predict(self, X: Any) -> np.ndarray:
        """Alias of :meth:`bmu`."""
        return self.bmu(X)

    def transform(self, X: Any) -> np.ndarray:
        """Masked distances (not squared) from each sample to every unit, ``(n, units)``."""
        Xt, Mt, arr = self._prepare(X)
        w = self._t(self._weights(arr.shape[1]))
        with _threads(self.num_threads):
            out = [self._masked_sq_dist(Xt[s:s + _CHUNK], Mt[s:s + _CHUNK], self._codebook, w)
                   for s in range(0, Xt.shape[0], _CHUNK)]
        return torch.sqrt(torch.cat(out)).cpu().numpy().astype(np.float64)

    def _bmu_distances(self, arr: np.ndarray, bmu: np.ndarray) -> np.ndarray:
        """Masked distance of each sample to its BMU computed directly (no expansion)."""
        code = self.codebook[bmu]
        w = self._weights(arr.shape[1])
        obs = ~np.isnan(arr)
        d2 = np.where(obs, (arr - code) ** 2, 0.0) @ w
        if self.rescale_missing:
            d2 = d2 * (w.sum() / (obs @ w))
        return np.sqrt(d2)

    def quantization_error(self, X: Any) -> float:
        """Mean masked distance of the samples to their best-matching units.

        Without missing values and weights this is MiniSom's quantisation error
        (mean Euclidean distance to the BMU).
        """
        b = self.bmu(X)
        arr, _ = as_matrix(X)
        return float(self._bmu_distances(arr, b).mean())

    def topographic_error(self, X: Any) -> float:
        """Fraction of samples whose first and second best-matching units are not adjacent.

        Adjacency: the 8-neighbourhood on rectangular maps, the 6 neighbours on hexagonal
        maps (see :func:`~climlearn.casestudies.som.grid.adjacency`).
        """
        Xt, Mt, arr = self._prepare(X)
        w = self._t(self._weights(arr.shape[1]))
        with _threads(self.num_threads):
            top2 = self._bmu_t(Xt, Mt, self._codebook, w, k=2).cpu().numpy()
        return float(np.mean(~self._adj[top2[:, 0], top2[:, 1]]))

    def impute(self, X: Any, n_iter: int = 1, refit_epochs: int = 5) -> np.ndarray:
        """Fill the missing components of ``X`` from the best-matching units.

        Step 1 (always): find each sample's BMU on its observed components and copy the
        BMU's codebook values into the missing components. With a fixed map, searching the
        BMU again on the completed sample returns the same unit (the filled components
        add zero distance to it), so further passes only help if the map changes: each of
        the ``n_iter - 1`` further passes (ITCOMP-style) fine-tunes a copy of the map on the
        completed data for ``refit_epochs`` batch epochs at the final radius
        ``sigma_end``, then refills the originally missing components from the new BMUs
        (found, as in step 1, on the observed components only). ``self`` is not changed.

        Parameters
        ----------
        X
            Data as for :meth:`fit` (same features).
        n_iter
            Number of fill passes (1 = plain BMU fill).
        refit_epochs
            Batch epochs of each fine-tuning pass.

        Returns
        -------
        numpy.ndarray
            ``X`` with NaN replaced; observed values are unchanged. A DataArray input
            gives a DataArray with the same coordinates.
        """
        if int(n_iter) < 1:
            raise ValueError(f"n_iter must be >= 1, got {n_iter}")
        arr = self._prepare(X)[2]
        miss = np.isnan(arr)
        som = self
        out = arr.copy()
        for it in range(int(n_iter)):
            if it > 0:
                tuned = copy.copy(som)
                with _threads(self.num_threads):
                    tuned._codebook = som._refit(out, refit_epochs)
                som = tuned
            b = som.bmu(arr)
            out = np.where(miss, som.codebook[b], arr)
        return _like_input(X, out)

    def _refit(self, filled: np.ndarray, epochs: int) -> torch.Tensor:
        tuner = copy.copy(self)
        tuner.sigma_start = tuner.sigma_end
        tuner.n_epochs = int(epochs)
        Xt = self._t(filled)
        return tuner._fit_batch(Xt, torch.ones_like(Xt), self._codebook,
                                self._t(self._weights(filled.shape[1])), self._t(self._g2))

    # ------------------------------------------------------------------ clustering, io
    def cluster(self, n_classes: int, method: str = "ward") -> np.ndarray:
        """Hierarchical clustering of the codebook: a class in ``0 .. n_classes-1`` per unit."""
        self._check_fitted()
        if not 1 <= int(n_classes) <= self.n_units:
            raise ValueError(f"n_classes must be in 1..{self.n_units} (number of units), "
                             f"got {n_classes}")
        return hierarchical_clusters(self.codebook, int(n_classes), method)

    def save(self, path: str | Path) -> Path:
        """Write the fitted map to NetCDF (atomically); see :func:`.io.save_som`."""
        from .io import save_som
        return save_som(self, path)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> SOM:
        """Read a map written by :meth:`save`."""
        from .io import load_som
        return load_som(path, device=device)

    def __repr__(self) -> str:
        state = "fitted" if self._codebook is not None else "unfitted"
        return (f"SOM({self.rows}x{self.cols}, {self.topology}, mode={self.mode}, "
                f"n_epochs={self.n_epochs}, {state})")


def _like_input(X: Any, values: np.ndarray) -> Any:
    """Wrap ``values`` like ``X`` (DataArray with the same coords, else numpy)."""
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover
        return values
    if isinstance(X, xr.DataArray):
        Xt = X.transpose("sample", "feature")
        return Xt.copy(data=values)
    return values
