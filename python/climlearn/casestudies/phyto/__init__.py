"""Phytoplankton pigments and functional types from ocean colour with a NaN-aware SOM.

After El Hourany et al.: a self-organising map learns from samples that join satellite
variables (reflectances, SST, chlorophyll) with mostly missing in-situ pigments, then
retrieves pigments and a class for pixels with only satellite data. See
``docs/casestudies_phyto.md``.
"""

from __future__ import annotations

from .baseline import mean_filled_baseline
from .data import BANDS, PIGMENTS, make_phyto_dataset
from .retrieval import (
    PhytoRetrieval,
    dominant_group,
    fit_phyto,
    log_rmse,
    phyto_features,
    retrieve_pigments,
)

__all__ = ["BANDS", "PIGMENTS", "PhytoRetrieval", "dominant_group", "fit_phyto", "log_rmse",
           "make_phyto_dataset", "mean_filled_baseline", "phyto_features",
           "retrieve_pigments"]
