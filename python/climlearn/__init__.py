"""climlearn: machine-learning parametrisations for climate models.

Train in Python (PyTorch), export self-describing TorchScript files
(:mod:`climlearn.export`), and run them inside Fortran models through the C API and the
``climlearn`` Fortran module installed with this package (see ``climlearn-config``).

Subpackages are imported on first use, so ``import climlearn`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

try:
    from ._build_info import VERSION as __version__
except ImportError:  # running from a source tree that was never built
    __version__ = "0+unknown"

_SUBMODULES = {"export", "models", "cli", "paths", "demo"}

__all__ = ["__version__", *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'climlearn' has no attribute {name!r}")
