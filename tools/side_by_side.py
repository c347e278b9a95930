#!/usr/bin/python3
"""side_by_side.py: the command-line entry of the module mlpbench.peers.side_by_side
(tools/mlpbench/peers/side_by_side.py); `python3 -m mlpbench.peers.side_by_side` runs it the same way."""
import runpy

runpy.run_module("mlpbench.peers.side_by_side", run_name="__main__")
