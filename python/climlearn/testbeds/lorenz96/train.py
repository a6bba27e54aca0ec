"""Fit every parametrisation of a config on truth data and export it.

>>> from climlearn.testbeds.lorenz96.config import default_config
>>> results = train_all(default_config(quick=True), x, u, "run/models")
>>> results["poly_ar1"]["spec"]
{'kind': 'poly', 'coeffs': [...], 'phi': ..., 'sigma': ...}
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from climlearn.export import checksum

from .config import L96Config
from .parametrisations import get_parametrisation
from .parametrisations.base import check_truth

log = logging.getLogger(__name__)

__all__ = ["train_all", "SUMMARY_NAME"]

SUMMARY_NAME = "training.json"
"""File written by :func:`train_all` in ``out_dir``: config, data checksum, specs, info."""


def train_all(config: L96Config, x_train: np.ndarray, u_train: np.ndarray,
              out_dir: str | os.PathLike, *, progress: bool = True) -> dict[str, dict]:
    """Fit and export every parametrisation of ``config``.

    Schemes are trained in sorted name order, each with ``config.seed`` (so a scheme's
    result does not depend on which others are in the config).

    Parameters
    ----------
    config
        A validated config (:func:`.config.load_config`, :func:`.config.default_config`).
    x_train, u_train
        Truth ``(ntime, K)``: X and the sub-grid tendency U, consecutive samples every
        0.005 MTU.
    out_dir
        Where each scheme writes its files (``<name>.pt`` for networks, ``<name>.json``
        for all) and where ``training.json`` summarises the run.
    progress
        Progress bars (only on a terminal).

    Returns
    -------
    dict
        ``name -> {"spec": coupling spec, "info": fit information, "param": the fitted
        Parametrisation}``.
    """
    x_train, u_train = check_truth(x_train, u_train)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_sum = checksum(x_train, u_train)
    metadata = {"forcing": config.forcing, "config_seed": config.seed}
    results: dict[str, dict[str, Any]] = {}
    for name in sorted(config.parametrisations):
        start = time.perf_counter()
        options = config.parametrisations[name]
        param = get_parametrisation(name, **{
            k: getattr(options, k) for k in options.__dataclass_fields__})
        log.info("training %s on %d x %d samples", name, *x_train.shape)
        info = param.fit(x_train, u_train, seed=config.seed, progress=progress)
        spec = param.export(out_dir, metadata=metadata)
        info["total_seconds"] = time.perf_counter() - start
        log.info("%s done in %.1f s: %s", name, info["total_seconds"], spec)
        results[name] = {"spec": spec, "info": info, "param": param}

    summary = {
        "config": config.to_dict(),
        "training_data": {"shape": list(x_train.shape), "checksum": data_sum},
        "parametrisations": {n: {"spec": r["spec"], "info": r["info"]}
                             for n, r in results.items()},
    }
    (out_dir / SUMMARY_NAME).write_text(json.dumps(summary, indent=1))
    return results
