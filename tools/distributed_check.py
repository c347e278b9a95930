#!/usr/bin/python3
"""distributed_check.py: the command-line entry of the module mlpbench.checks.distributed
(tools/mlpbench/checks/distributed.py); `python3 -m mlpbench.checks.distributed` runs it the same way."""
import runpy

runpy.run_module("mlpbench.checks.distributed", run_name="__main__")
