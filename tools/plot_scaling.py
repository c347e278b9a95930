#!/usr/bin/python3
"""plot_scaling.py: the command-line entry of the module mlpbench.plots.scaling
(tools/mlpbench/plots/scaling.py); `python3 -m mlpbench.plots.scaling` runs it the same way."""
import runpy

runpy.run_module("mlpbench.plots.scaling", run_name="__main__")
