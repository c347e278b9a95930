#!/usr/bin/python3
"""alpha_beta.py: the command-line entry of the module mlpbench.studies.alpha_beta
(tools/mlpbench/studies/alpha_beta.py); `python3 -m mlpbench.studies.alpha_beta` runs it the same way."""
import runpy

runpy.run_module("mlpbench.studies.alpha_beta", run_name="__main__")
