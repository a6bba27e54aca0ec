"""Gap filling of cloudy (time, y, x) stacks: DINEOF and a DINCAE-style autoencoder.

* :func:`cloudy_sst` - synthetic SST stacks with spatially correlated clouds and the truth;
* :func:`dineof` - iterative truncated-EOF reconstruction, number of modes by
  cross-validation (Beckers & Rixen 2003; Alvera-Azcarate et al. 2005);
* :func:`train_cae`, :func:`cae_fill` - a U-Net autoencoder giving a value and a standard
  deviation per pixel, trained self-supervised with a Gaussian likelihood (Barth et al.
  2020);
* :func:`run_demo` - the ``climlearn gapfill demo`` command.

Example
-------
>>> ds = cloudy_sst(ntime=48, cover=0.6, seed=0)
>>> filled = dineof(ds.obs)["filled"]
"""

from __future__ import annotations

from .cae import CAEResult, GapFillCAE, cae_fill, gaussian_nll, train_cae
from .data import check_stack, cloudy_sst
from .dineof import dineof

__all__ = ["CAEResult", "GapFillCAE", "cae_fill", "check_stack", "cloudy_sst", "dineof",
           "gaussian_nll", "run_demo", "train_cae"]


def run_demo(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """See :func:`climlearn.casestudies.gapfill.demo.run_demo`."""
    from .demo import run_demo as _run

    return _run(*args, **kwargs)
