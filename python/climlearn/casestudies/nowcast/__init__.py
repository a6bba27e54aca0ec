"""Nowcasting of rain cells and of total suspended matter by motion + extrapolation.

Learned motion (the CNN of :mod:`climlearn.casestudies.sst`) and classical motion
(dense Lucas-Kanade) followed by semi-Lagrangian extrapolation, on radar-like rain rate
(cells moving with growth and decay) and on suspended-matter maps with cloud gaps
(motion estimated on observed pixels only). See docs/casestudies_nowcast.md.

>>> from climlearn.casestudies import nowcast
>>> data = nowcast.rain_dataset(36)
>>> net = nowcast.train_nowcaster(data, "rain_rate")
>>> fc = nowcast.nowcast(data.rain_rate.isel(sample=0, time=slice(0, 4)), 6, "rain_rate",
...                      "learned", net)
"""

from __future__ import annotations

from .data import rain_dataset, tsm_dataset
from .forecast import METHODS, evaluate_rain, evaluate_tsm, nowcast, train_nowcaster

__all__ = ["METHODS", "evaluate_rain", "evaluate_tsm", "nowcast", "rain_dataset",
           "train_nowcaster", "tsm_dataset"]
