"""Command-line plumbing shared by the tools: the argument parser, the test-set options, and the
guard that turns a ToolError (and, as a last line of defence, any other error) into one line on
stderr and exit status 2."""

import argparse
import sys

from mlpbench import files as mlpbench_files
from mlpbench.files import ToolError

# How text that UTF-8 cannot hold is written: escaped, never an error. Only a file name's
# undecodable bytes can be such text (Python reads them as lone surrogates); a JSON string
# holding one is refused where it is read (mlpbench.logs.load_json).
TEXT_ERRORS = "backslashreplace"


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


def encoded(text):
    """`text` as the UTF-8 bytes of an output file (TEXT_ERRORS)."""
    return text.encode("utf-8", TEXT_ERRORS)


def main_guard(prog, func, argv=None):
    """Run func(argv); a ToolError, or a TimeoutError (a wait, e.g. for a lock, that ran out),
    becomes 'prog: error: message' and exit status 2; Ctrl-C, SIGTERM and SIGHUP end it after
    clean-up with 128 + the signal's number. Any other error is a defect (bad input is a
    ToolError, refused where it is read): it still ends as one line and exit status 2, never a
    traceback nor a status that reads as a tool's verdict. A missing module is left to the
    package's hook, which names its Debian package."""
    mlpbench_files.terminate_by_exception()
    if getattr(sys.stdout, "errors", None) == "strict":  # as stderr already is
        sys.stdout.reconfigure(errors=TEXT_ERRORS)
    try:
        return func(argv)
    except (ToolError, TimeoutError) as e:
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
    except ImportError:
        raise
    except Exception as e:  # noqa: BLE001 - the last line of defence
        print(f"{prog}: error: internal error while reading the inputs: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 2
