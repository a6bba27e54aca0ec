"""Quality control with a SOM next to classic QARTOD-style tests.

:func:`make_network` builds a synthetic station network with injected spikes, stuck
values, drifts and out-of-range values (truth known); :func:`som_qc` flags values that
are inconsistent with the map given the other values of their sample; :func:`classic_qc`
runs gross-range, spike and flat-line tests; :func:`flag_scores` scores flags against
the truth. See ``docs/casestudies_qc.md``.
"""

from __future__ import annotations

from .classic import (
                      FAIL,
                      MISSING,
                      NOT_EVALUATED,
                      PASS,
                      SUSPECT,
                      classic_qc,
                      flat_line_test,
                      gross_range_test,
                      spike_test,
)
from .data import FAULT_TYPES, inject_faults, make_network
from .scores import flag_scores, hour_context
from .som_qc import loo_residuals, som_qc

__all__ = ["FAIL", "FAULT_TYPES", "MISSING", "NOT_EVALUATED", "PASS", "SUSPECT",
           "classic_qc", "flag_scores", "flat_line_test", "gross_range_test", "hour_context",
           "inject_faults", "loo_residuals", "make_network", "som_qc", "spike_test"]
