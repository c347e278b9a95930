"""One self-contained HTML page per study (thread, SIMD, rank or batch-size study), made with
mlpbench.report like the results page: the study's figures embedded, its printed summary and
tables, the host and build the logs were measured on, where each run's threads ran
(run.placement) with its warnings, the runs flagged as noisy, every run, and the commands that
made it. Paths are shown relative to the repository (or the working folder); a path outside
both shows as its file name, so the page names no file of the machine it was made on.

As a tool (tools/study_page.py) it makes the page of a study whose figures were drawn by
another tool, e.g. tools/batch_study.sh's:

    tools/study_page.py --title TITLE --figure FIG.png ... [--summary TEXT_FILE ...]
        [--command CMD ...] -o PAGE.html LOG_DIR_OR_FILE ...

Exit status: 0 written; 2 bad command line, a missing or malformed input (one line naming it).
"""

import math
import os
import shlex
import sys

from mlpbench import REPO_ROOT
from mlpbench import cli
from mlpbench import files as mlpbench_files
from mlpbench import logs as ml
from mlpbench.report import Page

PROG = "study_page.py"
# The page's sections, in order; every page has each (saying so when it has nothing to show).
SECTIONS = ("Study and commands", "Figures", "Summary and tables", "Host and build",
            "Thread placement", "Noisy runs", "Runs")


def shown_path(arg):
    """A command-line argument as the page shows it: a path inside the repository or the
    working folder relative to it, another path as its file name, anything else unchanged
    (an option's value after "=" alike)."""
    option, equals, value = arg.partition("=")
    if option.startswith("-") and equals:
        return option + equals + shown_path(value)
    if not (os.path.isabs(arg) or os.path.exists(arg)):
        return arg
    full = os.path.abspath(arg)
    for root in (REPO_ROOT, os.getcwd()):
        if full == root or full.startswith(root.rstrip(os.sep) + os.sep):
            return os.path.relpath(full, root)
    return os.path.basename(full)


def shown_command(argv):
    return shlex.join(shown_path(a) for a in argv)


def run_names(logs):
    """{id(log): its path relative to the folder the logs share}."""
    if not logs:
        return {}
    folders = [os.path.dirname(os.path.abspath(log.path)) for log in logs]
    base = os.path.commonpath(folders)
    return {id(log): os.path.relpath(os.path.abspath(log.path), base) for log in logs}


def _number(value, digits=0):
    """Rounded to `digits` decimals (a whole number for 0), or "-"."""
    if not (ml.is_number(value) and math.isfinite(value)):
        return "-"
    return round(value, digits) if digits else round(value)


def host_facts(log):
    host, build = log.host, log.data.get("build") or {}
    caches = host.get("caches") if isinstance(host.get("caches"), dict) else {}
    return {"CPU": host.get("cpu_model", "-"), "CPUID": host.get("cpu_id", "-"),
            "logical CPUs": host.get("logical_cpus", "-"),
            "caches": ", ".join(f"{k} {v // 1024} KiB" for k, v in caches.items()
                                if isinstance(v, int)) or "-",
            "engine": log.engine, "commit": build.get("git_commit", "-"),
            "compiler": build.get("compiler", "-"),
            "SIMD targets compiled": ", ".join(build.get("simd_targets_compiled") or []) or "-"}


def placement_row(name, log):
    placement = log.data["run"].get("placement")
    if not isinstance(placement, dict):
        return [name, log.threads, "not recorded (a log of an older build)", "-", "-"]
    env = placement.get("env") if isinstance(placement.get("env"), dict) else {}
    seats = [s for s in placement.get("end") or placement.get("start") or [] if isinstance(s, dict)]
    cpus = ", ".join(f"{s.get('cpu')} (core {s.get('core')})" for s in seats) or "-"
    warnings = [str(w) for w in placement.get("warnings") or []]
    return [name, log.threads, " ".join(f"{k}={v}" for k, v in env.items()) or "none set", cpus,
            "; ".join(warnings) or "none"]


def run_row(name, log):
    return [name, log.status, log.engine, log.simd_target, log.threads, len(log.epochs),
            _number(log.median_samples_per_second()),
            _number(log.final_test_accuracy(), 4), "yes" if log.host_noise() else "no"]


def build(title, logs, figures, summary="", tables=(), commands=(), subtitle=""):
    """The page of a study: `figures` [(matplotlib figure or PNG bytes, caption)], `summary`
    the text its tool printed, `tables` [(title, headers, rows)], `commands` the command lines
    that made it (argument lists)."""
    page = Page(title, subtitle)
    names = run_names(logs)
    experiments = sorted({log.name for log in logs})

    s = page.section(SECTIONS[0], "what was run, and the commands that ran it")
    s.facts({"experiments": ", ".join(experiments) or "-", "run logs": len(logs)})
    s.code("\n".join(shown_command(c) for c in commands) if commands else "(no commands recorded)")

    s = page.section(SECTIONS[1], "every figure of the study, drawn from the logs below")
    for figure, caption in figures:
        if isinstance(figure, bytes):
            s.png(figure, caption)
        else:
            s.figure(figure, caption)
    if not figures:
        s.text("No figure.")

    s = page.section(SECTIONS[2], "what the study's tool printed, and its tables")
    s.code(summary or "(no summary)")
    for table_title, headers, rows in tables:
        s.text(table_title)
        s.table(headers, rows)

    s = page.section(SECTIONS[3], "where the timings were taken (one entry per distinct host)")
    hosts = {}
    for log in logs:
        hosts.setdefault(tuple(sorted(map(str, host_facts(log).items()))), log)
    for log in hosts.values():
        s.facts(host_facts(log))
    if not hosts:
        s.text("No run log: the host is unknown.")

    s = page.section(SECTIONS[4], "each run's affinity variables, the CPU and core each thread "
                                  "ran on (run.placement, docs/run-log.md) and its warnings")
    s.table(["run", "threads", "affinity variables", "CPUs (core)", "warnings"],
            [placement_row(names[id(log)], log) for log in logs])

    s = page.section(SECTIONS[5], "runs whose host looked busy (run.host_noisy): their times "
                                  "may be the host's, not the engine's")
    noisy = [[names[id(log)], "; ".join(log.host_noise())] for log in logs if log.host_noise()]
    if noisy:
        s.table(["run", "why"], noisy)
    else:
        s.text("No run was flagged noisy.")

    s = page.section(SECTIONS[6], "every run log of the study")
    s.table(["run", "status", "engine", "SIMD", "threads", "epochs", "median samples/s",
             "final test accuracy", "noisy"], [run_row(names[id(log)], log) for log in logs])
    return page


def write(page, path, inputs=()):
    page.write(path, inputs=inputs)
    print(f"wrote {path}", file=sys.stderr)


def check_page_path(path):
    if not path.lower().endswith(".html"):
        raise ml.ToolError(f"{path}: a study page is an .html file")
    mlpbench_files.check_output(path)


# ----------------------------------------------------------------------------- the tool

def parse_args(argv):
    doc, _, epilog = __doc__.partition("\nExit status")
    p = cli.arg_parser(PROG, doc, "Exit status" + epilog)
    p.add_argument("inputs", nargs="+", metavar="LOG_DIR_OR_FILE",
                   help="run logs of the study, or folders of them (every *.json directly inside)")
    p.add_argument("-o", "--output", required=True, metavar="PAGE.html", help="the page to write")
    p.add_argument("--title", required=True, help="the page's title")
    p.add_argument("--figure", action="append", default=[], metavar="FIG.png",
                   help="a PNG figure of the study (repeatable)")
    p.add_argument("--summary", action="append", default=[], metavar="TEXT_FILE",
                   help="a text file of what a tool of the study printed (repeatable)")
    p.add_argument("--command", action="append", default=[], metavar="CMD",
                   help="a command line that made the study (repeatable)")
    return p.parse_args(argv)


def read_text(path):
    try:
        return mlpbench_files.read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise ml.ToolError(f"{path}: not UTF-8 text") from None


def main(argv=None):
    args = parse_args(argv)
    check_page_path(args.output)
    logs = ml.load_run_logs(args.inputs)
    figures = []
    for path in args.figure:
        data = mlpbench_files.read_bytes(path)
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ml.ToolError(f"{path}: not a PNG file (a study page embeds PNG figures)")
        figures.append((data, os.path.basename(path)))
    summary = "\n".join(f"{os.path.basename(p)}:\n{read_text(p)}" for p in args.summary)
    try:
        commands = [shlex.split(c) for c in args.command]
    except ValueError as e:
        raise ml.ToolError(f"--command: {e}") from None
    page = build(args.title, logs, figures, summary, commands=commands)
    write(page, args.output, inputs=args.figure + args.summary)
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
