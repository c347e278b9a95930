"""Command-line plumbing shared by the tools: the argument parser, the test-set options, and the
guard that turns a ToolError into one line on stderr and exit status 2."""

import argparse
import sys

from mlpbench import files as mlpbench_files
from mlpbench.files import ToolError


def arg_parser(prog, doc, epilog):
    """The tools' argument parser: the module docstring as description, `epilog` (exit status,
    an example) kept as written."""
    return argparse.ArgumentParser(prog=prog, description=doc, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_test_set_args(p, dataset_help):
    """--dataset, --data-dir and --test-limit: which test set a tool evaluates on."""
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default=None, help=dataset_help)
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="datasets folder (default: $MLPBENCH_DATA, else data/ at the repo root)")
    p.add_argument("--test-limit", type=int, default=0, help="first N test samples only")


def main_guard(prog, func, argv=None):
    """Run func(argv); a ToolError becomes 'prog: error: message' and exit status 2; Ctrl-C,
    SIGTERM and SIGHUP end it after clean-up with 128 + the signal's number."""
    mlpbench_files.terminate_by_exception()
    try:
        return func(argv)
    except ToolError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except mlpbench_files.Terminated as e:
        print(f"{prog}: terminated by signal {e.signum}", file=sys.stderr)
        return e.code
    except BrokenPipeError:
        return 1
