#!/usr/bin/python3
"""make_idx_seeds.py: the command-line entry of the module mlpbench.checks.idx_seeds
(tools/mlpbench/checks/idx_seeds.py); `python3 -m mlpbench.checks.idx_seeds` runs it the same way."""
import runpy

runpy.run_module("mlpbench.checks.idx_seeds", run_name="__main__")
