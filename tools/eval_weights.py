#!/usr/bin/python3
"""eval_weights.py: the command-line entry of the module mlpbench.eval_weights
(tools/mlpbench/eval_weights.py); `python3 -m mlpbench.eval_weights` runs it the same way."""
import runpy

runpy.run_module("mlpbench.eval_weights", run_name="__main__")
