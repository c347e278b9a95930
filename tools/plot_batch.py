#!/usr/bin/python3
"""plot_batch.py: the command-line entry of the module mlpbench.plots.batch
(tools/mlpbench/plots/batch.py); `python3 -m mlpbench.plots.batch` runs it the same way."""
import runpy

runpy.run_module("mlpbench.plots.batch", run_name="__main__")
