"""NEMO-style idealised ocean basin: Pacanowski-Philander vertical mixing in Fortran
(exposed with f90wrap), training data, column emulators of the mixing scheme, the online
Fortran host (MPI) and the evaluation pipeline.

Subpackage layout: ``physics`` (the Fortran reference physics).
"""
