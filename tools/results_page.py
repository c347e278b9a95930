#!/usr/bin/python3
"""results_page.py: the command-line entry of the module mlpbench.results_page
(tools/mlpbench/results_page.py); `python3 -m mlpbench.results_page` runs it the same way."""
import runpy

runpy.run_module("mlpbench.results_page", run_name="__main__")
