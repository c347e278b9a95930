"""What a run of run_experiment (or of a peer, which takes the same options) reads: its
experiment, the dataset files under its data folder and a checkpoint it resumes.

Not a command-line tool itself. A tool that launches runs (epoch_ab.py, side_by_side.py,
scaling_study.py) notes these files as its own inputs (mlpbench.files.note_input) before it
checks its outputs, so that none of its outputs replaces a file its runs read
(docs/reliability.md): the runs' inputs are the tool's inputs.
"""

import os

from mlpbench import files as mlpbench_files
from mlpbench import inputs as mlpbench_inputs
from mlpbench import schemas


def option_value(options, name):
    """The value of the option `name` ("--name VALUE" or "--name=VALUE", the last one given) in
    a command line's `options`, or None."""
    value = None
    for i, arg in enumerate(options):
        if arg == name and i + 1 < len(options):
            value = options[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1:]
    return value


def checkout_data_dir():
    """data/ in the checkout holding the current folder (the nearest folder at or above it with
    both experiments/ and engine/; outside any, the current folder), where the engine looks
    without --data-dir or $MLPBENCH_DATA (engine/src/run/default_paths.cc)."""
    here = folder = os.getcwd()
    while True:
        if all(os.path.isdir(os.path.join(folder, d)) for d in ("experiments", "engine")):
            return os.path.join(folder, "data")
        parent = os.path.dirname(folder)
        if parent == folder:
            return os.path.join(here, "data")
        folder = parent


def data_dirs(options):
    """The folders the runs of `options` may read datasets from: their --data-dir, else the
    engine's default and the peers' (the tools' own: mlpbench.inputs.default_data_dir)."""
    given = option_value(options, "--data-dir")
    if given is not None:
        return [given]
    return [os.environ.get("MLPBENCH_DATA") or checkout_data_dir(),
            mlpbench_inputs.default_data_dir()]


def dataset_files(folder):
    """Every file name a dataset may have under `folder`: both splits of every dataset the
    experiment schema knows, raw and gzipped."""
    for dataset in schemas.schema("experiment")["properties"]["dataset"]["enum"]:
        for stems in mlpbench_inputs.SPLIT_FILES.values():
            for stem in stems:
                for name in (stem, stem + ".gz"):
                    yield os.path.join(folder, dataset, name)


def note(experiment, options=()):
    """Note what runs of `experiment` with the command-line `options` read as inputs of this
    process: the experiment, every dataset file (every dataset's: one experiment names one,
    an output over another's data file is no better) and the checkpoint of --resume."""
    paths = [experiment, option_value(options, "--resume")]
    paths += [p for folder in data_dirs(options) for p in dataset_files(folder)]
    for path in paths:
        if path:
            mlpbench_files.note_input(path)
