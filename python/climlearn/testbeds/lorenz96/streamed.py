"""Thin adapter: train ``mlp_local`` with the generic streaming/DDP trainer.

The Lorenz 96 trainer (:mod:`.train`) holds the truth in memory. For truth runs too long
for that, or to train data-parallel, :func:`streamed_config` turns the options of
``mlp_local`` into a :class:`climlearn.training.TrainConfig` over the truth NetCDF file
(``X(time, k)`` -> ``U(time, k)``, every ``(time, k)`` a sample), to pass to
:func:`climlearn.training.fit` or to write as YAML for
``torchrun --nproc-per-node 2 -m climlearn train --config FILE``.

Differences from :mod:`.train`: every training sample is used each epoch (no
``max_samples``), the global batch is rounded down to a multiple of ``streams``, the
validation split is by whole chunks at the end of the record, and no residual noise is
fitted. The exported file takes ``x`` of shape ``(batch, 1)`` (the ``X_k``) and returns
``y`` ``(batch, 1)``, as ``mlp_local`` does.
"""

from __future__ import annotations

import os
from pathlib import Path

from climlearn.training import TrainConfig, parse_train_config

from .config import NetworkOptions, NonlocalNetworkOptions

__all__ = ["streamed_config"]


def streamed_config(truth: str | os.PathLike, options: NetworkOptions | None = None, *,
                    seed: int = 0, out_dir: str | os.PathLike = "run_streamed",
                    chunk_size: int | None = None, streams: int = 2,
                    model_file: str = "mlp_local.pt") -> TrainConfig:
    """A generic training config equivalent to ``mlp_local`` with ``options``.

    Parameters
    ----------
    truth
        Truth NetCDF file(s) (a path or glob) with ``X`` and ``U`` on ``(time, k)``.
    options
        Options of ``mlp_local`` (default: its defaults).
    seed, out_dir, model_file
        Seed, run folder and exported file name.
    chunk_size, streams
        Time steps per chunk (None: the file's chunking) and sample streams (a multiple
        of the number of ranks).

    Raises
    ------
    ValueError
        ``mlp_nonlocal`` options (the stencil is not a variable of the file), residual
        noise, or a batch smaller than ``streams``.
    """
    options = options or NetworkOptions()
    if isinstance(options, NonlocalNetworkOptions) or options.stencil_halfwidth:
        raise ValueError("the streamed trainer takes mlp_local options only: the stencil of "
                         "mlp_nonlocal is not a variable of the truth file")
    if options.noise != "none":
        raise ValueError(f"noise {options.noise!r} is not fitted by the streamed trainer; "
                         "use noise 'none'")
    batch = options.batch_size - options.batch_size % streams
    if batch == 0:
        raise ValueError(f"batch_size {options.batch_size} is smaller than streams {streams}")
    return parse_train_config({
        "seed": seed,
        "data": {"paths": [str(Path(truth))], "sample_dims": ["time", "k"],
                 "inputs": ["X"], "outputs": ["U"], "chunk_size": chunk_size,
                 "validation_fraction": options.val_fraction, "streams": streams},
        "model": {"name": "mlp", "options": {"hidden": list(options.hidden),
                                              "activation": options.activation}},
        "training": {"epochs": options.epochs, "batch_size": batch, "lr": options.lr,
                     "weight_decay": options.weight_decay, "optimiser": options.optimiser,
                     "schedule": options.schedule, "patience": options.patience,
                     "dtype": options.dtype},
        "output": {"dir": str(out_dir), "model_file": model_file},
    }, source="lorenz96.streamed_config")
