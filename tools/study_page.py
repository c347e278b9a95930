#!/usr/bin/python3
"""study_page.py: the command-line entry of the module mlpbench.studies.study_page
(tools/mlpbench/studies/study_page.py); `python3 -m mlpbench.studies.study_page` runs it the same way."""
import runpy

runpy.run_module("mlpbench.studies.study_page", run_name="__main__")
