#!/usr/bin/python3
"""track.py: the command-line entry of the module mlpbench.tracking.track
(tools/mlpbench/tracking/track.py); `python3 -m mlpbench.tracking.track` runs it the same way."""
import runpy

runpy.run_module("mlpbench.tracking.track", run_name="__main__")
