#!/usr/bin/python3
"""plot_roofline.py: the command-line entry of the module mlpbench.plots.roofline
(tools/mlpbench/plots/roofline.py); `python3 -m mlpbench.plots.roofline` runs it the same way."""
import runpy

runpy.run_module("mlpbench.plots.roofline", run_name="__main__")
