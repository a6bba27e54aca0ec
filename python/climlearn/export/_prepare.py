"""What every export format shares: argument checks, the normalisation wrapper around the
eager model, its outputs on the examples, and the card entries of inputs and outputs."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from . import _card
from ._normalise import make_layer
from ._script import _as_tuple
from ._wrapper import wrap

log = logging.getLogger(__name__)


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    """(rtol, atol) an exported file must reproduce the eager model to."""
    return (1e-5, 1e-6) if dtype == torch.float32 else (1e-12, 1e-13)


def _names(given: Sequence[str] | None, n: int, prefix: str, what: str) -> list[str]:
    if given is None:
        return [prefix] if n == 1 else [f"{prefix}{i}" for i in range(n)]
    names = list(given)
    if len(names) != n:
        raise ValueError(f"{what}: expected {n} names, given {len(names)} ({names})")
    if len(set(names)) != n:
        raise ValueError(f"{what}: names must be unique, given {names}")
    return names


def _check_keys(mapping: Mapping | None, valid: list[str], what: str) -> dict:
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(valid))
    if unknown:
        raise ValueError(f"{what}: unknown name(s) {unknown}; valid names are {valid}")
    return mapping


@dataclass
class Prepared:
    """A model ready to be written in some format.

    ``eager`` is the generated wrapper (normalise inputs, run ``model``, restore output
    units) around the eager model; ``want`` its outputs on ``example``.
    """

    model: nn.Module
    example: tuple[Tensor, ...]
    dtype: torch.dtype
    in_names: list[str]
    out_names: list[str]
    core_in: tuple[Tensor, ...]
    norm_in: list[nn.Module]
    norm_out: list[nn.Module]
    eager: nn.Module
    want: tuple[Tensor, ...]
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    norm_card: dict[str, Any]


def prepare(model: nn.Module, *, example_inputs: Tensor | Sequence[Tensor],
            output_names: Sequence[str], input_names: Sequence[str] | None,
            units: Mapping[str, str] | None, long_names: Mapping[str, str] | None,
            normalisation: Mapping[str, tuple[Any, Any]] | None,
            io_attributes: Mapping[str, Mapping[str, Any]] | None) -> Prepared:
    """Check the export arguments and build the wrapped eager model (see
    :func:`climlearn.export.to_torchscript` for the meaning of the arguments).

    Raises
    ------
    ValueError
        Unknown names, wrong counts, unsupported or mixed dtypes, NaN in the examples,
        bad normalisation statistics.
    """
    example = (example_inputs,) if isinstance(example_inputs, Tensor) else tuple(example_inputs)
    if not example or not all(isinstance(t, Tensor) for t in example):
        raise ValueError("example_inputs must be a Tensor or a non-empty sequence of Tensors")
    dtypes = {t.dtype for t in example}
    if len(dtypes) != 1:
        raise ValueError("all example inputs must share one dtype, given "
                         f"{sorted(map(str, dtypes))}")
    dtype = example[0].dtype
    _card.dtype_name(dtype, "example_inputs")
    if any(not torch.isfinite(t).all() for t in example):
        raise ValueError("example_inputs contain NaN or Inf")
    if model.training:
        log.info("model was in training mode; exporting it in eval mode")
    model = model.eval()
    in_names = _names(input_names, len(example), "x", "input_names")
    out_names = list(output_names)

    all_names = in_names + out_names
    if len(set(all_names)) != len(all_names):
        raise ValueError(f"input and output names must be distinct, given {all_names}")
    units = _check_keys(units, all_names, "units")
    long_names = _check_keys(long_names, all_names, "long_names")
    norm = _check_keys(normalisation, all_names, "normalisation")
    attrs = _check_keys(io_attributes, all_names, "io_attributes")

    with torch.no_grad():
        core_in = tuple(make_layer("in", norm.get(n), tuple(t.shape[1:]), dtype, n)(t)
                        for n, t in zip(in_names, example, strict=True))
        core_out = _as_tuple(model(*core_in))
    _names(out_names, len(core_out), "y", "output_names")
    for name, y in zip(out_names, core_out, strict=True):
        if y.dtype != dtype:
            raise ValueError(f"output {name!r} has dtype {y.dtype}, inputs have {dtype}")

    norm_in = [make_layer("in", norm.get(n), tuple(t.shape[1:]), dtype, n)
               for n, t in zip(in_names, example, strict=True)]
    norm_out = [make_layer("out", norm.get(n), tuple(y.shape[1:]), dtype, n)
                for n, y in zip(out_names, core_out, strict=True)]
    eager = wrap(model, norm_in, norm_out).eval()
    with torch.no_grad():
        want = _as_tuple(eager(*example))
    inputs = [_card.io_entry(n, t, units=units.get(n), long_name=long_names.get(n),
                             extra=attrs.get(n), what="input")
              for n, t in zip(in_names, example, strict=True)]
    outputs = [_card.io_entry(n, y, units=units.get(n), long_name=long_names.get(n),
                              extra=attrs.get(n), what="output")
               for n, y in zip(out_names, want, strict=True)]
    norm_card = {
        n: {"mean": torch.as_tensor(m, dtype=torch.float64).tolist(),
            "std": torch.as_tensor(s, dtype=torch.float64).tolist()}
        for n, (m, s) in norm.items()
    }
    return Prepared(model=model, example=example, dtype=dtype, in_names=in_names,
                    out_names=out_names, core_in=core_in, norm_in=norm_in, norm_out=norm_out,
                    eager=eager, want=want, inputs=inputs, outputs=outputs,
                    norm_card=norm_card)
