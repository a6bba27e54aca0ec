"""The mini-batch training loop of the network parametrisations, and its optimisers.

Seeded end to end: the caller seeds the initial weights (``torch.manual_seed``); the
order of the samples comes from a ``torch.Generator`` seeded here, so two runs with one
seed (and one thread count) give identical weights.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..config import NetworkOptions

log = logging.getLogger(__name__)

__all__ = ["available_optimisers", "make_optimiser", "train_loop"]

_OPTIMISERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": lambda params, lr, wd: torch.optim.Adam(params, lr=lr, weight_decay=wd),
    "adamw": lambda params, lr, wd: torch.optim.AdamW(params, lr=lr, weight_decay=wd),
    "sgd": lambda params, lr, wd: torch.optim.SGD(params, lr=lr, momentum=0.9,
                                                  weight_decay=wd),
}

_EVAL_CHUNK = 65536


def available_optimisers() -> list[str]:
    """Names accepted by :func:`make_optimiser`."""
    return sorted(_OPTIMISERS)


def make_optimiser(name: str, params: Iterable[nn.Parameter], lr: float,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Optimiser ``name`` (adam, adamw, or sgd with momentum 0.9) over ``params``.

    Raises
    ------
    ValueError
        Unknown name; the message lists the valid names.
    """
    try:
        factory = _OPTIMISERS[name]
    except KeyError:
        raise ValueError(f"unknown optimiser {name!r}; valid names are: "
                         f"{', '.join(available_optimisers())}") from None
    return factory(params, lr, weight_decay)


def _mse(net: nn.Module, x: Tensor, y: Tensor) -> float:
    """Mean squared error of ``net`` on ``(x, y)``, evaluated in chunks, no gradients."""
    net.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), _EVAL_CHUNK):
            d = net(x[i:i + _EVAL_CHUNK]) - y[i:i + _EVAL_CHUNK]
            total += float(torch.sum(d * d))
    return total / max(1, y.numel())


def train_loop(net: nn.Module, *, n_train: int, get_batch: Callable[[Tensor],
               tuple[Tensor, Tensor]], x_val: Tensor, y_val: Tensor,
               options: NetworkOptions, seed: int, progress: bool = True,
               desc: str = "training") -> dict[str, Any]:
    """Train ``net`` by mini-batch MSE; keep and restore the best validation checkpoint.

    Parameters
    ----------
    net
        The network, its weights already initialised (seeded by the caller).
    n_train
        Number of training samples; samples are addressed by index ``0 .. n_train-1``.
    get_batch
        Maps a 1-D tensor of sample indices to standardised ``(inputs, targets)``.
    x_val, y_val
        Standardised validation inputs and targets.
    options
        Epochs, batch size, learning rate, weight decay, optimiser, schedule, patience,
        and ``max_samples`` (samples drawn without replacement per epoch).
    seed
        Seeds the order of the samples.
    progress
        Show a tqdm bar with the losses (only on a terminal).
    desc
        Label of the bar.

    Returns
    -------
    dict
        ``epochs_run``, ``best_epoch`` (0: the initial weights were never beaten),
        ``best_val_loss``, ``final_train_loss``, ``final_val_loss``, ``stopped_early``,
        ``history`` (per-epoch train and validation MSE, standardised units),
        ``seconds``.
    """
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(int(seed))
    opt = make_optimiser(options.optimiser, net.parameters(), options.lr,
                         options.weight_decay)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=options.epochs)
             if options.schedule == "cosine" else None)
    per_epoch = min(options.max_samples, n_train)
    bs = options.batch_size

    best = _mse(net, x_val, y_val)
    best_state = copy.deepcopy(net.state_dict())
    best_epoch, wait, stopped_early = 0, 0, False
    history: dict[str, list[float]] = {"train": [], "val": []}
    train_loss = val_loss = math.nan
    bar = tqdm(range(1, options.epochs + 1), desc=desc, disable=None if progress else True,
               leave=False)
    for epoch in bar:
        net.train()
        order = torch.randperm(n_train, generator=gen)[:per_epoch]
        total = 0.0
        for i in range(0, per_epoch, bs):
            xb, yb = get_batch(order[i:i + bs])
            loss = torch.mean((net(xb) - yb) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(yb)
        if sched is not None:
            sched.step()
        train_loss = total / per_epoch
        val_loss = _mse(net, x_val, y_val)
        history["train"].append(train_loss)
        history["val"].append(val_loss)
        bar.set_postfix(train=f"{train_loss:.3e}", val=f"{val_loss:.3e}",
                        best=f"{min(best, val_loss):.3e}")
        if not math.isfinite(train_loss):
            log.warning("%s: training loss is %s at epoch %d; stopping", desc, train_loss,
                        epoch)
            stopped_early = True
            break
        if val_loss < best:
            best, best_epoch, wait = val_loss, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            wait += 1
            if wait >= options.patience:
                stopped_early = True
                log.info("%s: no lower validation loss for %d epochs; stopping at epoch "
                         "%d (best epoch %d)", desc, wait, epoch, best_epoch)
                break
    bar.close()
    net.load_state_dict(best_state)
    net.eval()
    return {
        "epochs_run": len(history["val"]),
        "best_epoch": best_epoch,
        "best_val_loss": best,
        "final_train_loss": train_loss,
        "final_val_loss": val_loss,
        "stopped_early": stopped_early,
        "history": history,
        "seconds": time.perf_counter() - start,
    }
