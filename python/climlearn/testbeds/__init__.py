"""Testbeds: small simulated worlds in which parametrisations are trained and judged.

- :mod:`climlearn.testbeds.lorenz96`: two-scale Lorenz 96 (sub-grid parametrisation).
- :mod:`climlearn.testbeds.column`: LMDZ-style multi-column atmosphere (convection).
"""
