"""``climlearn rain-events demo``: generate events, select indicators, classify, report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._output import save_figure, write_json
from .classify import classify_events
from .data import make_events
from .ga import GAConfig
from .metrics import adjusted_rand_index
from .selection import select_indicators

log = logging.getLogger(__name__)

__all__ = ["run_demo"]


def _figures(out: Path, ds, sel, classes) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [str(v) for v in ds["indicator"].values]
    kinds = [str(v) for v in ds["kind"].values]
    colours = {"core": "tab:blue", "redundant": "tab:orange", "noise": "tab:grey"}
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    ax[0].plot(sel.ga.history, marker="o")
    ax[0].set_xlabel("generation")
    ax[0].set_ylabel("best fitness (weighted MSE + penalty)")
    ax[0].set_title(f"genetic selection ({sel.ga.n_evaluations} distinct chromosomes)")
    w = sel.weights.values
    bars = ax[1].bar(range(len(names)), w, color=[colours[k] for k in kinds])
    for i, kept in enumerate(sel.mask.values):
        if kept:
            bars[i].set_edgecolor("red")
            bars[i].set_linewidth(2.5)
    ax[1].set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax[1].set_ylabel("fitness weight (shared information)")
    ax[1].set_title("indicators (red edge = kept; grey = noise, orange = redundant)")
    fig.tight_layout()
    save_figure(fig, out / "selection.png")

    a, b = sel.selected[0], sel.selected[min(1, len(sel.selected) - 1)]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    x = ds["indicators"].sel(indicator=a).values
    y = ds["indicators"].sel(indicator=b).values
    for k, marker in ((0, "o"), (1, "^")):
        m = ds["event_type"].values == k
        ax.scatter(x[m], y[m], c=classes.values[m], cmap="coolwarm", marker=marker, s=14,
                   vmin=0, vmax=1)
    ax.set_xscale("log")
    ax.set_yscale("log" if np.all(y > 0) else "linear")
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title("colour = SOM class, marker = truth (o strat., ^ conv.)")
    fig.tight_layout()
    save_figure(fig, out / "classes.png")
    return ["selection.png", "classes.png"]


def run_demo(out: str | Path, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run the rain-event case study and write ``metrics.json`` and figures into ``out``.

    Parameters
    ----------
    out : path
        Output directory (created).
    quick : bool
        Fewer events and generations (seconds instead of tens of seconds).
    seed : int
        Seed of the data, the SOMs and the genetic algorithm.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_events = 250 if quick else 500
    ga = GAConfig(population=24 if quick else 40, generations=15 if quick else 40)
    ds = make_events(n_events, seed=seed)
    sel = select_indicators(ds["indicators"], som_shape=(6, 6) if quick else (8, 8),
                            ga=ga, seed=seed)
    classes, _ = classify_events(ds["indicators"], sel.selected, n_classes=2, seed=seed)
    kinds = dict(zip([str(v) for v in ds["indicator"].values],
                     [str(v) for v in ds["kind"].values], strict=True))
    ari = adjusted_rand_index(ds["event_type"].values, classes.values)
    all_names = [str(v) for v in ds["indicator"].values]
    cls_all, _ = classify_events(ds["indicators"], all_names, n_classes=2, seed=seed)
    metrics = {
        "n_events": n_events,
        "n_indicators": len(all_names),
        "selected": sel.selected,
        "n_selected": len(sel.selected),
        "selected_kinds": [kinds[s] for s in sel.selected],
        "n_noise_selected": sum(kinds[s] == "noise" for s in sel.selected),
        "n_redundant_selected": sum(kinds[s] == "redundant" for s in sel.selected),
        "reconstruction_mse_selected": sel.reconstruction_mse,
        "reconstruction_mse_all": sel.full_mse,
        "ga_evaluations": sel.ga.n_evaluations,
        "ga_generations": len(sel.ga.history) - 1,
        "ari_selected": ari,
        "ari_all_indicators": adjusted_rand_index(ds["event_type"].values, cls_all.values),
        "targets": {"ari_ge_0.9": ari >= 0.9, "at_most_6_kept": len(sel.selected) <= 6,
                    "no_noise_kept": not any(kinds[s] == "noise" for s in sel.selected)},
        "seed": seed, "quick": quick,
    }
    metrics["figures"] = _figures(out, ds, sel, classes)
    write_json(out / "metrics.json", metrics)
    return metrics
