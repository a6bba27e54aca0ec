"""Climate-model ranking with a SOM on seasonal cycles (as for CMIP5 upwelling off Senegal).

:func:`make_models` builds a synthetic observed upwelling climatology and ~20 models with
known amplitude, phase and position errors (hence a known ranking); :func:`som_ranking`
ranks models by the optimal-transport distance between the SOM classification of their
monthly patterns and the observations'; :func:`rmse_ranking` is the plain baseline. See
``docs/casestudies_ranking.md``.
"""

from __future__ import annotations

from .data import default_model_errors, make_models, true_error, upwelling_field
from .inputs import check_climatologies
from .metrics import rankdata, spearman
from .rmse import rmse_ranking
from .som_rank import som_ranking
from .transport import optimal_assignment, transport_distance

__all__ = ["check_climatologies", "default_model_errors", "make_models", "rankdata",
           "optimal_assignment", "rmse_ranking", "som_ranking", "spearman", "true_error",
           "transport_distance", "upwelling_field"]
