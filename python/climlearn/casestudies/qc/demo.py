"""``climlearn qc demo``: a station network and ocean profiles with injected faults -> SOM
and QARTOD-style QC."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._output import save_figure, write_json
from .classic import classic_qc
from .data import FAULT_TYPES as FAULT_NAMES
from .data import make_network
from .profile_qc import classic_profile_qc, som_profile_qc
from .profiles import make_profiles
from .scores import flag_scores, hour_context
from .som_qc import som_qc

log = logging.getLogger(__name__)

__all__ = ["run_demo"]


def _figure(out: Path, ds, som_flags, classic_flags, station: int) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = ds["temperature"].isel(station=station).values
    t = ds["time"].values / 24.0
    ft = ds["fault_type"].isel(station=station).values
    ok = (x > -40) & (x < 60)
    fig, ax = plt.subplots(2, 1, figsize=(12, 6), sharex=True)
    for a, flags, name in ((ax[0], som_flags, "SOM"), (ax[1], classic_flags, "classic")):
        f = flags.isel(station=station).values
        a.plot(t[ok], x[ok], lw=0.6, color="0.3", label="measured")
        a.plot(t[ok], ds["true_temperature"].isel(station=station).values[ok], lw=0.5,
               color="tab:green", alpha=0.6, label="without faults")
        a.scatter(t[(ft > 0) & ok], x[(ft > 0) & ok], s=18, facecolors="none",
                  edgecolors="tab:red", label="injected fault")
        a.scatter(t[f & ok], x[f & ok], s=5, color="tab:blue", label=f"{name} flag")
        a.set_ylabel("degC")
        a.set_title(f"station {ds['station'].values[station]}: {name} flags "
                    f"(out-of-range values not drawn)")
    ax[0].legend(fontsize=7, ncol=4)
    ax[1].set_xlabel("day")
    fig.tight_layout()
    save_figure(fig, out / "qc_series.png")
    return "qc_series.png"


def _profile_figure(out: Path, ds, som_flags, classic_flags) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ft = ds["fault_type"].values
    z = ds["depth"].values
    picks: list[int] = []
    for code in (1, 2, 3, 3):   # a profile whose only fault is of this type
        only = np.flatnonzero((ft == code).any(axis=1) & ((ft == 0) | (ft == code)).all(1))
        only = [int(i) for i in only if i not in picks]
        if only:
            picks.append(only[0])
    fig, ax = plt.subplots(1, len(picks), figsize=(3.2 * len(picks), 5), sharey=True,
                           squeeze=False)
    ax = ax[0]
    for a, p in zip(ax, picks, strict=True):
        x = ds["temperature"].values[p]
        ok = (x > -2.5) & (x < 40)
        f_s, f_c, bad = som_flags.values[p], classic_flags.values[p], ft[p] > 0
        a.plot(ds["true_temperature"].values[p], z, color="tab:green", lw=1,
               label="without faults")
        a.plot(x[ok], z[ok], color="0.3", lw=0.8, marker=".", ms=3, label="measured")
        a.scatter(x[bad & ok], z[bad & ok], s=40, facecolors="none", edgecolors="tab:red",
                  label="injected fault")
        a.scatter(x[f_s & ok], z[f_s & ok], s=12, color="tab:blue", label="SOM flag")
        a.scatter(x[f_c & ok], z[f_c & ok], s=30, marker="x", color="tab:orange", zorder=3,
                  label="classic flag")
        a.set_title(f"profile {p}: {FAULT_NAMES[int(ft[p][bad].max())]}", fontsize=9)
        a.grid(alpha=0.3)
        a.set_xlabel("degC")
    ax[0].invert_yaxis()
    ax[0].set_ylabel("depth (m)")
    ax[0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out / "qc_profiles.png")
    return "qc_profiles.png"


def _profile_metrics(seed: int, quick: bool) -> tuple[dict[str, Any], tuple]:
    n = 800 if quick else 1500
    ds = make_profiles(n, seed=seed)
    clean = make_profiles(n, seed=seed + 1000, faults=False)
    shape = (12, 12) if quick else (15, 15)
    res = {}
    for name, data in (("faulty", ds), ("clean", clean)):
        q, _ = som_profile_qc(data["temperature"], som_shape=shape, seed=seed)
        c = classic_profile_qc(data["temperature"])
        res[name] = (q, c)
    q, c = res["faulty"]
    truth = (ds["fault_type"].values, ds["fault_size"].values)
    m: dict[str, Any] = {"n_profiles": n, "n_levels": int(ds.sizes["depth"]),
                         "som_shape": list(shape)}
    m["som"] = flag_scores(q["flagged"].values, *truth)
    m["classic"] = flag_scores(c["flagged"].values, *truth)
    m["som_or_classic"] = flag_scores(q["flagged"].values | c["flagged"].values, *truth)
    m["som_loo_only"] = flag_scores(q["flagged_loo"].values, *truth)
    m["som"]["false_flag_rate_clean_data"] = float(res["clean"][0]["flagged"].mean())
    m["som_loo_only"]["false_flag_rate_clean_data"] = float(
        res["clean"][0]["flagged_loo"].mean())
    m["classic"]["false_flag_rate_clean_data"] = float(res["clean"][1]["flagged"].mean())
    qe_f = q["quantization_error"].values
    faulty_prof = (ds["fault_type"].values > 0).any(axis=1)
    m["som"]["median_quantization_error_faulty_clean_profiles"] = [
        float(np.nanmedian(qe_f[faulty_prof])), float(np.nanmedian(qe_f[~faulty_prof]))]
    s = m["som"]
    m["targets"] = {
        "recall_ge_5sigma_ge_0.9": s["recall_ge_5sigma"] >= 0.9,
        "false_flags_clean_le_1pct": s["false_flag_rate_clean_data"] <= 0.01,
        "f1_som_ge_classic": s["f1"] >= m["classic"]["f1"]}
    return m, (ds, q["flagged"], c["flagged"])


def run_demo(out: str | Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run the QC case study; write ``metrics.json`` and a figure into ``out``.

    Parameters
    ----------
    out : path
        Output directory (created).
    quick : bool
        A shorter record (45 instead of 90 days).
    seed : int
        Seed of the data and the SOM.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_days = 45 if quick else 90
    ds = make_network(n_days=n_days, seed=seed)
    clean = make_network(n_days=n_days, seed=seed + 1000, faults=False)
    metrics: dict[str, Any] = {"n_stations": int(ds.sizes["station"]), "n_days": n_days}
    res = {}
    for name, data in (("faulty", ds), ("clean", clean)):
        q, _ = som_qc(data["temperature"], context=hour_context(data["time"].values),
                      seed=seed)
        c = classic_qc(data["temperature"])
        res[name] = (q, c)
    q, c = res["faulty"]
    both = q["flagged"].values | c["flagged"].values
    metrics["som"] = flag_scores(q["flagged"].values, ds["fault_type"].values,
                                 ds["fault_size"].values)
    metrics["classic"] = flag_scores(c["flagged"].values, ds["fault_type"].values,
                                     ds["fault_size"].values)
    metrics["som_or_classic"] = flag_scores(both, ds["fault_type"].values,
                                            ds["fault_size"].values)
    metrics["som"]["false_flag_rate_clean_data"] = float(res["clean"][0]["flagged"].mean())
    metrics["classic"]["false_flag_rate_clean_data"] = float(
        res["clean"][1]["flagged"].mean())
    s = metrics["som"]
    metrics["targets"] = {
        "recall_ge_5sigma_ge_0.9": s["recall_ge_5sigma"] >= 0.9,
        "false_flags_clean_le_1pct": s["false_flag_rate_clean_data"] <= 0.01,
        "f1_som_ge_classic": s["f1"] >= metrics["classic"]["f1"]}
    metrics["seed"] = seed
    metrics["quick"] = quick
    station = int(np.argmax((ds["fault_type"].values == 3).any(axis=1)))
    metrics["figures"] = [_figure(out, ds, q["flagged"], c["flagged"], station)]
    metrics["profiles"], fig_args = _profile_metrics(seed, quick)
    metrics["figures"].append(_profile_figure(out, *fig_args))
    write_json(out / "metrics.json", metrics)
    return metrics
