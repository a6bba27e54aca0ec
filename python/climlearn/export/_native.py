"""Describe MLP-shaped models for libclimlearn's native kernel.

A model that is a plain chain of ``nn.Linear`` layers and elementwise activations, with
one rank-2 input ``(batch, features)`` and one rank-2 output, can be run by the C library
without the TorchScript interpreter. The card then carries a ``"native"`` entry naming,
for each layer, the tensors of the SCRIPTED wrapper that hold its weights (qualified
names as ``named_parameters()`` / ``named_buffers()`` report them, e.g.
``core.net.0.weight``), and the normalisation buffers around it. The C library reads the
tensors from the file itself; the card only says how to chain them.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ._normalise import Destandardise, Standardise

NATIVE_VERSION = 1


def _activation(module: nn.Module) -> str | None:
    """Op name of a supported elementwise activation, else None."""
    from ..models.elementwise import Exp

    if type(module) is Exp:
        return "exp"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.SiLU):
        return "silu"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Identity):
        return "identity"
    if isinstance(module, nn.GELU):
        return {"none": "gelu", "tanh": "gelu_tanh"}.get(module.approximate)
    return None


def _chain(module: nn.Module, prefix: str) -> list[tuple[str, nn.Module]] | None:
    """Flatten a (nested) Sequential into (qualified name, leaf) pairs, or None."""
    if type(module) is not nn.Sequential:
        return None
    out: list[tuple[str, nn.Module]] = []
    for name, child in module.named_children():
        qual = f"{prefix}{name}"
        if type(child) is nn.Sequential:
            sub = _chain(child, qual + ".")
            if sub is None:
                return None
            out.extend(sub)
        else:
            out.append((qual, child))
    return out


def _leaves(core: nn.Module) -> list[tuple[str, nn.Module]] | None:
    from ..models.mlp import MLP

    if isinstance(core, MLP):
        if type(core).forward is not MLP.forward:  # a subclass that changed forward
            return None
        return _chain(core.net, "core.net.")
    return _chain(core, "core.")


def _norm(layer: nn.Module, name: str) -> dict[str, str] | None | bool:
    """Names of a normalisation layer's buffers, None for identity, False if unknown."""
    if isinstance(layer, Standardise | Destandardise):
        return {"mean": f"{name}.mean", "std": f"{name}.std"}
    if type(layer) is nn.Identity:
        return None
    return False


def describe(core: nn.Module, norm_in: list[nn.Module], norm_out: list[nn.Module],
             example: tuple[Tensor, ...], outputs: tuple[Tensor, ...],
             scripted: nn.Module) -> dict[str, Any] | None:
    """The card's ``"native"`` entry for an MLP-shaped ``core``, or None.

    Parameters
    ----------
    core
        The eager network (working on normalised data).
    norm_in, norm_out
        The normalisation layers the wrapper puts around it.
    example, outputs
        Example inputs and the matching outputs (batch first).
    scripted
        The scripted wrapper: every name recorded is checked to exist in its state.
    """
    if len(example) != 1 or len(outputs) != 1:
        return None
    if example[0].dim() != 2 or outputs[0].dim() != 2:
        return None
    leaves = _leaves(core)
    if not leaves:
        return None
    dtype = example[0].dtype
    layers: list[dict[str, Any]] = []
    width = int(example[0].shape[1])
    for name, leaf in leaves:
        if type(leaf) is nn.Linear:
            if leaf.weight.dtype != dtype or leaf.in_features != width:
                return None
            layers.append({"op": "linear", "weight": f"{name}.weight",
                           "bias": f"{name}.bias" if leaf.bias is not None else None})
            width = leaf.out_features
        else:
            op = _activation(leaf)
            if op is None:
                return None
            if op != "identity":
                layers.append({"op": op})
    if not any(layer["op"] == "linear" for layer in layers):
        return None
    if width != int(outputs[0].shape[1]):
        return None
    nin = _norm(norm_in[0], "norm_in_0")
    nout = _norm(norm_out[0], "norm_out_0")
    if nin is False or nout is False:
        return None
    known = {n for n, _ in scripted.named_parameters()} | {n for n, _ in scripted.named_buffers()}
    wanted = [v for layer in layers for k, v in layer.items() if k != "op" and v is not None]
    wanted += [v for d in (nin, nout) if d for v in d.values()]
    if not all(n in known for n in wanted):
        return None
    return {"version": NATIVE_VERSION, "layers": layers, "norm_in": nin, "norm_out": nout}
