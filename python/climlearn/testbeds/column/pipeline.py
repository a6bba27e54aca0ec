"""``climlearn column pipeline``: reference data, training, export, online Fortran runs
(reference and emulator, MPI), evaluation (metrics.json, PNG figures).

Metrics (``metrics.json``):

- ``offline``: R^2 per level of dT/dt and dq/dt on the held-out end of the reference run;
- ``online``: the emulated run (``years``, ``nonfinite_step``: 0 when it stayed finite),
  the time-mean temperature RMS error over levels and columns against the reference run
  (``t_rms_error_K``, means over steps after ``mean_start_days``), the mean absolute
  column enthalpy residual of the convective tendencies, sum (cp dT + L dq) dp/g in W m-2,
  for the reference scheme, the raw network and the constrained emulator, and the mean
  precipitation;
- ``cost``: seconds per step in the convection scheme, reference and emulator, on one
  rank with ``klon`` columns per call (the batch size), and their ratio;
- ``mpi``: whether 1-rank and 2-rank emulated runs agree exactly (short run).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import config as column_config
from .dagger import emulated_run, label_states
from .data import augment, generate_reference, write_netcdf
from .online import build_host, run_host
from .physics import ColumnGrid
from .train import train_emulator

__all__ = ["run_pipeline", "evaluate_runs"]

log = logging.getLogger(__name__)


def evaluate_runs(ref: dict[str, Any], ml: dict[str, Any], sigma: np.ndarray
                  ) -> dict[str, Any]:
    """Online scores of an emulated run ``ml`` against the reference run ``ref``."""
    diff = ml["tmean"] - ref["tmean"]
    # After a blow-up the host's means cover a shorter, different period: no score.
    finite = bool(np.isfinite(diff).all()) and ml["nonfinite_step"] == 0
    return {
        "nonfinite_step": int(ml["nonfinite_step"]),
        "stable": ml["nonfinite_step"] == 0 and finite,
        "t_rms_error_K": float(np.sqrt(np.mean(diff ** 2))) if finite else float("nan"),
        "t_max_abs_error_K": float(np.abs(diff).max()) if finite else float("nan"),
        "t_rms_error_by_level_K": np.sqrt(np.mean(diff ** 2, axis=0)).tolist(),
        "enthalpy_residual_W_m2": {
            "reference": float(np.mean(ref["resid_mean_abs"])),
            "network_raw": float(np.mean(ml["resid_raw_mean_abs"])),
            "emulator_constrained": float(np.mean(ml["resid_mean_abs"])),
        },
        "precip_mm_day": {"reference": float(np.mean(ref["prmean"]) * 86400),
                          "emulator": float(np.mean(ml["prmean"]) * 86400)},
        "sigma": sigma.tolist(),
    }


def _figures(out: Path, ref: dict[str, Any], ml: dict[str, Any], grid: ColumnGrid) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sig = grid.sigma
    unstable = ml["nonfinite_step"] > 0
    if unstable:  # the means cover a different period: show the reference only
        ml = {k: (v * np.nan if isinstance(v, np.ndarray) else v) for k, v in ml.items()}
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.5), sharey=True)
    for j, (name, scale, unit) in enumerate((("tmean", 1.0, "K"),
                                             ("qmean", 1e3, "g kg-1"),
                                             ("dtconv_mean", 86400.0, "K day-1"))):
        for run, style in ((ref, "-"), (ml, "--")):
            if name in run and np.isfinite(run[name]).all():
                axes[j].plot((run[name] * scale).mean(axis=0), sig, style,
                             label="reference" if run is ref else "emulator")
        axes[j].set_xlabel(f"{name} ({unit})")
    axes[0].invert_yaxis()
    axes[0].set_ylabel("sigma")
    axes[0].legend()
    fig.suptitle("time- and column-mean profiles"
                 + (" (emulated run blew up: not shown)" if unstable else ""))
    fig.tight_layout()
    fig.savefig(out / "profiles.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    bias = ml["tmean"] - ref["tmean"]
    lim = max(float(np.nanmax(np.abs(bias))), 1e-6) if np.isfinite(bias).any() else 1.0
    pc = ax.pcolormesh(grid.lat, sig, bias.T, cmap="RdBu_r", vmin=-lim, vmax=lim,
                       shading="nearest")
    ax.invert_yaxis()
    ax.set_xlabel("latitude (degrees north)")
    ax.set_ylabel("sigma")
    ax.set_title("time-mean temperature bias, emulator - reference (K)")
    fig.colorbar(pc, ax=ax)
    fig.tight_layout()
    fig.savefig(out / "t_bias_section.png", dpi=100)
    plt.close(fig)


def run_pipeline(out: str | os.PathLike, *, quick: bool = False,
                 config_path: str | os.PathLike | None = None,
                 seed: int | None = None) -> dict[str, Any]:
    """Run the whole column loop into ``out``; return the metrics dict."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = (column_config.load_config(config_path) if config_path is not None
           else column_config.default_config(quick=quick))
    if seed is not None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, given {seed}")
        cfg["seed"] = seed
    grid = ColumnGrid(**cfg["grid"])
    dtime = cfg["dtime"]
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    print(f"[1/4] reference run for training data ({cfg['data']['length_days']:g} days, "
          f"{grid.klon} columns x {grid.klev} levels)")
    ds = generate_reference(grid, dtime=dtime, spinup_days=0.0,
                            length_days=cfg["data"]["length_days"],
                            every=cfg["data"]["every"])
    write_netcdf(ds, out / "data" / "reference.nc")
    dcfg = cfg["data"]
    extra = (augment(ds, grid, copies=dcfg["augment_copies"], t_sigma=dcfg["t_sigma"],
                     q_sigma=dcfg["q_sigma"], seed=cfg["seed"])
             if dcfg["augment_copies"] > 0 else None)
    timings["data_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    print(f"[2/4] training the {cfg['emulator']['name']} emulator")
    (out / "models").mkdir(exist_ok=True)
    fit = train_emulator(ds, cfg["emulator"], out / "models" / "convection.pt",
                         seed=cfg["seed"], extra=extra)
    timings["train_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    dg = cfg["dagger"]
    rounds: list[dict[str, Any]] = []
    onpolicy = None
    for r in range(dg["rounds"]):
        nrun = int(round(dg["days"] * 86400 / dtime))
        print(f"[2/4] on-policy round {r + 1}/{dg['rounds']}: emulator online in Python "
              f"for {dg['days']:g} days, states labelled by the reference scheme")
        res = emulated_run(fit["path"], grid, dtime, nrun, every=dg["every"])
        new = label_states(res["t"], res["q"], grid, dtime)
        onpolicy = new if onpolicy is None else xr.concat([onpolicy, new], dim="time")
        em = dict(cfg["emulator"], epochs=dg["epochs"])
        fit = train_emulator(ds, em, out / "models" / "convection.pt", seed=cfg["seed"] + r + 1,
                             extra=extra, onpolicy=onpolicy, init=fit["state"])
        rounds.append({"round": r + 1, "blowup_step_before": int(res["blowup_step"]),
                       "new_samples": int(new.sizes["time"] * new.sizes["lat"]),
                       "r2_dt_mean": fit["r2_dt_mean"], "r2_dq_mean": fit["r2_dq_mean"]})
    timings["dagger_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    onl = cfg["online"]
    nsteps = int(round(onl["days"] * 86400 / dtime))
    mean_start = int(round(onl["mean_start_days"] * 86400 / dtime))
    print(f"[3/4] online runs in Fortran ({onl['days']:g} days, reference and emulator, "
          f"{onl['ranks']} rank(s))")
    exe = build_host(out / "host")
    common = dict(klon=grid.klon, klev=grid.klev, dtime=dtime, nsteps=nsteps,
                  every=max(1, int(round(86400 / dtime))), mean_start=mean_start,
                  lat_min=grid.lat_min, lat_max=grid.lat_max)
    ref = run_host(exe, out / "host", scheme="reference", ranks=onl["ranks"], name="reference",
                   **common)
    ml = run_host(exe, out / "host", scheme="ml", model_path=fit["path"], ranks=onl["ranks"],
                  name="emulator", **common)
    short = dict(common, nsteps=min(nsteps, 96), mean_start=0)
    m1 = run_host(exe, out / "host", scheme="ml", model_path=fit["path"], ranks=1,
                  name="mpi1", **short)
    m2 = run_host(exe, out / "host", scheme="ml", model_path=fit["path"], ranks=2,
                  name="mpi2", **short)
    timings["online_s"] = time.perf_counter() - t0

    print("[4/4] evaluation")
    online = evaluate_runs(ref, ml, grid.sigma)
    online["years"] = nsteps * dtime / (365.0 * 86400.0)
    doc = {
        "offline": {k: v for k, v in fit.items() if k not in ("path", "state")},
        "dagger_rounds": rounds,
        "online": online,
        "cost": {"batch_columns": grid.klon, "ranks": onl["ranks"],
                 "reference_s_per_step": ref["conv_seconds_per_step"],
                 "emulator_s_per_step": ml["conv_seconds_per_step"],
                 "ratio_emulator_over_reference":
                     ml["conv_seconds_per_step"] / ref["conv_seconds_per_step"],
                 # CPU time of the rank's process: the cost on a shared machine (wall
                 # time also counts waiting for a core); the target uses it
                 "reference_cpu_s_per_step": ref["conv_cpu_seconds_per_step"],
                 "emulator_cpu_s_per_step": ml["conv_cpu_seconds_per_step"],
                 "cpu_ratio_emulator_over_reference":
                     ml["conv_cpu_seconds_per_step"] / ref["conv_cpu_seconds_per_step"]},
        "mpi": {"ranks_compared": [1, 2], "steps": short["nsteps"],
                "identical": bool(np.array_equal(m1["tfinal"], m2["tfinal"])
                                  and np.array_equal(m1["qfinal"], m2["qfinal"]))},
        "targets": {"stable_3_years": bool(online["stable"] and online["years"] >= 3),
                    "t_rms_below_0.5K": bool(online["t_rms_error_K"] < 0.5),
                    "cost_within_2x": bool(ml["conv_cpu_seconds_per_step"]
                                           <= 2 * ref["conv_cpu_seconds_per_step"])},
        "_meta": {"quick": quick, "seed": cfg["seed"], "config": cfg,
                  "grid": dataclasses.asdict(grid), "model": fit["path"],
                  "timings": timings},
    }
    _figures(out, ref, ml, grid)
    tmp = out / ".metrics.json.partial"
    tmp.write_text(json.dumps(doc, indent=2, default=str))
    os.replace(tmp, out / "metrics.json")
    o = doc["online"]
    print(f"offline R2 (mean over levels): dT {fit['r2_dt_mean']:.3f}, "
          f"dq {fit['r2_dq_mean']:.3f}")
    print(f"online {o['years']:.2f} years: stable={o['stable']} (nonfinite step "
          f"{o['nonfinite_step']}), time-mean T RMS error {o['t_rms_error_K']:.3f} K")
    print(f"enthalpy residual (W m-2): {o['enthalpy_residual_W_m2']}")
    c = doc["cost"]
    print(f"cost per step ({c['batch_columns']} columns, 1 call): reference "
          f"{c['reference_s_per_step'] * 1e6:.1f} us, emulator "
          f"{c['emulator_s_per_step'] * 1e6:.1f} us (ratio "
          f"{c['ratio_emulator_over_reference']:.2f}); CPU time: reference "
          f"{c['reference_cpu_s_per_step'] * 1e6:.1f} us, emulator "
          f"{c['emulator_cpu_s_per_step'] * 1e6:.1f} us (ratio "
          f"{c['cpu_ratio_emulator_over_reference']:.2f}); 1 vs 2 ranks identical: "
          f"{doc['mpi']['identical']}")
    print(f"wrote {out / 'metrics.json'}, profiles.png, t_bias_section.png")
    return doc
