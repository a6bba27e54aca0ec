"""A small genetic algorithm for feature selection over binary chromosomes.

Population of boolean masks; tournament selection, uniform crossover, bit-flip mutation,
elitism; every distinct chromosome is evaluated once (cache). Fitness is MINIMISED.
All randomness comes from one seeded :class:`numpy.random.Generator`, so the same seed
gives the same selection.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

log = logging.getLogger(__name__)

__all__ = ["GAConfig", "GAResult", "genetic_select"]


@dataclass(frozen=True)
class GAConfig:
    """Settings of :func:`genetic_select`.

    Attributes
    ----------
    population : int
        Chromosomes per generation.
    generations : int
        Number of generations after the initial one.
    tournament : int
        Tournament size of the parent selection.
    crossover_rate : float
        Probability that two parents are recombined (uniform crossover).
    mutation_rate : float or None
        Per-gene flip probability; None means ``1 / n_genes``.
    elitism : int
        Best chromosomes copied unchanged into the next generation.
    init_genes : float
        Expected number of selected genes in a random initial chromosome.
    min_genes, max_genes : int or None
        Chromosomes are repaired (random genes added or dropped) to stay within bounds.
    patience : int or None
        Stop early after this many generations without improvement.
    """

    population: int = 40
    generations: int = 30
    tournament: int = 3
    crossover_rate: float = 0.8
    mutation_rate: float | None = None
    elitism: int = 2
    init_genes: float = 4.0
    min_genes: int = 1
    max_genes: int | None = None
    patience: int | None = 10

    def validate(self, n_genes: int) -> None:
        """Raise ValueError on inconsistent settings."""
        if n_genes < 1:
            raise ValueError(f"need at least 1 gene, got {n_genes}")
        if self.population < 2:
            raise ValueError(f"population must be >= 2, got {self.population}")
        if self.generations < 0:
            raise ValueError(f"generations must be >= 0, got {self.generations}")
        if not 1 <= self.tournament <= self.population:
            raise ValueError(f"tournament must be in [1, population={self.population}], "
                             f"got {self.tournament}")
        if not 0 <= self.elitism < self.population:
            raise ValueError(f"elitism must be in [0, population), got {self.elitism}")
        if not 0.0 <= self.crossover_rate <= 1.0:
            raise ValueError(f"crossover_rate must be in [0, 1], got {self.crossover_rate}")
        if self.mutation_rate is not None and not 0.0 <= self.mutation_rate <= 1.0:
            raise ValueError(f"mutation_rate must be in [0, 1], got {self.mutation_rate}")
        hi = n_genes if self.max_genes is None else self.max_genes
        if not 0 <= self.min_genes <= hi <= n_genes:
            raise ValueError(f"need 0 <= min_genes <= max_genes <= n_genes={n_genes}, got "
                             f"min_genes={self.min_genes}, max_genes={self.max_genes}")


@dataclass
class GAResult:
    """Outcome of :func:`genetic_select`.

    Attributes
    ----------
    best : numpy.ndarray
        Boolean mask of the best chromosome found.
    best_fitness : float
        Its fitness (lower is better).
    history : numpy.ndarray
        Best fitness after each generation (generation 0 = initial population).
    n_evaluations : int
        Distinct chromosomes evaluated (the cache size).
    cache : dict
        Fitness of every evaluated chromosome, keyed by its bytes.
    """

    best: np.ndarray
    best_fitness: float
    history: np.ndarray
    n_evaluations: int
    cache: dict = field(repr=False, default_factory=dict)


def _repair(chrom: np.ndarray, lo: int, hi: int, rng: np.random.Generator) -> np.ndarray:
    on = np.flatnonzero(chrom)
    if on.size > hi:
        chrom[rng.choice(on, on.size - hi, replace=False)] = False
    elif on.size < lo:
        off = np.flatnonzero(~chrom)
        chrom[rng.choice(off, lo - on.size, replace=False)] = True
    return chrom


def genetic_select(fitness: Callable[[np.ndarray], float], n_genes: int,
                   config: GAConfig | None = None, *, seed: int | np.random.Generator = 0,
                   progress: bool | None = None) -> GAResult:
    """Minimise ``fitness(mask)`` over boolean masks of length ``n_genes``.

    Parameters
    ----------
    fitness : callable
        Maps a boolean mask (length ``n_genes``) to a float; lower is better. Called once
        per distinct mask.
    n_genes : int
        Chromosome length (number of candidate features).
    config : GAConfig, optional
        Algorithm settings (defaults: ``GAConfig()``).
    seed : int or numpy.random.Generator
        Source of all randomness.
    progress : bool, optional
        Show a tqdm bar over generations (default: only on a TTY).

    Returns
    -------
    GAResult
    """
    cfg = config or GAConfig()
    cfg.validate(n_genes)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    lo = cfg.min_genes
    hi = n_genes if cfg.max_genes is None else cfg.max_genes
    pm = 1.0 / n_genes if cfg.mutation_rate is None else cfg.mutation_rate
    cache: dict[bytes, float] = {}

    def evaluate(pop: np.ndarray) -> np.ndarray:
        out = np.empty(len(pop))
        for i, chrom in enumerate(pop):
            key = np.packbits(chrom).tobytes()
            if key not in cache:
                value = float(fitness(chrom.copy()))
                if not np.isfinite(value):
                    raise ValueError(f"fitness returned a non-finite value ({value}) for "
                                     f"genes {np.flatnonzero(chrom).tolist()}")
                cache[key] = value
            out[i] = cache[key]
        return out

    p_init = min(max(cfg.init_genes / n_genes, 0.0), 1.0)
    pop = rng.random((cfg.population, n_genes)) < p_init
    pop = np.array([_repair(c, lo, hi, rng) for c in pop])
    fit = evaluate(pop)
    history = [fit.min()]
    stale = 0
    show = sys.stderr.isatty() if progress is None else progress
    for _ in tqdm(range(cfg.generations), desc="GA", disable=not show):
        order = np.argsort(fit, kind="stable")
        children = [pop[i].copy() for i in order[:cfg.elitism]]
        while len(children) < cfg.population:
            parents = []
            for _ in range(2):
                cand = rng.choice(cfg.population, cfg.tournament, replace=False)
                parents.append(pop[cand[np.argmin(fit[cand])]])
            a, b = parents[0].copy(), parents[1].copy()
            if rng.random() < cfg.crossover_rate:
                swap = rng.random(n_genes) < 0.5
                a[swap], b[swap] = parents[1][swap], parents[0][swap]
            for child in (a, b):
                child ^= rng.random(n_genes) < pm
                children.append(_repair(child, lo, hi, rng))
        pop = np.array(children[:cfg.population])
        fit = evaluate(pop)
        best_now = fit.min()
        stale = stale + 1 if best_now >= history[-1] else 0
        history.append(min(best_now, history[-1]))
        if cfg.patience is not None and stale >= cfg.patience:
            log.info("GA stopped after %d generations without improvement", stale)
            break
    keys = list(cache)
    vals = np.array([cache[k] for k in keys])
    best_key = keys[int(np.argmin(vals))]
    best = np.unpackbits(np.frombuffer(best_key, dtype=np.uint8))[:n_genes].astype(bool)
    return GAResult(best=best, best_fitness=float(vals.min()), history=np.array(history),
                    n_evaluations=len(cache), cache=cache)
