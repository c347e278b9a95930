#!/usr/bin/python3
"""export.py: the command-line entry of the module mlpbench.export
(tools/mlpbench/export.py); `python3 -m mlpbench.export` runs it the same way."""
import runpy

runpy.run_module("mlpbench.export", run_name="__main__")
