"""Turn an eager model into TorchScript: scripting first, tracing only when it is safe."""

from __future__ import annotations

import logging
import warnings

import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)


class ExportError(RuntimeError):
    """The model cannot be exported faithfully."""


def _as_tuple(out) -> tuple[Tensor, ...]:
    if isinstance(out, Tensor):
        return (out,)
    if isinstance(out, list | tuple) and all(isinstance(t, Tensor) for t in out):
        return tuple(out)
    raise ExportError(
        f"the model must return a Tensor or a tuple of Tensors, it returned {type(out).__name__}"
    )


def _probe_inputs(example: tuple[Tensor, ...], seed: int = 1234) -> tuple[Tensor, ...]:
    """Inputs unlike the examples (other batch size, other values) to test a trace."""
    gen = torch.Generator().manual_seed(seed)
    probes = []
    for x in example:
        nb = x.shape[0] + 3
        base = x[torch.randint(0, x.shape[0], (nb,), generator=gen)]
        scale = x.detach().abs().mean() + 1.0
        noise = 0.1 * scale * torch.randn(base.shape, generator=gen, dtype=x.dtype)
        probes.append(base + noise)
    return tuple(probes)


def script_or_trace(model: nn.Module, example: tuple[Tensor, ...], *,
                    allow_trace: bool = True) -> tuple[torch.jit.ScriptModule, str]:
    """Return a TorchScript version of ``model`` and the method used.

    ``torch.jit.script`` is tried first. If it fails and ``allow_trace`` is true, the model
    is traced, and the trace is accepted only if tracing raised no TracerWarning (which
    flags data-dependent control flow or Python values frozen into the graph) and it
    reproduces the eager model on inputs of another batch size and other values.
    """
    model = model.eval()
    try:
        return torch.jit.script(model), "script"
    except Exception as exc:  # torch raises many types while scripting
        script_error = exc
        if not allow_trace:
            raise ExportError(f"torch.jit.script failed: {exc}") from exc
        log.info("torch.jit.script failed (%s); trying a checked trace",
                 str(exc).splitlines()[0])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", torch.jit.TracerWarning)
        with torch.no_grad():
            traced = torch.jit.trace(model, example, check_trace=False)
    tracer_warnings = [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
    if tracer_warnings:
        raise ExportError(
            "tracing is not safe for this model: "
            + "; ".join(str(w.message).splitlines()[0] for w in tracer_warnings)
            + f" (scripting failed with: {str(script_error).splitlines()[0]})"
        )
    probe = _probe_inputs(example)
    with torch.no_grad():
        want = _as_tuple(model(*probe))
        got = _as_tuple(traced(*probe))
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        if w.shape != g.shape or not torch.allclose(w, g, rtol=1e-5, atol=1e-6):
            raise ExportError(
                f"tracing is not safe for this model: output {i} of the trace differs from "
                f"the eager model on new inputs (shape {tuple(g.shape)} vs {tuple(w.shape)})"
            )
    return traced, "trace"
