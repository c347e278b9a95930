"""The history of tools/track.py: where it lives, what keys a record, and its SQLite index.

Layout of a history folder (default: $MLPBENCH_HISTORY, else $XDG_DATA_HOME/mlpbench/history,
else ~/.local/share/mlpbench/history; never inside the repository):

  raw/<machine>/<UTC time>_<commit>_<simd>.json       Google Benchmark's JSON, unmodified
  raw/<machine>/<UTC time>_<commit>_<simd>.host.json  the host's state while it ran (optional)
  index.sqlite                                        rebuilt from raw/ whenever raw/ changed

The raw files are the source of truth; deleting index.sqlite loses nothing.

A record's keys come from its Google Benchmark context (what mlp_bench wrote about itself):
  machine  CPU vendor/family/model/stepping, data caches, logical CPUs, memory (GiB)
  build    compiler, build type, compile flags, SIMD config, compiled targets, active target,
           OpenMP, threads
A series is one benchmark on one machine and one build: only those compare.
"""

import datetime
import hashlib
import json
import os
import re
import sqlite3
import tempfile

from mlpbench import files as mlpbench_files
from mlpbench import logs as ml
from mlpbench.tracking import host as track_host

INDEX_VERSION = "1"

MACHINE_KEYS = ("cpu_id", "caches", "logical_cpus", "memory_gib")
BUILD_KEYS = ("compiler", "build_type", "cxx_flags", "simd_config", "simd_compiled",
              "simd_target", "openmp", "threads")
_CONTEXT_BUILD = {"compiler": "mlpbench_compiler", "build_type": "mlpbench_build_type",
                  "cxx_flags": "mlpbench_cxx_flags", "simd_config": "mlpbench_simd_config",
                  "simd_compiled": "mlpbench_simd_compiled",
                  "simd_target": "mlpbench_simd_target", "openmp": "mlpbench_openmp",
                  "threads": "mlpbench_threads"}
UNKNOWN = "?"


def default_history():
    env = os.environ.get("MLPBENCH_HISTORY")
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return os.path.join(base, "mlpbench", "history")


# ----------------------------------------------------------------------------- keys

def _size_text(n):
    for unit, scale in (("G", 1024 ** 3), ("M", 1024 ** 2), ("K", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def _gib(n):
    return str(round(int(n) / 1024 ** 3)) if str(n).isdigit() else UNKNOWN


def caches_text(pairs):
    return " ".join(f"{name}:{_size_text(size)}" for name, size in pairs) or UNKNOWN


def machine_facts_of(context):
    """The machine keys of a record, from its Google Benchmark context."""
    caches = []
    for c in context.get("caches") or []:
        if not isinstance(c, dict) or c.get("type") == "Instruction":
            continue
        try:
            caches.append((f"L{int(c['level'])}{'d' if c.get('type') == 'Data' else ''}",
                           int(c["size"])))
        except (KeyError, TypeError, ValueError):
            continue
    return {"cpu_id": str(context.get("mlpbench_cpu_id") or UNKNOWN),
            "caches": caches_text(caches),
            "logical_cpus": str(context.get("num_cpus", UNKNOWN)),
            "memory_gib": _gib(context.get("mlpbench_memory_bytes", UNKNOWN))}


def machine_facts_here():
    """The same keys for the machine this runs on (to find its own records)."""
    mem = track_host.memory_bytes()
    return {"cpu_id": track_host.cpu_id(), "caches": caches_text(track_host.caches()),
            "logical_cpus": str(track_host.logical_cpus()),
            "memory_gib": _gib(mem) if mem else UNKNOWN}


def build_facts_of(context):
    return {k: str(context.get(v, UNKNOWN)) if context.get(v) not in (None, "") else UNKNOWN
            for k, v in _CONTEXT_BUILD.items()}


def fingerprint(facts):
    text = json.dumps(facts, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def differences(facts_a, facts_b):
    """['cpu_id: X (A) vs Y (B)', ...] for the keys that differ."""
    return [f"{k}: {facts_a.get(k)} (A) vs {facts_b.get(k)} (B)"
            for k in sorted(set(facts_a) | set(facts_b)) if facts_a.get(k) != facts_b.get(k)]


def split_commit(text):
    """('abc123', dirty?) from mlpbench_git_commit's 'abc123' or 'abc123-dirty'."""
    text = text or UNKNOWN
    if text.endswith("-dirty"):
        return text[:-len("-dirty")], True
    return text, False


# ----------------------------------------------------------------------------- records

class Record:
    """One filed benchmark output with its keys."""

    def __init__(self, path, bench, host=None):
        self.path = path
        self.bench = bench
        self.host = host or {}
        ctx = bench.context
        self.machine_facts = machine_facts_of(ctx)
        self.build_facts = build_facts_of(ctx)
        self.machine = fingerprint(self.machine_facts)
        self.build = fingerprint(self.build_facts)
        self.commit, self.dirty = split_commit(bench.git_commit())
        when = bench_date_utc(ctx.get("date"))
        self.date = when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else UNKNOWN

    @property
    def series(self):
        return (self.machine, self.build)

    def noisy_reasons(self):
        return list(self.host.get("noisy_reasons") or [])

    def describe(self):
        b = self.build_facts
        return (f"commit {self.commit}{' (dirty)' if self.dirty else ''}, {self.date}, "
                f"{b['simd_target']}, {b['threads']} threads, machine {self.machine}, "
                f"build {self.build}")


def bench_date_utc(text):
    """Google Benchmark's context date (local ISO 8601) as UTC, or None."""
    if not isinstance(text, str):
        return None
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(datetime.timezone.utc)


def host_path(path):
    return path[:-len(".json")] + ".host.json"


def load_record(path):
    bench = ml.load_bench(path)
    host = None
    side = host_path(path)
    if os.path.lexists(side):
        host = ml.load_json(side)
        if not isinstance(host, dict):
            raise ml.ToolError(f"{side}: expected a JSON object, got {ml.describe_value(host)}")
        reasons = host.get("noisy_reasons", [])
        if not (isinstance(reasons, list) and all(isinstance(r, str) for r in reasons)):
            raise ml.ToolError(f"{side}: /noisy_reasons: expected a list of strings, got "
                               f"{ml.describe_value(reasons)}")
    return Record(path, bench, host)


def _safe(text):
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "unknown"


def file_record(history, raw_bytes, bench, host=None):
    """Store a benchmark output (and its host state) in the history; returns the JSON's path."""
    rec = Record("", bench, host)
    folder = os.path.join(history, "raw", rec.machine)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise ml.ToolError(f"{folder}: cannot create: {e.strerror or e}") from None
    when = bench_date_utc(bench.context.get("date")) or datetime.datetime.now(
        datetime.timezone.utc)
    commit = bench.git_commit() or UNKNOWN
    stem = f"{when.strftime('%Y-%m-%dT%H%M%SZ')}_{_safe(commit)}_" \
           f"{_safe(rec.build_facts['simd_target'])}"
    # The name is claimed by creating the record exclusively (link(2) of the complete file):
    # of records filed at once under one name, each gets its own suffix and none is lost.
    dest = os.path.join(folder, stem + ".json")
    k = 1
    while not mlpbench_files.create_exclusive(dest, raw_bytes):
        dest = os.path.join(folder, f"{stem}-{k}.json")
        k += 1
    if host is not None:
        mlpbench_files.write_atomic(host_path(dest), json.dumps(host, indent=1) + "\n")
    return dest


# ----------------------------------------------------------------------------- the index

def raw_files(history):
    root = os.path.join(history, "raw")
    out = []
    for folder, _, names in os.walk(root):
        out += [os.path.join(folder, n) for n in names
                if n.endswith(".json") and not n.endswith(".host.json")]
    return sorted(out)


def _signature(files):
    h = hashlib.sha1(INDEX_VERSION.encode())
    for f in files:
        for p in (f, host_path(f)):
            try:
                st = os.stat(p)
                h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            except OSError:
                pass
    return h.hexdigest()


SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE machines (id TEXT PRIMARY KEY, facts TEXT);
CREATE TABLE builds (id TEXT PRIMARY KEY, facts TEXT);
CREATE TABLE records (id INTEGER PRIMARY KEY, path TEXT UNIQUE, machine TEXT, build TEXT,
                      commit_id TEXT, dirty INTEGER, date TEXT, host TEXT);
CREATE TABLE samples (record INTEGER, benchmark TEXT, repetition INTEGER, real_ns REAL,
                      cpu_ns REAL);
CREATE INDEX samples_by_benchmark ON samples (benchmark, record);
"""


def open_index(history):
    """The SQLite index of `history`, rebuilt first if raw/ changed since it was made."""
    files = raw_files(history)
    sig = _signature(files)
    path = os.path.join(history, "index.sqlite")
    if os.path.exists(path):
        try:
            db = sqlite3.connect(path)
            row = db.execute("SELECT value FROM meta WHERE key = 'signature'").fetchone()
            if row and row[0] == sig:
                return db
            db.close()
        except sqlite3.DatabaseError:
            pass
    return rebuild_index(history, files, sig)


def rebuild_index(history, files=None, sig=None):
    files = raw_files(history) if files is None else files
    sig = sig or _signature(files)
    index = os.path.join(history, "index.sqlite")
    try:
        os.makedirs(history, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=history, prefix=".index-", suffix=".sqlite")
        os.close(fd)
    except OSError as e:
        raise ml.ToolError(f"{index}: cannot write the index: {e.strerror or e}") from None
    try:
        db = sqlite3.connect(tmp)
        db.executescript(SCHEMA)
        for f in files:
            rec = load_record(f)
            db.execute("INSERT OR IGNORE INTO machines VALUES (?, ?)",
                       (rec.machine, json.dumps(rec.machine_facts, sort_keys=True)))
            db.execute("INSERT OR IGNORE INTO builds VALUES (?, ?)",
                       (rec.build, json.dumps(rec.build_facts, sort_keys=True)))
            cur = db.execute("INSERT INTO records (path, machine, build, commit_id, dirty, date, "
                             "host) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (f, rec.machine, rec.build, rec.commit, int(rec.dirty), rec.date,
                              json.dumps(rec.host, sort_keys=True)))
            rid = cur.lastrowid
            for name in rec.bench.iterations():
                real = rec.bench.times_ns(name, "real_time")
                cpu = rec.bench.times_ns(name, "cpu_time")
                db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)",
                               [(rid, name, i, r, c) for i, (r, c) in enumerate(zip(real, cpu))])
        db.execute("INSERT INTO meta VALUES ('signature', ?)", (sig,))
        db.commit()
        db.close()
        os.replace(tmp, index)
    except (OSError, sqlite3.Error) as e:
        raise ml.ToolError(f"{index}: cannot write the index: {getattr(e, 'strerror', None) or e}"
                           ) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return sqlite3.connect(index)


def records(db, machine=None, build=None):
    """[(path, machine, build, commit, dirty, date)] ordered by date, optionally one series."""
    sql = "SELECT path, machine, build, commit_id, dirty, date FROM records"
    cond, args = [], []
    if machine:
        cond.append("machine = ?")
        args.append(machine)
    if build:
        cond.append("build = ?")
        args.append(build)
    if cond:
        sql += " WHERE " + " AND ".join(cond)
    return db.execute(sql + " ORDER BY date, path", args).fetchall()


def resolve(arg, history):
    """A record argument: a file, 'latest' (this machine's newest record), 'previous' (the one
    before the newest of the same machine and build), or a unique part of a record's name among
    this machine's records."""
    if os.path.exists(arg):
        return arg
    if not os.path.isdir(history):
        raise ml.ToolError(f"{arg}: no such file, and no history at {history} "
                           f"(record one with 'track.py record')")
    db = open_index(history)
    here = fingerprint(machine_facts_here())
    mine = records(db, machine=here)
    if not mine:
        total = len(records(db))
        raise ml.ToolError(f"{arg}: {history} has no record of this machine ({here}; "
                           f"{total} record(s) of other machines are never picked)")
    if arg in ("latest", "previous"):
        last = mine[-1]
        if arg == "latest":
            return last[0]
        same = [r for r in mine[:-1] if r[2] == last[2]]
        if not same:
            raise ml.ToolError(f"previous: {history} has no earlier record of this machine with "
                               f"the build of the latest one ({last[0]})")
        return same[-1][0]
    matches = [r[0] for r in mine if arg in os.path.basename(r[0])]
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(os.path.basename(m) for m in matches[:4])
        raise ml.ToolError(f"{arg}: ambiguous, matches {len(matches)} records ({shown}"
                           f"{', ...' if len(matches) > 4 else ''})")
    raise ml.ToolError(f"{arg}: no such file, nor a record of this machine in {history}")
