#!/usr/bin/python3
"""pytorch_mlp.py: the command-line entry of the module mlpbench.peers.pytorch_mlp
(tools/mlpbench/peers/pytorch_mlp.py); `python3 -m mlpbench.peers.pytorch_mlp` runs it the same way."""
import runpy

runpy.run_module("mlpbench.peers.pytorch_mlp", run_name="__main__")
