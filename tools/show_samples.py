#!/usr/bin/python3
"""show_samples.py: the command-line entry of the module mlpbench.plots.samples
(tools/mlpbench/plots/samples.py); `python3 -m mlpbench.plots.samples` runs it the same way."""
import runpy

runpy.run_module("mlpbench.plots.samples", run_name="__main__")
