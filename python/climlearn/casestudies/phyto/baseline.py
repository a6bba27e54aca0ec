"""Reference retrieval: a SOM trained on mean-filled data (MiniSom when installed).

The features are standardised exactly as in :mod:`.retrieval`; every missing value is
replaced by its feature mean (0 after standardisation) before training, and a pixel
without pigments is mean-filled the same way before its best-matching unit is searched.
MiniSom (``pip install minisom``, the ``bench`` extra) trains online for ``n_epochs``
passes over the data (``train(..., use_epochs=True, random_order=True)``), radius from
``max(rows, cols) / 2`` decaying linearly to 1, learning rate 0.5, PCA initialisation.
Without MiniSom the climlearn SOM is trained on the same mean-filled data instead.
"""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from ..som import SOM
from .data import PIGMENTS
from .retrieval import phyto_features

log = logging.getLogger(__name__)


def have_minisom() -> bool:
    """Whether MiniSom can be imported."""
    try:
        import minisom  # noqa: F401
    except ImportError:
        return False
    return True


def mean_filled_baseline(train: xr.Dataset, test: xr.Dataset, *, rows: int = 12,
                         cols: int = 12, n_epochs: int = 30, topology: str = "hexagonal",
                         seed: int = 0, engine: str = "auto") -> dict:
    """Train a SOM on mean-filled data; retrieve test pigments and impute training gaps.

    Parameters
    ----------
    train, test
        Datasets as for :func:`~.retrieval.fit_phyto` (``test`` needs only the satellite
        variables).
    rows, cols, n_epochs, topology, seed
        Map settings.
    engine
        ``"minisom"``, ``"climlearn"`` (our SOM on the mean-filled data) or ``"auto"``
        (MiniSom when installed).

    Returns
    -------
    dict
        ``engine`` (the one used), ``test_pigments`` (n_test, n_pigments) mg m-3,
        ``train_pigments`` (n_train, n_pigments) mg m-3 (observed values kept).
    """
    engines = ("auto", "minisom", "climlearn")
    if engine not in engines:
        raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(engines)}")
    if engine == "auto":
        engine = "minisom" if have_minisom() else "climlearn"
    F = phyto_features(train, with_pigments=True).values
    mu = np.nanmean(F, axis=0)
    sd = np.nanstd(F, axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = np.nan_to_num((F - mu) / sd, nan=0.0)
    n_pig = len(PIGMENTS)
    Ft = phyto_features(test, with_pigments=False).values
    Zt = np.concatenate([np.nan_to_num((Ft - mu[:-n_pig]) / sd[:-n_pig], nan=0.0),
                         np.zeros((Ft.shape[0], n_pig))], axis=1)
    if engine == "minisom":
        from minisom import MiniSom

        m = MiniSom(rows, cols, Z.shape[1], sigma=max(rows, cols) / 2.0, learning_rate=0.5,
                    sigma_decay_function="linear_decay_to_one", topology=topology,
                    random_seed=seed)
        m.pca_weights_init(Z)
        m.train(Z, n_epochs, use_epochs=True, random_order=True)
        W = m.get_weights().reshape(rows * cols, -1)

        def bmu(A):
            d2 = (A ** 2).sum(1)[:, None] - 2 * A @ W.T + (W ** 2).sum(1)[None]
            return np.argmin(d2, axis=1)
    else:
        som = SOM(rows, cols, topology=topology, n_epochs=n_epochs, sigma_end=1.0,
                  seed=seed, progress=False, num_threads=1).fit(Z)
        W = som.codebook
        bmu = som.bmu
    test_pig = 10.0 ** (W[bmu(Zt), -n_pig:] * sd[-n_pig:] + mu[-n_pig:])
    train_fill = 10.0 ** (W[bmu(Z), -n_pig:] * sd[-n_pig:] + mu[-n_pig:])
    obs = train["pigments"].transpose("sample", "pigment").values
    train_pig = np.where(np.isnan(obs), train_fill, obs)
    return {"engine": engine, "test_pigments": test_pig, "train_pigments": train_pig}
