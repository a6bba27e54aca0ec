"""Environmental machine-learning case studies: Python wrappers with xarray in and out.

Each case study is a subpackage ``climlearn.casestudies.<name>``. A subpackage that
offers a command line has a light module ``cli.py`` (no heavy imports at module level)
with two attributes:

``COMMAND``
    the name of the ``climlearn`` sub-command (for example ``"phyto"``);
``register(subparsers)``
    adds that sub-command (and its own sub-commands, such as ``demo``) to the
    ``climlearn`` parser; each leaf sets ``func`` with ``set_defaults``.

:func:`climlearn.cli.main` discovers these modules, so adding a case study needs no edit
of the central command line.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def cli_modules() -> list[ModuleType]:
    """Return the ``cli`` modules of the case-study subpackages, sorted by command name."""
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if not info.ispkg:
            continue
        try:
            mod = importlib.import_module(f"{__name__}.{info.name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{info.name}.cli":
                continue
            raise
        mods.append(mod)
    return sorted(mods, key=lambda m: m.COMMAND)
