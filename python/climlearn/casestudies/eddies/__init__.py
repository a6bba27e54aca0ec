"""Eddy detection in sea-surface-height maps (EddyNet, Lguensat et al. 2018).

* :func:`eddy_maps` - synthetic SSH maps with Gaussian eddies, the true pixel classes
  (0 background, 1 anticyclonic, 2 cyclonic) and the true eddy list;
* :func:`detect_geometric` - the classical closed-contour detector (baseline);
* :func:`train_eddynet`, :func:`detect_eddynet` - :class:`EddyNet`, a U-Net on the SSH
  and derived channels (:class:`SSHFeatures`), trained with a soft multi-class Dice
  loss (:func:`dice_loss`) plus cross-entropy;
* :func:`export_eddynet` - the trained network as a climlearn TorchScript file;
* :func:`run_demo` - the ``climlearn eddies demo`` command.

Both detectors return a class mask (``xarray.DataArray``, dims ``(time, y, x)``) and a
``pandas.DataFrame`` of eddies with columns ``time, y, x, radius, amplitude, sign``.

Example
-------
>>> maps, truth = eddy_maps(n=300, seed=0)
>>> net = train_eddynet(maps.ssh, maps.classes)
>>> mask, eddies = detect_eddynet(net, new_maps.ssh)
"""

from __future__ import annotations

from .data import ANTICYCLONIC, BACKGROUND, CLASS_NAMES, CYCLONIC, check_maps, eddy_maps
from .geometric import detect_geometric
from .unet import (
    EddyNet,
    EddyNetResult,
    SSHFeatures,
    detect_eddynet,
    dice_loss,
    eddies_from_mask,
    export_eddynet,
    train_eddynet,
)

__all__ = ["ANTICYCLONIC", "BACKGROUND", "CLASS_NAMES", "CYCLONIC", "EddyNet",
           "EddyNetResult", "SSHFeatures", "check_maps", "detect_eddynet", "detect_geometric",
           "dice_loss", "eddies_from_mask", "eddy_maps", "export_eddynet", "run_demo",
           "train_eddynet"]


def run_demo(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """See :func:`climlearn.casestudies.eddies.demo.run_demo`."""
    from .demo import run_demo as _run

    return _run(*args, **kwargs)
