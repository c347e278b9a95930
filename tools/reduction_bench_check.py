#!/usr/bin/python3
"""reduction_bench_check.py: the command-line entry of the module mlpbench.checks.reduction_bench
(tools/mlpbench/checks/reduction_bench.py); `python3 -m mlpbench.checks.reduction_bench` runs it the same way."""
import runpy

runpy.run_module("mlpbench.checks.reduction_bench", run_name="__main__")
