"""Two-scale Lorenz 96: truth in Fortran (exposed with f90wrap), parametrisations trained
in Python, coupled runs in Fortran and Python, evaluation against published numbers.

Subpackage layout: ``physics`` (the Fortran model), ``data`` (truth runs to CF NetCDF),
``parametrisations`` (registry), ``config`` and ``train``, ``metrics``, ``coupled``,
``evaluate``, ``pipeline``.
"""
