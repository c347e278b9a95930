#!/usr/bin/python3
"""plot_eval.py: the command-line entry of the module mlpbench.plots.eval
(tools/mlpbench/plots/eval.py); `python3 -m mlpbench.plots.eval` runs it the same way."""
import runpy

runpy.run_module("mlpbench.plots.eval", run_name="__main__")
