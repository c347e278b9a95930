#!/usr/bin/python3
"""plot_runs.py: the command-line entry of the module mlpbench.plots.runs
(tools/mlpbench/plots/runs.py); `python3 -m mlpbench.plots.runs` runs it the same way."""
import runpy

runpy.run_module("mlpbench.plots.runs", run_name="__main__")
