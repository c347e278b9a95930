#!/usr/bin/python3
"""plot_model.py: the command-line entry of the module mlpbench.plots.model
(tools/mlpbench/plots/model.py); `python3 -m mlpbench.plots.model` runs it the same way."""
import runpy

runpy.run_module("mlpbench.plots.model", run_name="__main__")
