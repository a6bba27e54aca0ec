"""LMDZ-style multi-column atmosphere: reference physics in Fortran (exposed with f90wrap),
training data for a convection emulator.

Subpackage layout: ``physics`` (the Fortran reference physics), ``data`` (reference runs
to CF NetCDF).
"""
