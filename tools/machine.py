#!/usr/bin/python3
"""machine.py: the command-line entry of the module mlpbench.machine
(tools/mlpbench/machine.py); `python3 -m mlpbench.machine` runs it the same way."""
import runpy

runpy.run_module("mlpbench.machine", run_name="__main__")
