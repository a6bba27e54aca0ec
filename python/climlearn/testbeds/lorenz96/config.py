"""Configuration of the Lorenz 96 parametrisation experiments, read from YAML.

A config has three top-level keys::

    seed: 0              # one seed for numpy and torch, recorded in every exported file
    forcing: 20.0        # F of the two-scale truth the parametrisations are trained on
    parametrisations:    # scheme name -> options (null or {} takes the defaults)
      mlp_local: {hidden: [64, 64], epochs: 60}
      mlp_nonlocal: {halfwidth: 2}
      poly: {degree: 4}
      poly_ar1: {degree: 3}

Valid scheme names and their options are the dataclasses in :data:`SCHEME_OPTIONS`.
Every problem in a config (unknown scheme or key, wrong type, value out of range,
invalid YAML, missing file) raises a ``ValueError`` (``FileNotFoundError`` for a missing
file) that names the key, what was expected and what was given.

The defaults ship as ``configs/full.yaml`` and ``configs/quick.yaml`` next to this
module; :func:`default_config` loads them.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ACTIVATIONS", "DTYPES", "NOISE_KINDS", "OPTIMISERS", "SCHEDULES", "SCHEME_OPTIONS",
    "L96Config", "NetworkOptions", "NonlocalNetworkOptions", "PolyOptions",
    "PolyAR1Options", "CONFIG_DIR", "default_config", "dump_config", "load_config",
    "parse_config", "parse_options",
]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
"""Folder of the shipped default configs (``full.yaml``, ``quick.yaml``)."""

ACTIVATIONS = ("elu", "gelu", "relu", "silu", "tanh")
"""Activations of :class:`climlearn.models.MLP`."""
OPTIMISERS = ("adam", "adamw", "sgd")
"""Optimiser names (see :mod:`.parametrisations.training`)."""
SCHEDULES = ("none", "cosine")
"""Learning-rate schedules: constant, or cosine annealing to zero over ``epochs``."""
DTYPES = ("float32", "float64")
"""Network dtypes (that of the exported file)."""
NOISE_KINDS = ("none", "ar1")
"""Residual noise attached to a network: none, or additive AR(1) fitted on residuals."""


# ---- options of each scheme ----------------------------------------------------------

def _positive(v: Any) -> bool:
    return v > 0


def _non_negative(v: Any) -> bool:
    return v >= 0


@dataclass(frozen=True)
class NetworkOptions:
    """Options of ``mlp_local``: an MLP ``U_k = f(X_k)``.

    Attributes
    ----------
    hidden
        Widths of the hidden layers (an empty list gives a linear model).
    activation
        One of :data:`ACTIVATIONS`.
    epochs
        Maximum number of epochs (>= 1).
    batch_size
        Mini-batch size (>= 1).
    lr
        Initial learning rate (> 0).
    weight_decay
        L2 penalty of the optimiser (>= 0).
    optimiser
        One of :data:`OPTIMISERS`.
    schedule
        Learning-rate schedule, one of :data:`SCHEDULES`.
    patience
        Early stopping: stop after this many epochs without a lower validation loss (>= 1).
    max_samples
        Training samples ``(t, k)`` drawn (without replacement) per epoch, and cap of the
        validation samples; keeps epochs short on long truth runs (>= 1).
    val_fraction
        Fraction of the time series held out, at its END, for validation (0 < f < 1).
    dtype
        ``float32`` or ``float64``: the network's and the exported file's dtype.
    noise
        ``none`` or ``ar1`` (additive AR(1) noise fitted on the training residuals).
    """

    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    epochs: int = 60
    batch_size: int = 2048
    lr: float = 3e-3
    weight_decay: float = 0.0
    optimiser: str = "adam"
    schedule: str = "cosine"
    patience: int = 10
    max_samples: int = 200_000
    val_fraction: float = 0.1
    dtype: str = "float32"
    noise: str = "none"

    @property
    def stencil_halfwidth(self) -> int:
        """Half-width ``s`` of the input stencil ``X_{k-s..k+s}`` (0 for ``mlp_local``)."""
        return 0


@dataclass(frozen=True)
class NonlocalNetworkOptions(NetworkOptions):
    """Options of ``mlp_nonlocal``: those of :class:`NetworkOptions` plus ``halfwidth``.

    Attributes
    ----------
    halfwidth
        The network sees the cyclic stencil ``X_{k-s}, ..., X_{k+s}``, ``s = halfwidth``
        (>= 0; ``2 s + 1`` must not exceed K, checked when fitting).
    """

    halfwidth: int = 2

    @property
    def stencil_halfwidth(self) -> int:
        return self.halfwidth


@dataclass(frozen=True)
class PolyOptions:
    """Options of ``poly`` (Wilks 2005): deterministic least-squares polynomial ``U(X)``.

    Attributes
    ----------
    degree
        Polynomial degree (1 to 12).
    """

    degree: int = 4


@dataclass(frozen=True)
class PolyAR1Options:
    """Options of ``poly_ar1`` (Arnold et al. 2013): polynomial plus additive AR(1) noise.

    Attributes
    ----------
    degree
        Polynomial degree (1 to 12).
    """

    degree: int = 3


SCHEME_OPTIONS: dict[str, type] = {
    "mlp_local": NetworkOptions,
    "mlp_nonlocal": NonlocalNetworkOptions,
    "poly": PolyOptions,
    "poly_ar1": PolyAR1Options,
}
"""Scheme name -> options dataclass. The parametrisation registry uses the same names."""

# Per option: (expected type, extra check or None, description of the valid values).
_RULES: dict[str, tuple[type, Any, str]] = {
    "hidden": (tuple, None, "a list of positive integers"),
    "activation": (str, ACTIVATIONS, f"one of {list(ACTIVATIONS)}"),
    "epochs": (int, _positive, "an integer >= 1"),
    "batch_size": (int, _positive, "an integer >= 1"),
    "lr": (float, _positive, "a number > 0"),
    "weight_decay": (float, _non_negative, "a number >= 0"),
    "optimiser": (str, OPTIMISERS, f"one of {list(OPTIMISERS)}"),
    "schedule": (str, SCHEDULES, f"one of {list(SCHEDULES)}"),
    "patience": (int, _positive, "an integer >= 1"),
    "max_samples": (int, _positive, "an integer >= 1"),
    "val_fraction": (float, lambda v: 0 < v < 1, "a number strictly between 0 and 1"),
    "dtype": (str, DTYPES, f"one of {list(DTYPES)}"),
    "noise": (str, NOISE_KINDS, f"one of {list(NOISE_KINDS)}"),
    "halfwidth": (int, _non_negative, "an integer >= 0"),
    "degree": (int, lambda v: 1 <= v <= 12, "an integer from 1 to 12"),
}


def _type_name(value: Any) -> str:
    return type(value).__name__


def _convert(key: str, value: Any, where: str) -> Any:
    """Check and convert one option value; ValueError naming expected and given."""
    kind, check, expected = _RULES[key]
    bad = ValueError(f"{where}: option {key!r} must be {expected}, given {value!r} "
                     f"({_type_name(value)})")
    if kind is int:
        # bool is an int in Python; true/false in YAML is never a count.
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
    elif kind is float:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, str):
            # PyYAML reads 1e-3 (no dot) as a string: accept numeric strings.
            try:
                value = float(value)
            except ValueError:
                raise bad from None
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise bad
        value = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise bad
    elif kind is tuple:
        if not isinstance(value, list | tuple) or any(
                isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in value):
            raise bad
        return tuple(int(h) for h in value)
    if isinstance(check, tuple):
        if value not in check:
            raise bad
    elif check is not None and not check(value):
        raise bad
    return value


def parse_options(scheme: str, options: Mapping[str, Any] | None,
                  where: str | None = None) -> Any:
    """Validated options dataclass of ``scheme`` from a mapping (None: defaults).

    Parameters
    ----------
    scheme
        A name in :data:`SCHEME_OPTIONS`.
    options
        Option name -> value; missing options take their defaults.
    where
        Prefix of error messages (default ``parametrisations.<scheme>``).

    Raises
    ------
    ValueError
        Unknown scheme (lists the valid ones), unknown option (lists the valid keys),
        wrong type or value out of range (names expected and given).
    """
    where = where or f"parametrisations.{scheme}"
    if scheme not in SCHEME_OPTIONS:
        raise ValueError(f"unknown parametrisation {scheme!r}; valid names are: "
                         f"{', '.join(sorted(SCHEME_OPTIONS))}")
    cls = SCHEME_OPTIONS[scheme]
    if options is None:
        options = {}
    if isinstance(options, cls):
        return options
    if not isinstance(options, Mapping):
        raise ValueError(f"{where}: expected a mapping of options (or null), given "
                         f"{options!r} ({_type_name(options)})")
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(str(k) for k in options if k not in valid)
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {unknown}; valid keys for {scheme!r} "
                         f"are {valid}")
    values = {k: _convert(k, v, where) for k, v in options.items()}
    return cls(**values)


# ---- the whole config ----------------------------------------------------------------

@dataclass(frozen=True)
class L96Config:
    """A validated experiment config.

    Attributes
    ----------
    seed
        Seed of numpy and torch (>= 0); every scheme is trained with it.
    forcing
        Forcing F of the truth (recorded in the exported files).
    parametrisations
        Scheme name -> options dataclass, in the order of the file.
    source
        Where the config came from (a path, ``<dict>``), for messages.
    """

    seed: int = 0
    forcing: float = 20.0
    parametrisations: dict[str, Any] = field(default_factory=dict)
    source: str = "<dict>"

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (as in the YAML file, defaults filled in); round-trips through
        :func:`parse_config`."""
        schemes = {}
        for name, opts in self.parametrisations.items():
            d = dataclasses.asdict(opts)
            schemes[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
        return {"seed": self.seed, "forcing": self.forcing, "parametrisations": schemes}


_TOP_KEYS = ("seed", "forcing", "parametrisations")


def parse_config(data: Any, source: str = "<dict>") -> L96Config:
    """Validate a mapping (as read from YAML) into an :class:`L96Config`.

    ``seed`` defaults to 0 and ``forcing`` to 20; ``parametrisations`` is required and
    must name at least one scheme.

    Raises
    ------
    ValueError
        The first problem found, naming the key, the expected and the given value.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: a config must be a mapping with keys {list(_TOP_KEYS)}, "
                         f"given {_type_name(data)}")
    unknown = sorted(str(k) for k in data if k not in _TOP_KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown top-level key(s) {unknown}; valid keys are "
                         f"{list(_TOP_KEYS)}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"{source}: 'seed' must be an integer >= 0, given {seed!r} "
                         f"({_type_name(seed)})")
    forcing = data.get("forcing", 20.0)
    if isinstance(forcing, str):
        try:
            forcing = float(forcing)
        except ValueError:
            pass
    if (isinstance(forcing, bool) or not isinstance(forcing, int | float)
            or not math.isfinite(forcing)):
        raise ValueError(f"{source}: 'forcing' must be a finite number, given {forcing!r} "
                         f"({_type_name(forcing)})")
    if "parametrisations" not in data:
        raise ValueError(f"{source}: missing key 'parametrisations' (a mapping of scheme "
                         f"name -> options; valid names are "
                         f"{', '.join(sorted(SCHEME_OPTIONS))})")
    schemes = data["parametrisations"]
    if not isinstance(schemes, Mapping) or not schemes:
        raise ValueError(f"{source}: 'parametrisations' must be a non-empty mapping of "
                         f"scheme name -> options, given {schemes!r}")
    parsed = {}
    for name, options in schemes.items():
        if name not in SCHEME_OPTIONS:
            raise ValueError(f"{source}: unknown parametrisation {name!r}; valid names are: "
                             f"{', '.join(sorted(SCHEME_OPTIONS))}")
        parsed[name] = parse_options(name, options, f"{source}: parametrisations.{name}")
    return L96Config(seed=seed, forcing=float(forcing), parametrisations=parsed, source=source)


def load_config(path: str | os.PathLike) -> L96Config:
    """Read and validate a YAML config file.

    Raises
    ------
    FileNotFoundError
        No such file (the message names the path).
    ValueError
        Invalid YAML (with the parser's position) or an invalid config.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from exc
    if data is None:
        raise ValueError(f"{path}: the config file is empty")
    return parse_config(data, source=str(path))


def default_config(quick: bool = False) -> L96Config:
    """The shipped config: ``configs/quick.yaml`` if ``quick`` else ``configs/full.yaml``.

    The quick config trains every scheme in well under a minute on two CPU cores; the
    full one is meant for the 2000 MTU training run.
    """
    return load_config(CONFIG_DIR / ("quick.yaml" if quick else "full.yaml"))


def dump_config(config: L96Config, path: str | os.PathLike) -> Path:
    """Write ``config`` (defaults filled in) as YAML; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    return path
