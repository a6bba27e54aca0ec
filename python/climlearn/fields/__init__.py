"""Shared toolbox for case studies on sequences of 2-D maps.

Submodules (xarray in and out, dims ``(time, y, x)``, NaN for missing pixels):

``synthetic``
    seeded generators with known truth: power-law random fields, known flows, advected
    sequences (SST), cloud masks, rain cells, suspended matter;
``warp``
    differentiable semi-Lagrangian (bilinear) warping by a motion field (torch);
``motion``
    classical dense optical flow (pyramidal Lucas-Kanade) and extrapolation;
``learned_motion``
    the motion CNN of de Bezenac et al. (2018): end-to-end training and forecasts;
``nets``
    a small U-Net;
``verify``
    MSE/RMSE per lead, CSI/POD/FAR, fractions skill score, Dice, motion error;
``plots``
    sequences and scores as PNG figures.

Motion convention: ``u`` along ``x`` (columns), ``v`` along ``y`` (rows), in pixels per
time step; a feature at ``(y, x)`` moves to ``(y + v, x + u)`` in one step.
"""

from __future__ import annotations

from . import synthetic, verify

__all__ = ["synthetic", "verify"]
