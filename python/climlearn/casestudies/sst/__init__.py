"""SST forecasting by learned motion and warping (de Bezenac, Pajot & Gallinari, ICLR 2018).

A CNN reads the last 4 SST maps and outputs a motion field; the last map is warped by
it (bilinear semi-Lagrangian warping); the CNN is trained end to end on the next-map
error with divergence, smoothness and magnitude penalties; forecasts of 6 leads are
autoregressive. Baselines: persistence and optical flow (Lucas-Kanade) + the same
warping. See docs/casestudies_sst.md.

>>> from climlearn.casestudies import sst
>>> data = sst.sst_dataset(48, ntime=10, size=32)
>>> net = sst.train(data)
>>> fc = sst.forecast(data.sst.isel(sample=0, time=slice(0, 4)), 6, "learned", net)
"""

from __future__ import annotations

from .data import FLOW_KINDS, random_flow, sst_dataset
from .forecast import (
    METHODS,
    SSTConfig,
    evaluate,
    evaluation_mask,
    export_motion_net,
    forecast,
    train,
)

__all__ = ["FLOW_KINDS", "METHODS", "SSTConfig", "evaluate", "evaluation_mask",
           "export_motion_net", "forecast", "random_flow", "sst_dataset", "train"]
