"""Evaluation of the mixing emulators: offline skill, online runs, figures.

Metrics (per emulator, see :func:`online_metrics`):

- ``r2_avt``, ``r2_avm``: offline R^2 of log10 avt / avm per interior W level on the
  held-out end of the training period;
- ``stable``: the online run has no non-finite value;
- ``guard_fallback_columns``: columns whose network output was not finite, which the
  host computed with the reference scheme instead (summed over steps; 0 = the network
  alone ran the whole run);
- ``tmean_rmse_K``: RMS over water points (all levels and columns) of the difference of
  the time-mean temperature of the online run with the emulator and of the reference run;
  ``tmean_rmse_by_level_K``;
- heat: the global heat budget residual ``(H_end - H_start) - sum(qsum)`` of each run
  (the vertical scheme conserves heat exactly whatever the coefficients; this checks it),
  relative to the heat input, and the change of heat content of each run;
- cost: seconds per step of the mixing (reference scheme, or features / gather + network
  + scatter), of the network call, and of the rest of the step, with the batch size
  (water columns or interfaces per rank), as wall time and as CPU time of the rank's
  process; the cost target uses the CPU-time ratio (on a shared machine wall time also
  counts waiting for a core).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import physics  # noqa: E402
from .online import OnlineRun  # noqa: E402

log = logging.getLogger(__name__)

__all__ = ["heat_budget", "online_metrics", "plot_profiles", "plot_bias_section"]


def heat_budget(grid: physics.OceanGrid, t_start: np.ndarray, run: OnlineRun) -> dict[str,
                                                                                     float]:
    """Global heat budget of a run over the water columns, J (per unit area summed)."""
    water = grid.mask == 1
    h0 = physics.heat_content(grid, t_start)[water].sum()
    h1 = physics.heat_content(grid, run.t)[water].sum()
    q = run.qsum[water].sum()
    scale = max(np.abs(run.qsum[water]).sum(), 1e-300)
    return {"heat_change_J_m2_sum": float(h1 - h0), "surface_input_J_m2_sum": float(q),
            "budget_residual_J_m2_sum": float(h1 - h0 - q),
            "budget_residual_relative": float((h1 - h0 - q) / scale),
            "heat_content_start_J_m2_sum": float(h0)}


def online_metrics(grid: physics.OceanGrid, t_start: np.ndarray, ref: OnlineRun,
                   emu: OnlineRun, *, pointwise: bool = False) -> dict[str, Any]:
    """Compare an emulator run with the reference run (see the module docstring).
    ``pointwise``: the network's batch is every water interface of the rank (one sample
    per W point), not every water column."""
    water = grid.mask == 1
    finite = bool(np.all(np.isfinite(emu.t[water])) and np.all(np.isfinite(emu.tmean[water])))
    diff = (emu.tmean - ref.tmean)[water]             # (nwater, jpk)
    with np.errstate(invalid="ignore"):
        rmse = float(np.sqrt(np.mean(diff**2)))
        by_level = np.sqrt(np.mean(diff**2, axis=0))
    nwater = int(water.sum())
    ranks = int(emu.info.get("NRANKS", 1))
    return {
        "stable": bool(finite and emu.nonfinite_step == 0),
        "nonfinite_step": emu.nonfinite_step,
        "guard_fallback_columns": emu.guard_fallback_columns,
        "tmean_rmse_K": rmse,
        "tmean_max_abs_err_K": float(np.max(np.abs(diff))),
        "tmean_rmse_by_level_K": [float(v) for v in by_level],
        "sst_tmean_rmse_K": float(by_level[0]),
        "heat_reference": heat_budget(grid, t_start, ref),
        "heat_emulator": heat_budget(grid, t_start, emu),
        "cost": {
            "batch_columns_per_rank": int(np.ceil(nwater / ranks)),
            "network_batch_unit": "interface" if pointwise else "column",
            "network_batch_per_rank": int(np.ceil(nwater / ranks))
            * ((grid.jpk - 1) if pointwise else 1),
            "ranks": ranks,
            "levels": grid.jpk,
            "backend": emu.info.get("BACKEND", "?"),
            "reference_mixing_s_per_step": ref.seconds("MIXING"),
            "emulator_mixing_s_per_step": emu.seconds("MIXING"),
            "emulator_forward_s_per_step": emu.seconds("FORWARD"),
            "rest_of_step_s_per_step": ref.seconds("STEP"),
            "mixing_ratio_emulator_over_reference": emu.seconds("MIXING") / max(
                ref.seconds("MIXING"), 1e-300),
            "step_ratio_emulator_over_reference": (emu.seconds("MIXING") + emu.seconds("STEP"))
            / max(ref.seconds("MIXING") + ref.seconds("STEP"), 1e-300),
            # CPU time of the rank's process: the measure of cost on a shared machine
            "reference_mixing_cpu_s_per_step": ref.seconds("MIXING", cpu=True),
            "emulator_mixing_cpu_s_per_step": emu.seconds("MIXING", cpu=True),
            "emulator_forward_cpu_s_per_step": emu.seconds("FORWARD", cpu=True),
            "mixing_cpu_ratio_emulator_over_reference": emu.seconds("MIXING", cpu=True)
            / max(ref.seconds("MIXING", cpu=True), 1e-300),
        },
    }


def _water_mean(field: np.ndarray, water: np.ndarray) -> np.ndarray:
    return field[water].mean(axis=0)


def plot_profiles(grid: physics.OceanGrid, ref: OnlineRun, emus: dict[str, OnlineRun],
                  path: str | Path) -> Path:
    """Time-mean profiles: basin-mean T, T at three latitude bands, and log10 avt."""
    water = grid.mask == 1
    z, zw = grid.gdept, grid.gdepw[1:-1]
    lat = grid.lat
    bands = [(lat.min(), lat.min() + (lat.max() - lat.min()) / 3),
             (lat.min() + (lat.max() - lat.min()) / 3, lat.min() + 2 * (lat.max() - lat.min())
              / 3), (lat.min() + 2 * (lat.max() - lat.min()) / 3, lat.max() + 1)]
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.5), sharey=True)
    ax = axes[0]
    ax.plot(_water_mean(ref.tmean, water), z, "k-", lw=2, label="reference")
    for name, run in emus.items():
        ax.plot(_water_mean(run.tmean, water), z, "--", label=name)
    ax.set_xlabel("basin-mean T (degC)")
    ax.set_ylabel("depth (m)")
    ax.invert_yaxis()
    ax.legend()
    ax = axes[1]
    for b, (lo, hi) in enumerate(bands):
        sel = water & ((lat >= lo) & (lat < hi))[None, :]
        if not sel.any():
            continue
        ax.plot(ref.tmean[sel].mean(axis=0), z, "-", color=f"C{b}", lw=2,
                label=f"{lo:.0f}-{min(hi, lat.max()):.0f} N ref")
        for name, run in emus.items():
            ax.plot(run.tmean[sel].mean(axis=0), z, "--", color=f"C{b}", label=f"{name}")
    ax.set_xlabel("T (degC), latitude bands")
    ax.legend(fontsize=7)
    ax = axes[2]
    ax.plot(_water_mean(ref.log10_avt_mean, water), zw, "k-", lw=2, label="reference")
    for name, run in emus.items():
        ax.plot(_water_mean(run.log10_avt_mean, water), zw, "--", label=name)
    ax.set_xlabel("time-mean log10 avt (m2 s-1)")
    ax.legend()
    fig.suptitle("Time-mean profiles over the online run")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_bias_section(grid: physics.OceanGrid, ref: OnlineRun, emus: dict[str, OnlineRun],
                      path: str | Path) -> Path:
    """Latitude-depth section of the zonal-mean time-mean T bias (emulator - reference)."""
    water = grid.mask == 1
    lat, z = grid.lat, grid.gdept
    n = max(len(emus), 1)
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4.2), squeeze=False)
    for ax, (name, run) in zip(axes[0], emus.items(), strict=False):
        diff = np.where(water[..., None], run.tmean - ref.tmean, np.nan)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-land rows: NaN
            zonal = np.nanmean(diff, axis=0)          # (jpj, jpk)
        lim = float(np.nanmax(np.abs(zonal))) if np.isfinite(zonal).any() else 1.0
        lim = max(lim, 1e-6)
        pc = ax.pcolormesh(lat, z, zonal.T, cmap="RdBu_r", vmin=-lim, vmax=lim,
                           shading="nearest")
        ax.invert_yaxis()
        ax.set_xlabel("latitude (degrees N)")
        ax.set_ylabel("depth (m)")
        ax.set_title(f"{name}: zonal-mean T bias (K)")
        fig.colorbar(pc, ax=ax)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
