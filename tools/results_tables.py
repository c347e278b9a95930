#!/usr/bin/python3
"""results_tables.py: the command-line entry of the module mlpbench.results_tables
(tools/mlpbench/results_tables.py); `python3 -m mlpbench.results_tables` runs it the same way."""
import runpy

runpy.run_module("mlpbench.results_tables", run_name="__main__")
