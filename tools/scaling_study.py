#!/usr/bin/python3
"""scaling_study.py: the command-line entry of the module mlpbench.studies.scaling
(tools/mlpbench/studies/scaling.py); `python3 -m mlpbench.studies.scaling` runs it the same way."""
import runpy

runpy.run_module("mlpbench.studies.scaling", run_name="__main__")
