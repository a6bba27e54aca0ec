"""``climlearn ocean pipeline``: generate, train, export, run online from Fortran, evaluate.

Steps:

1. reference basin run in Fortran (through f90wrap): spin-up, then the training period,
   sampled into ``data/ocean_train.nc`` (CF NetCDF);
2. training of every emulator of the config, exported to ``models/<name>.pt``;
3. online runs of the Fortran host (``run_ocean``, MPI) over ``online_days`` from the
   state at the end of the training period: the reference scheme and each emulator,
   on ``ranks`` ranks; a short emulator run on 1 and 2 ranks checks they agree exactly;
4. ``metrics.json`` and the figures ``profiles.png`` and ``bias_section.png``.
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

from . import config as oc_config
from .data import generate, read_netcdf, write_netcdf
from .emulator_pointwise import PointwiseEmulator
from .emulators import train_all
from .evaluate import online_metrics, plot_bias_section, plot_profiles
from .online import build_host, run_host

log = logging.getLogger(__name__)

__all__ = ["run_pipeline"]


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps(doc, indent=2, default=str))
    os.replace(tmp, path)


def run_pipeline(out: str | Path, *, quick: bool = False,
                 config_path: str | Path | None = None, seed: int | None = None,
                 progress: bool = True) -> dict[str, Any]:
    """Run the whole ocean loop into ``out``; return the metrics dict."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = (oc_config.load_config(config_path) if config_path is not None
           else oc_config.default_config(quick=quick))
    if seed is not None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, given {seed}")
        cfg = dataclasses.replace(cfg, seed=seed)
    g = cfg.grid
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    print(f"[1/4] reference run ({g.jpi}x{g.jpj}x{g.jpk}, dt {cfg.dt:g} s, "
          f"{cfg.spinup_days:g} + {cfg.train_days:g} days)")
    ds, end = generate(cfg, progress=progress)
    data_path = write_netcdf(ds, out / "data" / "ocean_train.nc")
    ds = read_netcdf(data_path)
    timings["data_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    print(f"[2/4] training {', '.join(sorted(cfg.emulators))} on {ds.sizes['sample']} columns")
    fitted = train_all(cfg, ds, out / "models", progress=progress)
    timings["train_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    nsteps = cfg.steps(cfg.online_days)
    print(f"[3/4] online runs in Fortran: {nsteps} steps ({cfg.online_days:g} days), "
          f"{cfg.ranks} rank(s)")
    build_host(out / "host")
    init = {k: end[k] for k in "tuv"}
    common = {"nsteps": nsteps, "dt": cfg.dt, "time0": float(end["time"]), "init": init,
              "ranks": cfg.ranks}
    ref = run_host(g, scheme="reference", **common)
    emus = {name: run_host(g, scheme="ml", model_path=f["path"], **common)
            for name, f in fitted.items()}
    # MPI check: a short emulator run on 1 and 2 ranks
    first = sorted(fitted)[0]
    short = dict(common, nsteps=min(nsteps, 48 if quick else 240))
    one = run_host(g, scheme="ml", model_path=fitted[first]["path"], **dict(short, ranks=1))
    two = run_host(g, scheme="ml", model_path=fitted[first]["path"], **dict(short, ranks=2))
    mpi_identical = all(np.array_equal(getattr(one, k), getattr(two, k))
                        for k in ("tmean", "t", "u", "v", "qsum"))
    timings["online_s"] = time.perf_counter() - t0

    print("[4/4] evaluation")
    doc: dict[str, Any] = {"emulators": {}}
    for name, run in emus.items():
        m = online_metrics(g, end["t"], ref, run,
                           pointwise=isinstance(fitted[name]["emulator"], PointwiseEmulator))
        info = fitted[name]["info"]
        r2 = info["r2_val"]
        m["offline"] = {"r2_log10_avt_by_level": r2[:g.jpk - 1],
                        "r2_log10_avm_by_level": r2[g.jpk - 1:],
                        "val_rmse_log10": info["val_rmse_log10"],
                        "depth_w_m": [float(v) for v in g.gdepw[1:-1]]}
        m["model_path"] = str(fitted[name]["path"])
        m["targets"] = {"stable_1_year": bool(m["stable"] and cfg.online_days >= 360),
                        "tmean_rmse_below_0.1K": bool(m["tmean_rmse_K"] < 0.1),
                        "mixing_cost_within_2x": bool(
                            m["cost"]["mixing_cpu_ratio_emulator_over_reference"] <= 2.0)}
        doc["emulators"][name] = m
    # the selected emulator: the cheapest of those that meet every target (None if none)
    meets = [n for n, m in doc["emulators"].items() if all(m["targets"].values())]
    doc["selected_emulator"] = min(
        meets,
        key=lambda n: doc["emulators"][n]["cost"]["mixing_cpu_ratio_emulator_over_reference"],
        default=None)
    doc["mpi"] = {"ranks_compared": [1, 2], "steps": short["nsteps"], "emulator": first,
                  "identical": bool(mpi_identical)}
    doc["_meta"] = {"quick": quick, "config": cfg.to_dict(), "data_file": str(data_path),
                    "online_steps": nsteps, "online_days": cfg.online_days,
                    "water_columns": int((g.mask == 1).sum()),
                    "training": {n: {k: v for k, v in f["info"].items() if k != "r2_val"}
                                 for n, f in fitted.items()}}
    plot_profiles(g, ref, emus, out / "profiles.png")
    plot_bias_section(g, ref, emus, out / "bias_section.png")
    timings["evaluate_s"] = time.perf_counter() - t0 - timings["online_s"]
    doc["_meta"]["timings"] = timings
    _write_json(out / "metrics.json", doc)
    for name, m in doc["emulators"].items():
        c = m["cost"]
        print(f"  {name}: stable={m['stable']}  time-mean T RMS error "
              f"{m['tmean_rmse_K']:.4f} K (max {m['tmean_max_abs_err_K']:.3f} K)  "
              f"heat budget residual rel. {m['heat_emulator']['budget_residual_relative']:.1e}"
              f" (reference {m['heat_reference']['budget_residual_relative']:.1e})")
        print(f"    cost per step, {c['batch_columns_per_rank']} columns x {c['levels']} "
              f"levels on {c['ranks']} rank(s), network batch {c['network_batch_per_rank']} "
              f"{c['network_batch_unit']}s, backend {c['backend']}: mixing reference "
              f"{c['reference_mixing_s_per_step'] * 1e6:.1f} us, emulator "
              f"{c['emulator_mixing_s_per_step'] * 1e6:.1f} us (network "
              f"{c['emulator_forward_s_per_step'] * 1e6:.1f} us), ratio "
              f"{c['mixing_ratio_emulator_over_reference']:.2f}; whole step ratio "
              f"{c['step_ratio_emulator_over_reference']:.2f}; CPU time: mixing reference "
              f"{c['reference_mixing_cpu_s_per_step'] * 1e6:.1f} us, emulator "
              f"{c['emulator_mixing_cpu_s_per_step'] * 1e6:.1f} us, ratio "
              f"{c['mixing_cpu_ratio_emulator_over_reference']:.2f}")
    print(f"  selected emulator (meets every target, cheapest): {doc['selected_emulator']}")
    print(f"  1 vs 2 ranks identical: {mpi_identical}")
    print(f"wrote {out / 'metrics.json'}, profiles.png, bias_section.png (data "
          f"{timings['data_s']:.0f} s, training {timings['train_s']:.0f} s, online "
          f"{timings['online_s']:.0f} s)")
    return doc
