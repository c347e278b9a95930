"""Run logs and benchmark JSON of the mlpbench tools: loading and validation.

Everything that reads a file reports problems as ``ToolError`` with a message that names the
file and, for JSON, the JSON path (``results/x.json: /epochs/2/test_loss: expected a number,
got "abc"``); ``mlpbench.cli.main_guard`` turns such errors into one line on stderr and exit
status 2, without a traceback.

Run logs ("mlpbench.run/1", docs/run-log.md) and benchmark records are checked against their
JSON Schemas (schemas/run-log.schema.json, schemas/benchmark-record.schema.json): strict about
what the tools use and open to the rest, so that logs of running, diverged, interrupted and
failed runs and logs of the PyTorch peers load too.
"""

import glob
import gzip
import io
import json
import math
import os
import re
import statistics
import sys
import zlib

from mlpbench import schemas
from mlpbench.files import ToolError, read_bytes  # noqa: F401 (the tools' ml.ToolError, ml.read_bytes)
from mlpbench.files import note_input
from mlpbench.schemas import describe_value  # noqa: F401 (the tools' ml.describe_value)

RUN_SCHEMA = "mlpbench.run/1"
# Per-epoch numbers that decide whether two runs computed the same thing.
RESULT_KEYS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


# --------------------------------------------------------------------------- JSON helpers

# A gzipped JSON file may inflate to at most this (an IDX file's cap: far above any log).
MAX_JSON_BYTES = 1 << 30
# The JSON escape of a UTF-16 surrogate: the only way a lone one gets into the parsed text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def load_json(path):
    """Parse a JSON file (gzipped or not); errors name the file and say where it broke."""
    text = _json_text(path, read_bytes(path))
    try:
        data = json.loads(text)
    except RecursionError:
        raise ToolError(f"{path}: invalid JSON: nested too deeply") from None
    except json.JSONDecodeError as e:
        body = text.strip()
        closer = {"{": "}", "[": "]"}.get(body[:1])
        if e.pos >= len(text.rstrip()) or (closer and not body.endswith(closer)):
            raise ToolError(f"{path}: invalid JSON: file ends early, after line "
                            f"{body.count(chr(10)) + 1} (truncated?)") from None
        raise ToolError(f"{path}: invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})") \
            from None
    except ValueError:  # the only other one: an integer Python refuses to convert
        raise ToolError(f"{path}: invalid JSON: an integer of more than "
                        f"{sys.get_int_max_str_digits()} digits") from None
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(path, data)
    return data


def _json_text(path, raw):
    """The text of a JSON file's bytes, gunzipped (at most MAX_JSON_BYTES) when they are
    gzip data."""
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
                raw = f.read(MAX_JSON_BYTES + 1)
        except (OSError, EOFError, zlib.error) as e:
            raise ToolError(f"{path}: corrupt gzip data: {e}") from None
        if len(raw) > MAX_JSON_BYTES:
            raise ToolError(f"{path}: gzip data inflates to more than {MAX_JSON_BYTES} bytes, "
                            "more than a JSON file of the tools may have")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"{path}: not a JSON file (not UTF-8 text)") from None
    if not text.strip():
        raise ToolError(f"{path}: empty file, expected JSON")
    return text


def _refuse_lone_surrogates(path, data):
    """A string (or key) holding half of a UTF-16 surrogate pair ("\\ud800" alone) is not
    text: no UTF-8 output can hold it, so it is refused here, naming where it is, rather than
    when a tool prints or writes it. Walked without recursion: the nesting may be deep."""
    stack = [((), data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str) and not _is_utf8_text(value):
            raise ToolError(f"{path}: {schemas.pointer(where) or '/'}: not text (a lone UTF-16 "
                            "surrogate, e.g. \\ud800, without its pair)")
        items = value.items() if isinstance(value, dict) else \
            enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            stack.append((where + (key,), item))
            if isinstance(key, str) and not _is_utf8_text(key):
                raise ToolError(f"{path}: {schemas.pointer(where + (key,))}: a key that is not "
                                "text (a lone UTF-16 surrogate without its pair)")


def _is_utf8_text(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_checked(kind, path):
    """The JSON file `path` checked against the schema of `kind` (a key of schemas.KINDS)."""
    return schemas.check(kind, path, load_json(path))


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Checker:
    """Type checks with errors of the form 'FILE: /json/path: expected X, got Y'."""

    def __init__(self, path):
        self.path = path

    def fail(self, pointer, message):
        raise ToolError(f"{self.path}: {pointer or '/'}: {message}")

    def obj(self, parent, key, pointer, required=True):
        ptr = f"{pointer}/{key}"
        if key not in parent:
            if required:
                self.fail(pointer, f"missing key \"{key}\"")
            return None
        value = parent[key]
        if not isinstance(value, dict):
            self.fail(ptr, f"expected an object, got {describe_value(value)}")
        return value

    def string(self, parent, key, pointer, required=True):
        ptr = f"{pointer}/{key}"
        if key not in parent:
            if required:
                self.fail(pointer, f"missing key \"{key}\"")
            return None
        value = parent[key]
        if not isinstance(value, str) or (required and not value):
            self.fail(ptr, f"expected a non-empty string, got {describe_value(value)}")
        return value

    def number(self, parent, key, pointer, required=True, nullable=False, minimum=None):
        ptr = f"{pointer}/{key}"
        if key not in parent:
            if required:
                self.fail(pointer, f"missing key \"{key}\"")
            return None
        value = parent[key]
        if value is None and nullable:
            return None
        if not is_number(value):
            self.fail(ptr, f"expected a number, got {describe_value(value)}")
        if minimum is not None and not (value >= minimum):
            if not (nullable and isinstance(value, float) and math.isnan(value)):
                self.fail(ptr, f"expected a number >= {minimum}, got {describe_value(value)}")
        return value

    def boolean(self, parent, key, pointer, required=True):
        if key not in parent:
            if required:
                self.fail(pointer, f"missing key \"{key}\"")
            return None
        value = parent[key]
        if not isinstance(value, bool):
            self.fail(f"{pointer}/{key}", f"expected true or false, got {describe_value(value)}")
        return value

    def integer(self, parent, key, pointer, minimum=None):
        value = self.number(parent, key, pointer)
        if not isinstance(value, int) and not (isinstance(value, float) and value.is_integer()):
            self.fail(f"{pointer}/{key}", f"expected an integer, got {describe_value(value)}")
        value = int(value)
        if minimum is not None and value < minimum:
            self.fail(f"{pointer}/{key}", f"expected an integer >= {minimum}, got {value}")
        return value


# --------------------------------------------------------------------------- run logs

class RunLog:
    """A validated run log. ``data`` is the parsed JSON; accessors cover what tools need."""

    def __init__(self, path, data):
        self.path = path
        self.data = data

    # Identity ------------------------------------------------------------------
    @property
    def status(self):
        return self.data["status"]

    def writer_alive(self):
        """For a log that says "running": True if the process writing it is still alive, False
        if it ended (killed, crashed, its machine rebooted) without finishing the log, None when
        this machine cannot tell (another host, or a log without a ``writer`` object)."""
        writer = self.data.get("writer")
        if not isinstance(writer, dict) or writer.get("hostname") != os.uname().nodename:
            return None
        try:
            with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
                if writer.get("boot_id") != f.read().strip():
                    return False  # written before this machine last booted
        except OSError:
            return None
        pid, start = writer.get("pid"), writer.get("start_ticks")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            return None
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            return False
        # Field 22, the start time, tells the writer from a later process given the same pid.
        return len(fields) < 20 or not isinstance(start, int) or int(fields[19]) == start

    @property
    def display_status(self):
        """The status, or for a "running" log whose writer has ended, saying so."""
        if self.status == "running" and self.writer_alive() is False:
            return "running, but its process ended"
        return self.status

    @property
    def experiment(self):
        return self.data["experiment"]

    @property
    def name(self):
        return self.data["experiment"]["name"]

    @property
    def engine(self):
        """What trained: "mlpbench 0.1.0 (GNU 12.2.0)" for the engine; a peer names itself in
        build.compiler ("PyTorch 1.13.1")."""
        build = self.data["build"]
        if build.get("simd_config") == "peer" or str(build["compiler"]).startswith("PyTorch"):
            return build["compiler"]
        version = build.get("version")
        return f"mlpbench {version} ({build['compiler']})" if version else \
            f"mlpbench ({build['compiler']})"

    @property
    def threads(self):
        return int(self.data["run"]["threads"])

    @property
    def simd_target(self):
        return self.data["run"]["simd_target"]

    @property
    def epochs(self):
        return self.data["epochs"]

    @property
    def summary(self):
        return self.data.get("summary") or {}

    @property
    def host(self):
        return self.data.get("host") or {}

    @property
    def reference_accuracy(self):
        ref = self.experiment.get("reference")
        if isinstance(ref, dict) and is_number(ref.get("test_accuracy")):
            return float(ref["test_accuracy"])
        return None

    @property
    def reference_source(self):
        ref = self.experiment.get("reference")
        if isinstance(ref, dict) and isinstance(ref.get("source"), str):
            return ref["source"]
        return ""

    # Per-epoch series ------------------------------------------------------------
    def series(self, key):
        """Values of one epoch key as floats (None/missing -> NaN)."""
        out = []
        for e in self.epochs:
            v = e.get(key)
            out.append(float(v) if is_number(v) else float("nan"))
        return out

    def epoch_numbers(self):
        return [int(e["epoch"]) for e in self.epochs]

    @property
    def has_validation(self):
        return is_number(self.experiment.get("validation_split")) and \
            self.experiment["validation_split"] > 0

    def callback_events(self):
        """What the callbacks did, in order (docs/run-log.md): [] without callbacks."""
        return self.data.get("callback_events") or []

    def restored_epoch(self):
        """The epoch whose weights restore_best_weights brought back, or None."""
        for event in self.callback_events():
            if event["action"] == "restore_best_weights" and "restored_epoch" in event:
                return int(event["restored_epoch"])
        return None

    def weights_epoch(self):
        """The epoch whose weights the run ends with: the restored one, else the last (None
        without epochs)."""
        restored = self.restored_epoch()
        if restored is not None:
            return restored
        return int(self.epochs[-1]["epoch"]) if self.epochs else None

    def target(self):
        """The experiment's target_accuracy as the summary reports it: {"accuracy", "metric",
        "epoch", "train_seconds", "eval_seconds"} (the last three None while not reached), or
        None without a target."""
        s = self.summary
        if not is_number(s.get("target_accuracy")):
            return None
        return {"accuracy": float(s["target_accuracy"]), "metric": s.get("target_metric"),
                "epoch": s.get("epochs_to_target"), "train_seconds": s.get("time_to_target_seconds"),
                "eval_seconds": s.get("eval_seconds_to_target")}

    # Summary numbers, from the epochs (the source of truth) with the summary as fallback.
    def final_test_accuracy(self):
        """The test accuracy of the weights the run ends with (after restore_best_weights, the
        restored epoch's): the log's final evaluation, else that epoch's."""
        evaluation = self.data.get("evaluation")
        if isinstance(evaluation, dict) and is_number(evaluation.get("test_accuracy")):
            return float(evaluation["test_accuracy"])
        epoch = self.weights_epoch()
        for e, value in zip(self.epoch_numbers(), self.series("test_accuracy")):
            if e == epoch:
                return value
        return _num_or_nan(self.summary.get("final_test_accuracy"))

    def best_test_accuracy(self):
        """The best epoch's test accuracy; NaN with a validation split (a model is then chosen
        on validation, never on test)."""
        if self.has_validation:
            return float("nan")
        values = [v for v in self.series("test_accuracy") if not math.isnan(v)]
        if values:
            return max(values)
        return _num_or_nan(self.summary.get("best_test_accuracy"))

    def mean_epoch_seconds(self):
        values = [v for v in self.series("train_seconds") if not math.isnan(v)]
        if values:
            return statistics.fmean(values)
        return _num_or_nan(self.summary.get("mean_epoch_seconds"))

    def median_samples_per_second(self):
        values = [v for v in self.series("samples_per_second") if math.isfinite(v) and v > 0]
        return statistics.median(values) if values else float("nan")

    def host_noise(self):
        """Why the host may have slowed this run ([] if it looked quiet): the log's
        run.host_noise_reasons when run.host_noisy is true; for logs older than that field, an
        epoch whose team barrier took more than 1 us (quiet: 0.03-0.08 us)."""
        run = self.data["run"]
        if "host_noisy" in run:
            if run["host_noisy"] is not True:
                return []
            reasons = run.get("host_noise_reasons")
            return [str(r) for r in reasons] if isinstance(reasons, list) and reasons else \
                ["run.host_noisy"]
        worst = max((v for v in self.series("barrier_us") if math.isfinite(v)), default=0.0)
        return [f"team barrier {worst:.2f} us in an epoch (quiet: below 1 us)"] if worst > 1.0 \
            else []

    def label(self, status=True):
        """'mlp512_5ep · mlpbench 0.1.0 (GNU 12.2.0) · 2 threads · AVX3 [running]'; a peer with
        separate torch and BLAS thread counts (the libtorch one) shows both, '1+2 threads'."""
        t = self.threads
        peer = (self.data["build"].get("peer_config") or {})
        counts = (peer.get("torch_threads"), peer.get("blas_threads"))
        threads = (f"{counts[0]}+{counts[1]} threads (torch+BLAS)"
                   if all(isinstance(c, int) for c in counts) and counts[0] != counts[1]
                   else f"{t} thread{'s' if t != 1 else ''}")
        text = f"{self.name} · {self.engine} · {threads} · {self.simd_target}"
        if status and self.status != "completed":
            text += f" [{self.display_status}]"
        return text


def _num_or_nan(value):
    return float(value) if is_number(value) else float("nan")


def validate_run_log(path, data):
    """A RunLog of `data` (parsed from `path`) if it matches schemas/run-log.schema.json."""
    if isinstance(data, dict) and data.get("schema") != RUN_SCHEMA:
        if "schema" not in data:
            raise ToolError(f"{path}: /: missing key \"schema\" (not an mlpbench run log; "
                            f"expected \"{RUN_SCHEMA}\")")
        raise ToolError(f"{path}: /schema: expected \"{RUN_SCHEMA}\", got "
                        f"{schemas.describe_value(data['schema'])}")
    schemas.check("run-log", path, data)
    return RunLog(path, data)


def load_run_log(path):
    return validate_run_log(path, load_json(path))


def expand_log_args(args, what="run log"):
    """Files stay as they are; a directory stands for every *.json file directly inside it."""
    paths = []
    for arg in args:
        if os.path.isdir(arg):
            try:
                names = os.listdir(arg)
            except OSError as e:
                raise ToolError(f"{arg}: cannot list: {e.strerror or e}") from None
            found = sorted(os.path.join(arg, n) for n in names
                           if n.endswith(".json") and os.path.isfile(os.path.join(arg, n)))
            if not found:
                raise ToolError(f"{arg}: directory contains no *.json {what}s")
            paths.extend(found)
        else:
            paths.append(arg)
    return paths


def load_run_logs(args):
    return [load_run_log(p) for p in expand_log_args(args)]


def run_logs_under(folder, only_logs=False):
    """The run logs in `folder` and its subfolders, by path; other JSON files are skipped, or
    with `only_logs` refused."""
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*.json"), recursive=True)):
        data = load_json(path)
        if only_logs or (isinstance(data, dict) and data.get("schema") == RUN_SCHEMA):
            out.append(validate_run_log(path, data))
    return out


def study_manifest(folder):
    """The path of a tools/scaling_study.py folder's study.json."""
    return os.path.join(folder, "study.json")


def load_study(folder):
    """The runs of a tools/scaling_study.py folder, from its study.json: a list of objects with
    `output` (a file name in the folder), `exit` (an exit status, null while unknown), and
    optionally `kind` and `command`. Every file it lists is an input of this process, read or
    not (a tool may skip some runs): no output replaces one."""
    path = study_manifest(folder)
    data = load_json(path)
    c = Checker(path)
    if not isinstance(data, dict):
        c.fail("", f"expected a study object, got {describe_value(data)}")
    runs = data.get("runs")
    if not isinstance(runs, list):
        c.fail("/runs", f"expected a list, got {describe_value(runs)}")
    for i, run in enumerate(runs):
        ptr = f"/runs/{i}"
        if not isinstance(run, dict):
            c.fail(ptr, f"expected an object, got {describe_value(run)}")
        output = c.string(run, "output", ptr)
        if os.path.basename(output) != output or output in (".", ".."):
            c.fail(f"{ptr}/output", f"expected a file name in the study's folder, got "
                                    f"{describe_value(output)}")
        c.string(run, "kind", ptr, required=False)
        code = run.get("exit")
        if code is not None and type(code) is not int:
            c.fail(f"{ptr}/exit", f"expected an exit status, got {describe_value(code)}")
        command = run.get("command", [])
        if not (isinstance(command, list) and all(isinstance(a, str) for a in command)):
            c.fail(f"{ptr}/command", f"expected a list of strings, got "
                                     f"{describe_value(command)}")
    for run in runs:
        note_input(os.path.join(folder, run["output"]))
    return runs


def unique_labels(logs, status=True):
    """Run labels, with as much of the file path appended as tells equal labels apart."""
    labels = [log.label(status) for log in logs]
    out = list(labels)
    for label in set(labels):
        idx = [i for i, lab in enumerate(labels) if lab == label]
        if len(idx) < 2:
            continue
        parts = [os.path.normpath(logs[i].path).split(os.sep) for i in idx]
        for depth in range(1, max(len(p) for p in parts) + 1):
            tails = ["/".join(p[-depth:]) for p in parts]
            if len(set(tails)) == len(tails):
                break
        for i, tail in zip(idx, tails):
            out[i] = f"{label} ({tail})"
    return out


def result_key(value):
    """Exact identity of a JSON number: distinguishes -0.0 from 0.0, NaN equals NaN."""
    if value is None:
        return None
    return float(value).hex() if not math.isnan(float(value)) else "nan"


# --------------------------------------------------------------------------- benchmark JSON

_TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class BenchFile:
    """A Google Benchmark JSON output (library 1.7.x)."""

    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.context = data.get("context") or {}
        self.benchmarks = data["benchmarks"]

    def iterations(self):
        """{run_name: [entry, ...]} of the per-repetition entries, in file order.

        Aggregates (mean, median, stddev, cv, BigO, RMS) and errored runs are skipped. Entries of
        old outputs without run_type count as iterations.
        """
        groups = {}
        for entry in self.benchmarks:
            if entry.get("run_type", "iteration") != "iteration":
                continue
            if entry.get("error_occurred"):
                continue
            name = entry.get("run_name") or entry["name"]
            groups.setdefault(name, []).append(entry)
        return groups

    def times_ns(self, run_name, metric):
        return [float(e[metric]) * _TIME_UNITS[e.get("time_unit", "ns")]
                for e in self.iterations().get(run_name, [])]

    def median(self, run_name, key):
        """(median of `key` over a benchmark's repetitions, its entries); from the file's median
        aggregate when it holds aggregates only (--benchmark_report_aggregates_only). A name
        matches with or without its "/real_time" suffix; times (real_time, cpu_time) are in ns.
        None and [] when the benchmark or the key is not there."""
        names = (run_name, run_name + "/real_time")

        def value(e):
            scale = _TIME_UNITS[e.get("time_unit", "ns")] if key in ("real_time", "cpu_time") else 1
            return float(e[key]) * scale
        entries = [e for name in names for e in self.iterations().get(name, [])
                   if is_number(e.get(key))]
        if entries:
            return statistics.median(value(e) for e in entries), entries
        entries = [e for e in self.benchmarks if e.get("run_name") in names
                   and e.get("aggregate_name") == "median" and is_number(e.get(key))]
        return (value(entries[0]), entries) if entries else (None, [])

    def simd_target(self):
        value = self.context.get("mlpbench_simd_target")
        return str(value) if value not in (None, "") else None

    def git_commit(self):
        value = self.context.get("mlpbench_git_commit")
        return str(value) if value not in (None, "") else None


def validate_bench(path, data):
    """A BenchFile of `data` (parsed from `path`) if it matches
    schemas/benchmark-record.schema.json."""
    if isinstance(data, dict) and "benchmarks" not in data:
        raise ToolError(f"{path}: /: missing key \"benchmarks\" (not a Google Benchmark JSON "
                        f"output)")
    schemas.check("benchmark-record", path, data)
    return BenchFile(path, data)


def load_bench(path):
    return validate_bench(path, load_json(path))


def format_time_ns(ns):
    """'249.9 us', '2.990 us', '12.34 ms': four significant digits, unit by magnitude."""
    if not math.isfinite(ns):
        return "-"
    scale, unit = next(((s, u) for s, u in ((1e9, "s"), (1e6, "ms"), (1e3, "us"))
                        if abs(ns) >= s), (1.0, "ns"))
    value = ns / scale
    decimals = 3 if abs(value) < 10 else 2 if abs(value) < 100 else 1
    return f"{value:.{decimals}f} {unit}"
