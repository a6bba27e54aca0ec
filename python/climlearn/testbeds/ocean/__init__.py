"""NEMO-style idealised ocean basin: Pacanowski-Philander vertical mixing in Fortran
(exposed with f90wrap), training data, column emulators of the mixing scheme, the online
Fortran host (MPI) and the evaluation pipeline.

Subpackage layout: ``physics`` (the Fortran reference physics), ``config`` (YAML
configs, ``configs/quick.yaml`` and ``configs/full.yaml``), ``data`` (reference runs to
CF NetCDF), ``emulators`` (registry, training, export), ``online`` (the Fortran host
``run_ocean`` under mpirun), ``evaluate`` (metrics and figures), ``pipeline``
(``climlearn ocean pipeline``).
"""
