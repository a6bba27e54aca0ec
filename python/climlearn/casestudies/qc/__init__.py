"""Quality control with a SOM next to classic QARTOD-style tests.

:func:`make_network` builds a synthetic station network with injected spikes, stuck
values, drifts and out-of-range values (truth known); :func:`som_qc` flags values that
are inconsistent with the map given the other values of their sample; :func:`classic_qc`
runs gross-range, spike and flat-line tests; :func:`flag_scores` scores flags against
the truth. :func:`make_profiles`, :func:`som_profile_qc` and :func:`classic_profile_qc`
do the same for vertical ocean temperature profiles. See ``docs/casestudies_qc.md``.
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
from .profile_qc import (
                         OCEAN_FAIL_SPAN,
                         OCEAN_SUSPECT_SPAN,
                         classic_profile_qc,
                         repeat_test,
                         som_profile_qc,
)
from .profiles import PROFILE_DEPTHS, inject_profile_faults, make_profiles
from .scores import flag_scores, hour_context
from .segment_scan import segment_scan, unit_models
from .som_qc import loo_residuals, som_qc

__all__ = ["FAIL", "FAULT_TYPES", "MISSING", "NOT_EVALUATED", "OCEAN_FAIL_SPAN",
           "OCEAN_SUSPECT_SPAN", "PASS", "PROFILE_DEPTHS", "SUSPECT", "classic_profile_qc",
           "classic_qc", "flag_scores", "flat_line_test", "gross_range_test", "hour_context",
           "inject_faults", "inject_profile_faults", "loo_residuals", "make_network",
           "make_profiles", "repeat_test", "segment_scan", "som_profile_qc", "som_qc",
           "spike_test", "unit_models"]
