"""``climlearn ranking demo``: synthetic upwelling models -> SOM and RMSE rankings."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._output import save_figure, write_json
from .data import make_models
from .metrics import spearman
from .rmse import rmse_ranking
from .som_rank import som_ranking

log = logging.getLogger(__name__)

__all__ = ["run_demo", "family_rank_error"]


def family_rank_error(rank: np.ndarray, true_rank: np.ndarray, members: np.ndarray) -> float:
    """Mean absolute difference between a ranking and the true one over ``members``."""
    return float(np.abs(np.asarray(rank) - np.asarray(true_rank))[members].mean())


def _figures(out: Path, ds, som_r, rmse_r) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fam = ds["family"].values
    t = ds["true_rank"].values
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
    for a, (name, r) in zip(ax, (("SOM", som_r["rank"].values),
                                 ("RMSE", rmse_r["rank"].values)), strict=True):
        for f, mk in (("amplitude", "o"), ("phase", "s"), ("position", "^"),
                      ("mixed", "D")):
            m = fam == f
            a.scatter(t[m], r[m], marker=mk, label=f)
        n = len(t)
        a.plot([1, n], [1, n], "k:", lw=1)
        a.set_xlabel("true rank")
        a.set_title(f"{name} ranking (Spearman {spearman(r, t):.2f})")
    ax[0].set_ylabel("rank")
    ax[0].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out / "ranking.png")

    fig, ax = plt.subplots(figsize=(7, 6))
    pc = som_r["pattern_class"].values
    ax.imshow(pc, aspect="auto", cmap="tab10", interpolation="nearest")
    ax.set_yticks(range(pc.shape[0]), [str(v) for v in som_r["dataset"].values],
                  fontsize=7)
    ax.set_xticks(range(12), [str(m) for m in som_r["month"].values])
    ax.set_xlabel("month")
    ax.set_title("SOM class of each monthly pattern (row 0 = observations)")
    fig.tight_layout()
    save_figure(fig, out / "classes.png")

    fig, ax = plt.subplots(1, 3, figsize=(11, 3.6))
    for a, m in zip(ax, (1, 3, 7), strict=True):
        im = a.pcolormesh(ds["lon"], ds["lat"], ds["obs"].sel(month=m), vmin=0, vmax=3,
                          cmap="Blues")
        a.set_title(f"observed upwelling index, month {m}")
    fig.colorbar(im, ax=ax, label="K")
    save_figure(fig, out / "obs_maps.png")
    return ["ranking.png", "classes.png", "obs_maps.png"]


def run_demo(out: str | Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run the model-ranking case study; write ``metrics.json`` and figures into ``out``.

    Parameters
    ----------
    out : path
        Output directory (created).
    quick : bool
        Accepted for a uniform command line; this case study is already small.
    seed : int
        Seed of the noise and of the SOM.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ds = make_models(seed=seed)
    som_r, _ = som_ranking(ds["obs"], ds["models"], som_shape=(8, 8),
                           n_epochs=40, seed=seed)
    rmse_r = rmse_ranking(ds["obs"], ds["models"])
    t = ds["true_rank"].values
    fam = ds["family"].values
    metrics: dict[str, Any] = {
        "n_models": int(ds.sizes["model"]),
        "spearman_som": spearman(som_r["rank"].values, t),
        "spearman_rmse": spearman(rmse_r["rank"].values, t),
        "month_cost_map_units": float(som_r.attrs["month_cost_map_units"]),
        "family_mean_abs_rank_error": {},
        "family_spearman": {},
        "models": {},
    }
    for f in ("amplitude", "phase", "position", "mixed"):
        m = fam == f
        metrics["family_mean_abs_rank_error"][f] = {
            "som": family_rank_error(som_r["rank"].values, t, m),
            "rmse": family_rank_error(rmse_r["rank"].values, t, m)}
        metrics["family_spearman"][f] = {
            "som": spearman(som_r["score"].values[m], ds["true_error"].values[m]),
            "rmse": spearman(rmse_r["rmse"].values[m], ds["true_error"].values[m])}
    for i, name in enumerate(ds["model"].values):
        metrics["models"][str(name)] = {
            "family": str(fam[i]), "amplitude": float(ds["amplitude"].values[i]),
            "phase": float(ds["phase"].values[i]), "dlat": float(ds["dlat"].values[i]),
            "true_rank": int(t[i]), "som_rank": float(som_r["rank"].values[i]),
            "rmse_rank": float(rmse_r["rank"].values[i])}
    ph = metrics["family_mean_abs_rank_error"]["phase"]
    metrics["targets"] = {"spearman_som_ge_0.9": metrics["spearman_som"] >= 0.9,
                          "som_better_than_rmse_on_phase_family": ph["som"] < ph["rmse"]}
    metrics["seed"] = seed
    metrics["quick"] = quick
    metrics["figures"] = _figures(out, ds, som_r, rmse_r)
    write_json(out / "metrics.json", metrics)
    return metrics
