"""Rain-event clustering with genetic indicator selection (Dilmi et al. 2017).

:func:`make_events` generates synthetic convective and stratiform events with N = 23
candidate indicators (core, redundant and pure-noise ones); :func:`select_indicators`
keeps a few by a genetic algorithm whose fitness is the masked-BMU reconstruction of all
N; :func:`classify_events` clusters the events with a SOM on the kept indicators. See
``docs/casestudies_rainevents.md``.
"""

from __future__ import annotations

from .classify import classify_events
from .data import INDICATORS, event_series, make_events
from .ga import GAConfig, GAResult, genetic_select
from .metrics import adjusted_rand_index, contingency
from .selection import (
                        SelectionResult,
                        masked_reconstruction_error,
                        select_indicators,
                        shared_information,
                        standardize,
)

__all__ = ["INDICATORS", "GAConfig", "GAResult", "SelectionResult", "adjusted_rand_index",
           "classify_events", "contingency", "event_series", "genetic_select", "make_events",
           "masked_reconstruction_error", "select_indicators", "shared_information",
           "standardize"]
