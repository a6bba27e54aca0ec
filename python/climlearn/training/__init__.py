"""Training at scale: data streamed from NetCDF/Zarr, data-parallel under torchrun.

- :mod:`.data`: lazy xarray datasets read chunk by chunk into ``(inputs, outputs)``.
- :mod:`.sampler`: a seeded sample order that is the same for any number of ranks.
- :mod:`.stats`: per-feature normalisation statistics in one streaming (dask) pass.
- :mod:`.trainer`: :func:`fit`, DDP over gloo when launched by torchrun, best-checkpoint
  keeping, export with :func:`climlearn.export.to_torchscript`.
- :mod:`.config`: the YAML config (:func:`load_train_config`).

>>> from climlearn.training import fit
>>> summary = fit("train.yaml")            # or: climlearn train --config train.yaml
"""

from .config import TrainConfig, load_train_config, parse_train_config
from .data import ChunkedSamples, VariableLayout, open_dataset
from .distributed import DistContext, init_from_env
from .sampler import EpochPlan, iter_local_batches, plan_epoch, rank_streams, split_chunks
from .stats import FeatureStats, feature_stats
from .trainer import BEST_NAME, LAST_NAME, STATS_NAME, SUMMARY_NAME, fit, open_samples

__all__ = [
    "BEST_NAME", "LAST_NAME", "STATS_NAME", "SUMMARY_NAME", "ChunkedSamples", "DistContext",
    "EpochPlan", "FeatureStats", "TrainConfig", "VariableLayout", "feature_stats", "fit",
    "init_from_env", "iter_local_batches", "load_train_config", "open_dataset",
    "open_samples", "parse_train_config", "plan_epoch", "rank_streams", "split_chunks",
]
