"""Configuration of a generic training run, read from YAML.

A config has five sections; only ``data.paths``, ``data.sample_dims``, ``data.inputs``
and ``data.outputs`` are required::

    seed: 0
    data:
      paths: [train_*.nc]      # NetCDF files (globs) or one Zarr store; relative paths
                               # are taken from the config file's folder
      format: auto             # auto | netcdf | zarr
      sample_dims: [time, lat] # stacked into the sample axis; the FIRST one is streamed
      inputs: [T, q]           # variables concatenated (flattened) into the input vector
      outputs: [dT]            # ... and into the output vector
      chunk_size: null         # samples of sample_dims[0] per read (null: storage chunk)
      validation_fraction: 0.1 # trailing chunks of sample_dims[0] held out
      streams: 4               # shards of the sample order (a multiple of the world size)
      shuffle_chunks: 2        # chunks per shuffle window of each stream
      in_memory: false         # load everything first (small data; same batch order)
    model:
      name: mlp                # a name of climlearn.models (n_in, n_out are filled in)
      options: {hidden: [64, 64], activation: tanh}
    training:
      epochs: 10
      batch_size: 256          # GLOBAL batch, over all ranks; a multiple of data.streams
      optimiser: adam          # adam | adamw | sgd (momentum 0.9)
      lr: 1.0e-3
      weight_decay: 0.0
      schedule: none           # none | cosine
      patience: 10             # early stopping on the validation loss
      dtype: float32           # float32 | float64
      threads: null            # torch intra-op threads per rank (null: leave as is)
      progress: true           # tqdm bar on rank 0 (only on a terminal)
    output:
      dir: run                 # relative to the config file's folder
      model_file: model.pt

Every problem (unknown key or section, wrong type, value out of range, invalid YAML,
missing file) raises a ``ValueError`` (``FileNotFoundError`` for a missing config file)
naming the key, what was expected and what was given.
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

__all__ = ["DataConfig", "ModelConfig", "OptimConfig", "OutputConfig", "TrainConfig",
           "FORMATS", "OPTIMISERS", "SCHEDULES", "DTYPES", "load_train_config",
           "parse_train_config"]

FORMATS = ("auto", "netcdf", "zarr")
OPTIMISERS = ("adam", "adamw", "sgd")
SCHEDULES = ("none", "cosine")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class DataConfig:
    """Where the samples come from and how they are streamed (see the module docstring)."""

    paths: tuple[str, ...]
    sample_dims: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    format: str = "auto"
    chunk_size: int | None = None
    validation_fraction: float = 0.1
    streams: int = 4
    shuffle_chunks: int = 2
    in_memory: bool = False


@dataclass(frozen=True)
class ModelConfig:
    """An architecture of :mod:`climlearn.models` and its options (not n_in, n_out)."""

    name: str = "mlp"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimConfig:
    """The optimisation loop (see the module docstring)."""

    epochs: int = 10
    batch_size: int = 256
    optimiser: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "none"
    patience: int = 10
    dtype: str = "float32"
    threads: int | None = None
    progress: bool = True


@dataclass(frozen=True)
class OutputConfig:
    """Run folder and exported file name."""

    dir: str = "run"
    model_file: str = "model.pt"


@dataclass(frozen=True)
class TrainConfig:
    """A validated training config.

    Attributes
    ----------
    seed
        One seed for the initial weights (torch) and the sample order.
    data, model, training, output
        The sections.
    base_dir
        Folder that relative paths are taken from (the config file's folder).
    source
        Where the config came from, for messages.
    """

    data: DataConfig
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    training: OptimConfig = field(default_factory=OptimConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    base_dir: str = "."
    source: str = "<dict>"

    def resolve(self, path: str) -> Path:
        """``path`` if absolute, else relative to :attr:`base_dir`."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    @property
    def out_dir(self) -> Path:
        """The run folder."""
        return self.resolve(self.output.dir)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (defaults filled in, paths as given); round-trips through
        :func:`parse_train_config` with the same ``base_dir``."""
        def plain(obj: Any) -> Any:
            d = dataclasses.asdict(obj)
            return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

        return {"seed": self.seed, "data": plain(self.data), "model": plain(self.model),
                "training": plain(self.training), "output": plain(self.output)}

    def replace(self, **sections: Any) -> TrainConfig:
        """A copy with fields replaced; a section given as a mapping updates that section,
        e.g. ``cfg.replace(training={"epochs": 2}, seed=3)``."""
        changes: dict[str, Any] = {}
        for key, value in sections.items():
            current = getattr(self, key)
            if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
                merged = {**self.to_dict()[key], **value}
                changes[key] = _parse_section(key, merged, self.source)
            else:
                changes[key] = value
        return dataclasses.replace(self, **changes)


# ---- validation ----------------------------------------------------------------------

def _tn(v: Any) -> str:
    return type(v).__name__


def _bad(where: str, key: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{where}: {key!r} must be {expected}, given {value!r} ({_tn(value)})")


def _int(where, key, v, lo=1, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise _bad(where, key, f"an integer >= {lo}" + (" or null" if allow_none else ""), v)
    return v


def _float(where, key, v, check, expected):
    if isinstance(v, str):  # PyYAML reads 1e-3 (no dot) as a string
        try:
            v = float(v)
        except ValueError:
            raise _bad(where, key, expected, v) from None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
            or not check(v):
        raise _bad(where, key, expected, v)
    return float(v)


def _choice(where, key, v, choices):
    if v not in choices:
        raise _bad(where, key, f"one of {list(choices)}", v)
    return v


def _bool(where, key, v):
    if not isinstance(v, bool):
        raise _bad(where, key, "true or false", v)
    return v


def _names(where, key, v, allow_empty=False):
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list | tuple) or (not v and not allow_empty) or any(
            not isinstance(s, str) or not s for s in v):
        raise _bad(where, key, "a non-empty list of names", v)
    if len(set(v)) != len(v):
        raise _bad(where, key, "a list of distinct names", v)
    return tuple(v)


def _check_keys(where: str, data: Any, cls: type) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping, given {data!r} ({_tn(data)})")
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(str(k) for k in data if k not in valid)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; valid keys are {valid}")
    return dict(data)


def _parse_data(d: Any, src: str) -> DataConfig:
    w = f"{src}: data"
    d = _check_keys(w, d, DataConfig)
    for key in ("paths", "sample_dims", "inputs", "outputs"):
        if key not in d:
            raise ValueError(f"{w}: missing required key {key!r}")
    out = {k: _names(w, k, d[k]) for k in ("paths", "sample_dims", "inputs", "outputs")}
    both = sorted(set(out["inputs"]) & set(out["outputs"]))
    if both:
        raise ValueError(f"{w}: variable(s) {both} are both inputs and outputs")
    if "format" in d:
        out["format"] = _choice(w, "format", d["format"], FORMATS)
    if "chunk_size" in d:
        out["chunk_size"] = _int(w, "chunk_size", d["chunk_size"], allow_none=True)
    if "validation_fraction" in d:
        out["validation_fraction"] = _float(w, "validation_fraction",
                                            d["validation_fraction"], lambda v: 0 <= v < 1,
                                            "a number in [0, 1)")
    for key in ("streams", "shuffle_chunks"):
        if key in d:
            out[key] = _int(w, key, d[key])
    if "in_memory" in d:
        out["in_memory"] = _bool(w, "in_memory", d["in_memory"])
    return DataConfig(**out)


def _parse_model(d: Any, src: str) -> ModelConfig:
    from ..models import available_models

    w = f"{src}: model"
    d = _check_keys(w, d, ModelConfig)
    name = d.get("name", "mlp")
    if name not in available_models():
        raise ValueError(f"{w}: unknown model {name!r}; valid names are: "
                         f"{', '.join(available_models())}")
    options = d.get("options") or {}
    if not isinstance(options, Mapping):
        raise _bad(w, "options", "a mapping of keyword arguments", options)
    fixed = sorted({"n_in", "n_out", "dtype"} & set(options))
    if fixed:
        raise ValueError(f"{w}: options {fixed} are set from the data and training.dtype; "
                         "remove them")
    return ModelConfig(name=name, options=dict(options))


def _parse_training(d: Any, src: str) -> OptimConfig:
    w = f"{src}: training"
    d = _check_keys(w, d, OptimConfig)
    out: dict[str, Any] = {}
    for key in ("epochs", "batch_size", "patience"):
        if key in d:
            out[key] = _int(w, key, d[key])
    if "threads" in d:
        out["threads"] = _int(w, "threads", d["threads"], allow_none=True)
    if "lr" in d:
        out["lr"] = _float(w, "lr", d["lr"], lambda v: v > 0, "a number > 0")
    if "weight_decay" in d:
        out["weight_decay"] = _float(w, "weight_decay", d["weight_decay"], lambda v: v >= 0,
                                     "a number >= 0")
    for key, choices in (("optimiser", OPTIMISERS), ("schedule", SCHEDULES),
                         ("dtype", DTYPES)):
        if key in d:
            out[key] = _choice(w, key, d[key], choices)
    if "progress" in d:
        out["progress"] = _bool(w, "progress", d["progress"])
    return OptimConfig(**out)


def _parse_output(d: Any, src: str) -> OutputConfig:
    w = f"{src}: output"
    d = _check_keys(w, d, OutputConfig)
    out = {}
    for key in ("dir", "model_file"):
        if key in d:
            if not isinstance(d[key], str) or not d[key]:
                raise _bad(w, key, "a non-empty string", d[key])
            out[key] = d[key]
    return OutputConfig(**out)


_SECTIONS = {"data": _parse_data, "model": _parse_model, "training": _parse_training,
             "output": _parse_output}


def _parse_section(name: str, value: Any, src: str) -> Any:
    return _SECTIONS[name](value, src)


def parse_train_config(data: Any, base_dir: str | os.PathLike = ".",
                       source: str = "<dict>") -> TrainConfig:
    """Validate a mapping (as read from YAML) into a :class:`TrainConfig`.

    Raises
    ------
    ValueError
        The first problem found, naming the key, the expected and the given value; also
        ``training.batch_size`` not a multiple of ``data.streams``.
    """
    top = ("seed", *_SECTIONS)
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: a config must be a mapping with keys {list(top)}, "
                         f"given {_tn(data)}")
    unknown = sorted(str(k) for k in data if k not in top)
    if unknown:
        raise ValueError(f"{source}: unknown top-level key(s) {unknown}; valid keys are "
                         f"{list(top)}")
    if "data" not in data:
        raise ValueError(f"{source}: missing section 'data' (paths, sample_dims, inputs, "
                         "outputs)")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _bad(source, "seed", "an integer >= 0", seed)
    sections = {k: _parse_section(k, data.get(k), source) for k in _SECTIONS}
    if sections["training"].batch_size % sections["data"].streams:
        raise ValueError(
            f"{source}: training.batch_size ({sections['training'].batch_size}) must be a "
            f"multiple of data.streams ({sections['data'].streams}): each stream gives "
            "batch_size / streams samples to every global batch")
    return TrainConfig(seed=seed, base_dir=str(base_dir), source=source, **sections)


def load_train_config(path: str | os.PathLike) -> TrainConfig:
    """Read and validate a YAML training config; relative paths in it are taken from the
    file's folder.

    Raises
    ------
    FileNotFoundError
        No such file.
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
    return parse_train_config(data, base_dir=path.resolve().parent, source=str(path))
