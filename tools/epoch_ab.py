#!/usr/bin/python3
"""epoch_ab.py: the command-line entry of the module mlpbench.studies.epoch_ab
(tools/mlpbench/studies/epoch_ab.py); `python3 -m mlpbench.studies.epoch_ab` runs it the same way."""
import runpy

runpy.run_module("mlpbench.studies.epoch_ab", run_name="__main__")
