"""Performance regression tracking for mlp_bench (Google Benchmark) on noisy machines.

  record     run the key benchmarks (or --filter/--set) and file the output in the history
  compare    two records of one machine and build: interval on the ratio, verdict, exit status
  ab         the CI gate: build two commits, run them interleaved (ABBA) until the verdict is
             clear or --budget-s runs out
  calibrate  A/A blocks on this machine: the smallest change each benchmark can resolve
  analyze    change points over the first-parent history of every series
  bisect     git bisect run with a step that builds, measures against GOOD, exits 0/1/125
             (255, stopping the bisect, when it cannot measure)
  report     history over commits with spread bands and change points (PNG/SVG/HTML) or as
             json/csv/md

History lives outside the repository: $MLPBENCH_HISTORY, else
$XDG_DATA_HOME/mlpbench/history (~/.local/share/mlpbench/history), with the build cache that
ab, bisect and record --commit share in its builds/ (mlpbench.tracking.build). See docs/tracking.md.

Exit status of compare and ab: 0 no regression, 1 regression, 3 inconclusive (the reason is
printed), 2 error (bad arguments, a failed build, a crash). bisect: 0 culprit named, 3 none
can be named, 2 error.
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from mlpbench import REPO_ROOT, TOOLS_DIR
from mlpbench import cli
from mlpbench import files as mlpbench_files
from mlpbench import logs as ml
from mlpbench import plotting

PROG = "track.py"
EXIT_OK, EXIT_REGRESSION, EXIT_ERROR, EXIT_INCONCLUSIVE = 0, 1, 2, 3
TOOL = os.path.join(TOOLS_DIR, "track.py")  # the entry script, for the bisect steps
METRIC_COLUMN = {"real_time": "real_ns", "cpu_time": "cpu_ns"}


def say(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- shared output

def pct(x):
    return "inf" if not math.isfinite(x) else f"{x:+.1f}"


def interval_text(iv):
    e, lo, hi = iv.change_pct()
    if not math.isfinite(iv.low):
        return f"{pct(e)} % [too few samples]"
    return f"{pct(e)} % [{lo:+.1f}, {hi:+.1f}]"


def load_calibration(history, machine, build):
    path = os.path.join(history, "calibration", f"{machine}-{build}.json")
    if not os.path.exists(path):
        return None, path
    data = ml.load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), dict):
        raise ml.ToolError(f"{path}: expected an object with \"benchmarks\"")
    for name, entry in data["benchmarks"].items():
        if not isinstance(entry, dict):
            raise ml.ToolError(f"{path}: /benchmarks/{name}: expected an object, got "
                               f"{ml.describe_value(entry)}")
    return data, path


def not_gating_from(calibration, threshold):
    """{name: reason} of the benchmarks whose calibrated resolution cannot tell +threshold."""
    out = {}
    if not calibration:
        return out
    for name, c in calibration["benchmarks"].items():
        res = c.get("resolution")
        if ml.is_number(res) and res >= threshold:
            out[name] = f"resolves only ±{res * 100:.1f} % here (calibrate)"
    return out


# ----------------------------------------------------------------------------- record

def host_state_run(binary, regex, reps, min_time, threads, out, progress, names=None):
    """Run mlp_bench once (with the host probe) and return (names, bench, host state)."""
    from mlpbench.tracking import host as track_host
    from mlpbench.tracking import run as track_run
    before = track_host.cpu_times()
    own_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = track_host.load_average()
    names = track_run.run_bench(binary, track_run.with_probe(regex), reps, min_time, out,
                                progress=progress, names=names, threads=threads)
    after = track_host.cpu_times()
    own_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    steal = track_host.steal_fraction(before, after)
    others = track_host.others_fraction(before, after, own)
    bench = ml.load_bench(out)
    probe = [n for n in bench.iterations() if n.startswith(track_run.HOST_PROBE + "/")]
    barrier = statistics.median(bench.times_ns(probe[0], "real_time")) if probe else None
    load = track_host.load_average()
    cpus = track_host.logical_cpus()
    try:
        thr = int(bench.context.get("mlpbench_threads", threads or 0))
    except ValueError:
        thr = None
    reasons = track_run.noisy_reasons(load, barrier, steal, thr, cpus, others)
    state = {"load_before": load_before, "load_after": load, "steal_fraction": steal,
             "others_fraction": others,
             "barrier_ns": barrier, "logical_cpus": cpus, "threads": thr,
             "noisy": bool(reasons), "noisy_kinds": [k for k, _ in reasons],
             "noisy_reasons": [r for _, r in reasons]}
    return names, bench, state


def cmd_record(args):
    from mlpbench.tracking import host as track_host
    from mlpbench.tracking import run as track_run
    from mlpbench.tracking import store as track_store
    history = args.history
    if args.from_json:
        bench = ml.load_bench(args.from_json)
        if not bench.iterations():
            raise ml.ToolError(f"{args.from_json}: no benchmark results in it")
        print(track_store.file_record(history, ml.read_bytes(args.from_json), bench))
        return EXIT_OK
    regex = args.filter or track_run.BENCHMARK_SETS[args.set]
    binary = build_rev(args, args.commit, "record")[0] if args.commit else check_binary(args.bench)
    with track_host.machine_lock("track.py record", args.lock_wait_s, say):
        busy = track_run.wait_quiet(args.quiet_wait_s)
        os.makedirs(history, exist_ok=True)
        fd, out = tempfile.mkstemp(dir=history, prefix=".track-run-", suffix=".json")
        os.close(fd)
        try:
            say(f"recording {args.set if not args.filter else repr(args.filter)} x "
                f"{args.repetitions} repetitions with {binary}")
            _, bench, state = host_state_run(binary, regex, args.repetitions, args.min_time,
                                             args.threads, out, not args.quiet)
            state["busy_before"] = busy
            state["filter"] = regex
            if not [n for n in bench.iterations()
                    if not n.startswith(track_run.HOST_PROBE + "/")]:
                raise ml.ToolError(f"{binary}: produced no benchmark results for {regex!r}")
            path = track_store.file_record(history, ml.read_bytes(out), bench, state)
        finally:
            if os.path.exists(out):
                os.unlink(out)
    if state["noisy_reasons"]:
        say("warning: the host was noisy during this record: "
            + "; ".join(state["noisy_reasons"]))
    print(path)
    return EXIT_OK


def check_binary(path):
    if not os.path.isfile(path):
        raise ml.ToolError(f"{path}: no such benchmark binary (build it first, or pass --bench)")
    if not os.access(path, os.X_OK):
        raise ml.ToolError(f"{path}: not executable")
    return path


# ----------------------------------------------------------------------------- compare

def compare_records(rec_a, rec_b, threshold, confidence, metric, not_gating=None):
    """{name: (Interval, verdict)} of two records' repetitions (unpaired: they were not
    interleaved), family-wise over the benchmarks both have (the host probe excluded)."""
    from mlpbench.tracking import run as track_run
    from mlpbench.tracking import stats as ts
    ia, ib = rec_a.bench.iterations(), rec_b.bench.iterations()
    names = [n for n in ia if n in ib and not n.startswith(track_run.HOST_PROBE + "/")]
    gating = [n for n in names if n not in (not_gating or {})]
    level = ts.family_confidence(confidence, len(gating))
    out = {}
    for n in names:
        la = [math.log(t) for t in rec_a.bench.times_ns(n, metric) if t > 0]
        lb = [math.log(t) for t in rec_b.bench.times_ns(n, metric) if t > 0]
        iv = ts.unpaired_interval(la, lb, level if n in gating else confidence)
        out[n] = (iv, ts.verdict(iv, threshold))
    return out, [n for n in ia if n not in ib], [n for n in ib if n not in ia]


def probe_ns(rec):
    from mlpbench.tracking import run as track_run
    for n in rec.bench.iterations():
        if n.startswith(track_run.HOST_PROBE + "/"):
            return statistics.median(rec.bench.times_ns(n, "real_time"))
    return None


def host_doubts(rec_a, rec_b):
    """Why the two records' hosts may differ (they were taken apart, not interleaved)."""
    doubts = []
    for label, rec in (("A", rec_a), ("B", rec_b)):
        if rec.noisy_reasons():
            doubts.append(f"{label} was recorded on a noisy host ({'; '.join(rec.noisy_reasons())})")
    a, b = probe_ns(rec_a), probe_ns(rec_b)
    if a and b:
        lo, hi = sorted((a, b))
        if hi > 2 * lo and hi - lo > 100:
            doubts.append(f"the host probe (BM_TeamBarrier) moved from {ml.format_time_ns(a)} "
                          f"(A) to {ml.format_time_ns(b)} (B)")
    return doubts


def cmd_compare(args):
    from mlpbench.tracking import render
    from mlpbench.tracking import stats as ts
    from mlpbench.tracking import store as track_store
    check_threshold(args)
    rec_a = track_store.load_record(track_store.resolve(args.a, args.history))
    rec_b = track_store.load_record(track_store.resolve(args.b, args.history))
    for rec in (rec_a, rec_b):
        if not rec.bench.iterations():
            raise ml.ToolError(f"{rec.path}: no benchmark results in it")
    diffs = (track_store.differences(rec_a.machine_facts, rec_b.machine_facts),
             track_store.differences(rec_a.build_facts, rec_b.build_facts))
    for what, d in zip(("machines", "builds"), diffs):
        if d and not args.allow_cross:
            raise ml.ToolError(f"A and B come from different {what} ({'; '.join(d)}); "
                               f"comparing them says nothing about the code. Pass --allow-cross "
                               f"to compare anyway")
        if d:
            say(f"warning: different {what} (--allow-cross): {'; '.join(d)}")
    cal, _ = load_calibration(args.history, rec_b.machine, rec_b.build)
    not_gating = not_gating_from(cal, args.threshold)
    decisions, only_a, only_b = compare_records(rec_a, rec_b, args.threshold, args.confidence,
                                                args.metric, not_gating)
    if not decisions:
        raise ml.ToolError(f"{rec_a.path} and {rec_b.path} have no benchmark in common")
    doubts = host_doubts(rec_a, rec_b)
    verdicts = [v for n, (_, v) in decisions.items() if n not in not_gating]
    code = ts.exit_status(verdicts)
    if doubts:  # no row may claim a direction: the host's change and the code's are one
        reason = (f"INCONCLUSIVE: {measured_direction(verdicts)}, but " + "; and ".join(doubts)
                  + ". Separate records cannot tell the host's change from the code's: run "
                  "'track.py ab' (interleaved).")
        code = EXIT_INCONCLUSIVE
    else:
        reason = verdict_line(code, verdicts, args.threshold, COMPARE_HINT)
    rows = [render.row(n, iv, render.HOSTS_DIFFERED if doubts else v,
                       rec_a.bench.times_ns(n, args.metric), rec_b.bench.times_ns(n, args.metric),
                       n not in not_gating, not_gating.get(n, ""))
            for n, (iv, v) in sorted(decisions.items())]
    comparison = {"a": record_side(rec_a), "b": record_side(rec_b), "threshold": args.threshold,
                  "confidence": args.confidence, "rows": rows, "only_in_a": only_a,
                  "only_in_b": only_b, "verdict": VERDICT_WORD[code], "exit_status": code,
                  "reason": reason, "host_note": "", "notes": []}
    print(f"A: {rec_a.path}\n   {rec_a.describe()}")
    print(f"B: {rec_b.path}\n   {rec_b.describe()}")
    print(f"metric {args.metric}; Hodges-Lehmann change of B over A with the Mann-Whitney "
          f"interval (the records were not interleaved)")
    sys.stdout.write(render.text(comparison))
    if args.output:
        render.figure(comparison, args.output)
    return code


def record_side(rec):
    return {"label": os.path.basename(rec.path), "commit": rec.commit, "subject": "",
            "path": rec.path}


def measured_direction(verdicts):
    """What the numbers alone would say, for the line that says why they cannot be trusted."""
    from mlpbench.tracking import stats as ts
    if ts.REGRESSION in verdicts:
        return "slower"
    if verdicts and all(v == ts.IMPROVEMENT for v in verdicts):
        return "faster"
    return "no change beyond the threshold"


AB_HINT = "more blocks: raise --budget-s / --max-blocks, or run at a quieter time"
COMPARE_HINT = ("more repetitions in the records, or interleaved runs with 'track.py ab'")
VERDICT_WORD = {EXIT_OK: "ok", EXIT_REGRESSION: "regression", EXIT_INCONCLUSIVE: "inconclusive"}


def verdict_line(code, verdicts, threshold, hint=AB_HINT):
    n_reg = verdicts.count("regression")
    n_inc = verdicts.count("inconclusive")
    if code == EXIT_REGRESSION:
        return (f"REGRESSION: {n_reg} benchmark(s) slower by more than {threshold * 100:g} % "
                f"(the whole interval above it)")
    if code == EXIT_INCONCLUSIVE:
        return (f"INCONCLUSIVE: {n_inc} benchmark(s) whose interval straddles +"
                f"{threshold * 100:g} %: too noisy to decide with these samples ({hint})")
    return f"OK: no benchmark slower by more than {threshold * 100:g} %"


def check_threshold(args):
    if not 0 < args.threshold < 1:
        raise ml.ToolError(f"--threshold {args.threshold:g}: expected a fraction between 0 and 1 "
                           f"(0.05 = 5 %)")
    if not 0.5 < args.confidence < 1:
        raise ml.ToolError(f"--confidence {args.confidence:g}: expected a number in (0.5, 1)")


# ----------------------------------------------------------------------------- ab

def bench_measure(binaries, regex, reps, min_time, threads, workdir, noisy_log, progress=False):
    """measure(side) for track_stats.interleaved: one run of that side's binary."""
    from mlpbench.tracking import run as track_run

    listed = {}

    def measure(side):
        out = os.path.join(workdir, f"run-{side}.json")
        listed[side], bench, state = host_state_run(binaries[side], regex, reps, min_time, threads,
                                                    out, progress, listed.get(side))
        noisy_log.append(state)
        measure.last_context[side] = bench.context
        reps_ = track_run.reps_by_name(bench)
        return {n: v for n, v in reps_.items() if not n.startswith(track_run.HOST_PROBE + "/")}

    measure.last_context = {}
    return measure


def run_interleaved(binaries, args, history, label, sides=None):
    """Interleaved blocks of the two binaries; returns (exit status, decisions, comparison:
    see track_render). `sides`: {A, B: label, commit, subject, path} of what was built."""
    import numpy as np
    from mlpbench.tracking import host as track_host
    from mlpbench.tracking import render
    from mlpbench.tracking import run as track_run
    from mlpbench.tracking import stats as ts
    from mlpbench.tracking import store as track_store
    regex = args.filter or track_run.BENCHMARK_SETS[args.set]
    listed = {side: track_run.list_benchmarks(binaries[side], regex) for side in ("A", "B")}
    names = [n for n in listed["B"] if n in listed["A"]]
    alone = {side: [n for n in listed[side] if n not in listed[other]]  # added or removed ones
             for side, other in (("A", "B"), ("B", "A"))}
    if not names:
        raise ml.ToolError(f"no benchmark matches {regex!r} in both A and B")
    samples = {"A": {}, "B": {}}
    with track_host.machine_lock(f"track.py {label}", args.lock_wait_s, say), \
            tempfile.TemporaryDirectory(prefix="mlpbench-ab-") as work:
        track_run.wait_quiet(args.quiet_wait_s)
        states = []
        measure = bench_measure(binaries, regex, args.repetitions, args.min_time, args.threads, work,
                                states)

        def measure_and_keep(side):  # every repetition, for each side's median
            reps = measure(side)
            for n, values in reps.items():
                samples[side].setdefault(n, []).extend(values)
            return reps

        started = time.monotonic()

        def on_block(k, decisions):
            open_ = sum(v == ts.INCONCLUSIVE for _, v in decisions.values())
            say(f"block {k}: {open_} of {len(decisions)} benchmark(s) undecided, "
                f"{time.monotonic() - started:.0f} s of {args.budget_s:g} s")

        decisions, diffs, reason = ts.interleaved(
            measure_and_keep, names, args.threshold, args.confidence,
            min_blocks=args.min_blocks, max_blocks=args.max_blocks,
            rng=np.random.default_rng(args.seed), clock=time.monotonic, budget_s=args.budget_s,
            on_block=on_block)
        contexts = measure.last_context
    facts = [(track_store.machine_facts_of(c), track_store.build_facts_of(c))
             for c in (contexts["A"], contexts["B"])]
    notes = []
    build_diff = track_store.differences(facts[0][1], facts[1][1])
    if build_diff:
        notes.append("note: A and B are different builds: " + "; ".join(build_diff))
    machine = track_store.fingerprint(facts[1][0])
    cal, _ = load_calibration(history, machine, track_store.fingerprint(facts[1][1]))
    not_gating = not_gating_from(cal, args.threshold)
    if not_gating:
        decisions = ts.decide(diffs, args.threshold, args.confidence,
                              gating=[n for n in diffs if n not in not_gating])
    done = len(diffs[names[0]])
    gating = len([n for n in names if n not in not_gating])
    need = ts.blocks_needed(ts.family_confidence(args.confidence, gating))
    if done < need:
        reason += (f"; a family-wise interval over {gating} benchmark(s) "
                   f"needs at least {need} blocks (raise --budget-s, or --filter fewer)")
    stopped = f"{done} ABBA block(s) of {args.repetitions} repetition(s) a run; stopped: {reason}"
    verdicts = [v for n, (_, v) in decisions.items() if n not in not_gating]
    code = ts.exit_status(verdicts)
    noisy = [s for s in states if s["noisy"]]
    host_note = (f"host: {len(noisy)} of {len(states)} runs on a noisy host ("
                 f"{noisy_summary(noisy)}); interleaving keeps the comparison fair, but the "
                 f"intervals are wider") if noisy else ""
    rows = [render.row(n, iv, v, [t * 1e9 for t in samples["A"].get(n, [])],
                       [t * 1e9 for t in samples["B"].get(n, [])], n not in not_gating,
                       not_gating.get(n, ""))
            for n, (iv, v) in sorted(decisions.items())]
    sides = sides or {k: {"label": binaries[k], "commit": "", "subject": "",
                          "path": binaries[k]} for k in ("A", "B")}
    comparison = {"a": sides["A"], "b": sides["B"], "threshold": args.threshold,
                  "confidence": args.confidence, "rows": rows, "only_in_a": alone["A"],
                  "only_in_b": alone["B"], "verdict": VERDICT_WORD[code], "exit_status": code,
                  "reason": verdict_line(code, verdicts, args.threshold), "host_note": host_note,
                  "notes": notes + [stopped], "blocks": done, "stopped": reason,
                  "host": {"runs": len(states), "noisy_runs": len(noisy)}}
    return code, decisions, comparison


def noisy_summary(states):
    """'load average above the logical CPUs: 26 run(s); ...' from runs' host states."""
    from mlpbench.tracking import run as track_run
    kinds = [k for s in states for k in s["noisy_kinds"]]
    return "; ".join(f"{track_run.NOISE_KINDS[k]}: {kinds.count(k)} run(s)"
                     for k in track_run.NOISE_KINDS if k in kinds)


def build_config(args):
    from mlpbench.tracking import build as track_build
    if args.build_cmd:
        if args.cmake_arg:
            raise ml.ToolError("--cmake-arg and --build-cmd exclude each other (a build command "
                               "makes its own CMake call)")
        return track_build.BuildConfig(command=args.build_cmd, bench_path=args.bench_path)
    return track_build.BuildConfig(cmake_args=args.cmake_arg)


def build_rev(args, rev, what, tree=None, sha=None):
    """(cached program, side description) of `rev` (resolved: `sha`) built with the options'
    configuration."""
    from mlpbench.tracking import build as track_build
    from mlpbench.tracking import run as track_run
    sha = sha or track_run.resolve_commit(args.repo, rev)
    subject = track_run.subject(args.repo, sha)
    name = f"{rev} ({subject}, {what})" if not sha.startswith(rev) else f"{subject} ({what})"
    path = track_build.cached_build(track_build.cache_dir(args.history), args.repo, sha,
                                    build_config(args), name,
                                    args.build_cache_mb, tree=tree)
    return path, {"label": rev, "commit": sha, "subject": subject, "path": path}


def cmd_ab(args):
    from mlpbench.tracking import render
    check_threshold(args)
    if args.output:
        plotting.check_output_path(args.output)
    if args.bench_a or args.bench_b:
        if not (args.bench_a and args.bench_b):
            raise ml.ToolError("--bench-a and --bench-b go together")
        binaries = {"A": check_binary(args.bench_a), "B": check_binary(args.bench_b)}
        sides = None
    else:
        from mlpbench.tracking import run as track_run
        # both resolved before the first build: a branch that moves meanwhile changes neither
        revs = {"A": args.base, "B": args.head}
        shas = {side: track_run.resolve_commit(args.repo, rev) for side, rev in revs.items()}
        binaries, sides = {}, {}
        for side, rev in revs.items():
            binaries[side], sides[side] = build_rev(args, rev, side, sha=shas[side])
    code, _, comparison = run_interleaved(binaries, args, args.history, "ab", sides)
    if args.format == "md":
        sys.stdout.write(render.markdown(comparison))
    elif args.format == "json":
        sys.stdout.write(render.document(comparison))
    else:
        for side in ("A", "B"):
            print(f"{side} = {render.side_text(comparison[side.lower()])}")
        sys.stdout.write(render.text(comparison))
    if args.output:
        render.figure(comparison, args.output)
    return code


# ----------------------------------------------------------------------------- calibrate

def cmd_calibrate(args):
    import numpy as np
    from mlpbench.tracking import host as track_host
    from mlpbench.tracking import run as track_run
    from mlpbench.tracking import stats as ts
    from mlpbench.tracking import store as track_store
    check_threshold(args)
    binary = check_binary(args.bench)
    regex = args.filter or track_run.BENCHMARK_SETS[args.set]
    names = track_run.list_benchmarks(binary, regex)
    with track_host.machine_lock("track.py calibrate", args.lock_wait_s, say), \
            tempfile.TemporaryDirectory(prefix="mlpbench-cal-") as work:
        track_run.wait_quiet(args.quiet_wait_s)
        states = []
        measure = bench_measure({"A": binary, "B": binary}, regex, args.repetitions,
                                args.min_time, args.threads, work, states)
        # A/A: every block runs to the end (min = max), so each benchmark gets the same count.
        decisions, diffs, _ = ts.interleaved(measure, names, args.threshold, args.confidence,
                                             min_blocks=args.blocks, max_blocks=args.blocks,
                                             rng=np.random.default_rng(args.seed))
        ctx = measure.last_context["B"]
    machine = track_store.fingerprint(track_store.machine_facts_of(ctx))
    build = track_store.fingerprint(track_store.build_facts_of(ctx))
    out = {"machine": machine, "build": build, "blocks": args.blocks,
           "repetitions": args.repetitions, "confidence": args.confidence,
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "noisy_runs": sum(s["noisy"] for s in states), "runs": len(states), "benchmarks": {}}
    width = max(len(n) for n in names)
    print(f"A/A calibration: {args.blocks} ABBA blocks, {args.repetitions} repetition(s) a run, "
          f"{args.confidence * 100:g} % family-wise intervals")
    print(f"{'benchmark'.ljust(width)}  {'A/A change [interval]':>28}  resolution  gates at "
          f"{args.threshold * 100:g} %?")
    for n in names:
        iv, _ = decisions[n]
        half = max(iv.high - iv.estimate, iv.estimate - iv.low) if math.isfinite(iv.low) \
            else math.inf
        res = math.expm1(half) if math.isfinite(half) else None
        out["benchmarks"][n] = {"resolution": res if res is not None else 1e9,
                                "estimate": math.expm1(iv.estimate)}
        gate = "yes" if res is not None and res < args.threshold else "NO (does not gate)"
        print(f"{n.ljust(width)}  {interval_text(iv):>28}  "
              f"{'±' + format(res * 100, '.1f') + ' %' if res is not None else 'n/a':>10}  "
              f"{gate}")
    folder = os.path.join(args.history, "calibration")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{machine}-{build}.json")
    mlpbench_files.write_atomic(path, json.dumps(out, indent=1))
    print(f"saved {path}: ab and compare on this machine and build leave the benchmarks that "
          f"cannot resolve their threshold out of the gate")
    return EXIT_OK


# ----------------------------------------------------------------------------- analyze

def first_parent(repo, rev):
    from mlpbench.tracking import run as track_run
    out = track_run.git(repo, "rev-list", "--first-parent", "--reverse",
                        "--format=%H %ct", rev)
    commits = []
    for line in out.splitlines():
        if line.startswith("commit "):
            continue
        sha, ts_ = line.split()
        commits.append((sha, int(ts_)))
    return commits


def series_points(history, repo, rev, pattern, metric):
    """({(machine, build, name): [(commit, time, [log times])]} along the first-parent history,
    records of commits off that line (or dirty ones) are left out, and so are records taken on a
    noisy host (their `noisy_reasons`): those go to the third value, {series: [(commit, time,
    [log times], records)]}, in first-parent order."""
    import re
    from mlpbench.tracking import store as track_store
    if not os.path.isdir(os.path.join(history, "raw")):
        raise ml.ToolError(f"{history}: no history (record some with 'track.py record')")
    chain = first_parent(repo, rev)
    pos = {}
    for i, (sha, t) in enumerate(chain):
        for k in (7, 8, 10, 12, 40):
            pos.setdefault(sha[:k], (i, sha, t))
    db = track_store.open_index(history)
    rows = db.execute(f"SELECT r.id, r.machine, r.build, r.commit_id, r.host, s.benchmark, "
                      f"s.{metric} FROM samples s JOIN records r ON s.record = r.id "
                      "WHERE r.dirty = 0").fetchall()
    regex = re.compile(pattern) if pattern else None
    series, noisy, skipped = {}, {}, set()
    for record, machine, build, commit, host, name, value in rows:
        if name.startswith("BM_TeamBarrier/") or (regex and not regex.search(name)):
            continue
        hit = pos.get(commit)
        if hit is None or value <= 0:
            skipped.add(commit)
            continue
        key = (machine, build, name)
        if (json.loads(host or "{}") or {}).get("noisy_reasons"):
            entry = noisy.setdefault(key, {}).setdefault(hit, ([], set()))
            entry[0].append(math.log(value))
            entry[1].add(record)
            continue
        series.setdefault(key, {}).setdefault(hit, []).append(math.log(value))
    out = {k: [(sha, t, v) for (i, sha, t), v in sorted(d.items())] for k, d in series.items()}
    left_out = {k: [(sha, t, v, len(recs)) for (i, sha, t), (v, recs) in sorted(d.items())]
                for k, d in noisy.items()}
    return out, skipped, left_out


def change_points(points, significance, min_size):
    """[(index, Interval)] of one series' change points with the change's interval."""
    from mlpbench.tracking import stats as ts
    levels = ts.commit_levels([v for _, _, v in points])
    cps = ts.e_divisive(levels, min_size=min_size, significance=significance)
    bounds = [0] + cps + [len(levels)]
    out = []
    for k, cp in enumerate(cps):
        before, after = levels[bounds[k]:cp], levels[cp:bounds[k + 2]]
        out.append((cp, ts.unpaired_interval(before, after, 0.95)))
    return out


def cmd_analyze(args):
    series, skipped, noisy = series_points(args.history, args.repo, args.rev, args.filter,
                                           METRIC_COLUMN[args.metric])
    if noisy:
        records = sum(n for points in noisy.values() for *_, n in points) // len(noisy)
        say(f"note: about {records} record(s) taken on a noisy host are left out (their "
            f"host state has noisy_reasons; a slow burst there is the host's, not the code's)")
    if not series:
        off = f"; {len(skipped)} recorded commit(s) are off that history" if skipped else ""
        if noisy:  # there were records on that history: all of them from a noisy host
            print(f"no series: every record in {args.history} of a commit on the first-parent "
                  f"history of {args.rev} in {args.repo} was taken on a noisy host, and those "
                  f"are left out (record again on a quiet host){off}")
        else:
            print(f"no series: {args.history} has no records of clean builds of commits on the "
                  f"first-parent history of {args.rev} in {args.repo}{off}; builds of a "
                  "modified checkout (-dirty) are left out")
        return EXIT_OK
    found = 0
    for (machine, build, name), points in sorted(series.items(), key=lambda kv: kv[0][::-1]):
        label = f"{name} [machine {machine}, build {build}]"
        if len(points) < 2 * args.min_size:
            print(f"{label}: {len(points)} commit(s), too few for change points")
            continue
        for cp, iv in change_points(points, args.significance, args.min_size):
            found += 1
            print(f"{name} {interval_text(iv)} between {points[cp - 1][0][:7]} and "
                  f"{points[cp][0][:7]}  [machine {machine}, build {build}]")
    if skipped:
        say(f"note: {len(skipped)} commit(s) with records are not on the first-parent history "
            f"of {args.rev}, or are unknown to {args.repo}: left out")
    print(f"{found} change point(s) in {len(series)} series")
    return EXIT_OK


# ----------------------------------------------------------------------------- bisect

STEP_ABORT = 255  # git bisect run stops on a status of 128 or more: never "bad"
EXIT_STEP = {EXIT_OK: "good (0)", EXIT_REGRESSION: "bad (1)", 125: "skip (125)"}


def bisect_options(args, regex):
    """The options bisect passes on to each bisect-step."""
    opts = ["--history", args.history, "--repo", args.repo,
            "--bench-path", args.bench_path, "--build-cache-mb", str(args.build_cache_mb),
            "--threshold", repr(args.threshold), "--confidence", repr(args.confidence),
            "--repetitions", str(args.repetitions), "--min-time", repr(args.min_time),
            "--threads", str(args.threads), "--lock-wait-s", repr(args.lock_wait_s),
            "--max-blocks", str(args.max_blocks), "--min-blocks", str(args.min_blocks),
            "--budget-s", repr(args.budget_s), "--filter", regex]
    if args.build_cmd:
        opts += ["--build-cmd", args.build_cmd]
    for arg in args.cmake_arg:
        opts.append(f"--cmake-arg={arg}")
    if args.seed is not None:
        opts += ["--seed", str(args.seed)]
    return opts


def run_shown(cmd, cwd):
    """(status, output) of cmd, its output also passed on to stderr as it comes: the steps'
    build progress and blocks, git bisect's "Bisecting: N revisions left"."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace")
    lines = []
    for line in proc.stdout:
        lines.append(line)
        sys.stderr.write(line)
        sys.stderr.flush()
    return proc.wait(), "".join(lines)


def step_failure(log):
    """The error a step that aborted printed, for the message of bisect's exit 2."""
    errors = [line for line in log.splitlines() if "error:" in line]
    return errors[-1] if errors else " | ".join(log.strip().splitlines()[-3:])


def cmd_bisect(args):
    import shutil
    from mlpbench.tracking import bisect as track_bisect
    from mlpbench.tracking import run as track_run
    check_threshold(args)
    # the steps run in the bisect's worktree: relative paths would point there
    repo = args.repo = os.path.abspath(args.repo)
    args.history = os.path.abspath(args.history)
    good = track_run.resolve_commit(repo, args.good)
    bad = track_run.resolve_commit(repo, args.bad)
    build_config(args)  # refuse bad build options before any build
    work = tempfile.mkdtemp(prefix="mlpbench-bisect-")
    tree = os.path.join(work, "bisect")
    try:
        # one checkout for GOOD and every step: a default CMake build there is incremental
        track_run.git(repo, "worktree", "add", "--detach", tree, good)
        good_bin, _ = build_rev(args, args.good, "GOOD", tree=tree)
        check_binary(good_bin)
        regex = bisect_filter(good_bin, args)
        step = [sys.executable, TOOL, "bisect-step", "--good-bench", good_bin,
                *bisect_options(args, regex)]
        track_run.git(tree, "checkout", "-q", "--detach", bad)
        code, bad_log = run_shown(step, tree)  # git bisect takes BAD as bad: measure it first
        if code not in EXIT_STEP:
            raise ml.ToolError(f"the step could not measure BAD {args.bad}: "
                               f"{step_failure(bad_log)}")
        print_steps(bad_log)
        if code != EXIT_REGRESSION:
            print(f"no culprit: BAD {args.bad} is not measured slower than GOOD {args.good} "
                  f"beyond {args.threshold * 100:g} % (step: {EXIT_STEP[code]})")
            return EXIT_INCONCLUSIVE
        track_run.git(tree, "bisect", "start", bad, good)
        _, log = run_shown(["git", "bisect", "run", *step], tree)
        if args.verbose:
            print(log)
        print_steps(log)
        culprit = track_bisect.first_bad(log)
        if STEP_ABORT_TEXT in log or (not culprit and "only 'skip'ped commits" not in log):
            raise ml.ToolError(f"the bisect stopped: a step could not measure: "
                               f"{step_failure(log)}")
        outcomes = track_bisect.step_outcomes(bad_log + log)
        steps = len(outcomes)
        if not culprit:
            print(f"no culprit named: {steps} measured step(s) leave only skipped commits "
                  f"between the last good and the first bad one")
            return EXIT_INCONCLUSIVE
        parent = track_run.git(repo, "rev-parse", f"{culprit}^")
        why = track_bisect.unmeasured(culprit, parent, good, outcomes)
        if why:
            print(f"no culprit named: git bisect points at {culprit[:12]}, but {why}")
            return EXIT_INCONCLUSIVE
        print(f"first bad commit: {track_run.subject(repo, culprit)}")
        print(f"{steps} measured step(s) between {args.good} and {args.bad}")
        return EXIT_OK
    finally:
        track_run.git(tree, "bisect", "reset", check=False) if os.path.isdir(tree) else None
        track_run.git(repo, "worktree", "remove", "--force", tree, check=False)
        shutil.rmtree(work, ignore_errors=True)
        track_run.git(repo, "worktree", "prune", check=False)


STEP_ABORT_TEXT = "could not measure: aborting the bisect"


def print_steps(log):
    from mlpbench.tracking import bisect as track_bisect
    for line in log.splitlines():
        if line.startswith(track_bisect.STEP):
            print("  " + line[len(track_bisect.STEP):])


def bisect_filter(good_bin, args):
    """The exact --benchmark_filter of --benchmark (or the named set)."""
    from mlpbench.tracking import bisect as track_bisect
    from mlpbench.tracking import run as track_run
    if not args.benchmark:
        return args.filter or track_run.BENCHMARK_SETS[args.set]
    chosen = track_bisect.select(track_run.list_benchmarks(good_bin, "."), args.benchmark)
    say(f"bisecting on {', '.join(chosen)}")
    return track_bisect.exact_filter(chosen)


def cmd_bisect_step(args):
    """One commit of git bisect run: 125 when it does not build or the result is unclear;
    any other failure aborts the bisect (guarded: STEP_ABORT)."""
    from mlpbench.tracking import run as track_run
    commit = track_run.git(".", "rev-parse", "--short", "HEAD", check=False) or "?"
    good = check_binary(args.good_bench)
    try:
        sha = track_run.resolve_commit(".", "HEAD")
        head, _ = build_rev(args, sha, "step", tree=os.getcwd())
    except ml.ToolError as e:
        print(f"BISECT-STEP {commit}: does not build ({e}) -> skip (125)")
        return 125
    args.quiet_wait_s = 0.0
    try:
        code, decisions, _ = run_interleaved({"A": good, "B": head}, args, args.history,
                                             "bisect-step")
    except ml.ToolError as e:
        print(f"BISECT-STEP {commit}: cannot measure ({e}) -> skip (125)")
        return 125
    worst = max(decisions.items(), key=lambda kv: kv[1][0].estimate)
    summary = f"{worst[0]} {interval_text(worst[1][0])}"
    if code == EXIT_INCONCLUSIVE:
        print(f"BISECT-STEP {commit}: {summary} inconclusive -> skip (125)")
        return 125
    print(f"BISECT-STEP {commit}: {summary} -> {EXIT_STEP[code]}")
    return code


# ----------------------------------------------------------------------------- report

def report_data(args):
    """[{series keys, points: [{commit, date, median_ns, q25_ns, q75_ns, n, noisy,
    noisy_records}], changes}]: a point is `noisy` when all its records were taken on a noisy
    host; such records are left out of the medians (where quiet ones exist) and the changes."""
    series, _, noisy = series_points(args.history, args.repo, args.rev, args.filter,
                                     METRIC_COLUMN[args.metric])
    import numpy as np
    order = {sha: i for i, (sha, _) in enumerate(first_parent(args.repo, args.rev))}

    def point(sha, t, v, is_noisy, left_out):
        return {"commit": sha[:12], "date": time.strftime("%Y-%m-%d", time.gmtime(t)),
                "median_ns": float(np.exp(np.median(v))),
                "q25_ns": float(np.exp(np.percentile(v, 25))),
                "q75_ns": float(np.exp(np.percentile(v, 75))), "n": len(v), "noisy": is_noisy,
                "noisy_records": left_out, "_order": order[sha]}

    out = []
    for key in sorted(set(series) | set(noisy), key=lambda k: k[::-1]):
        machine, build, name = key
        points = series.get(key, [])
        left_out = {sha: n for sha, _, _, n in noisy.get(key, [])}
        pts = [point(sha, t, v, False, left_out.pop(sha, 0)) for sha, t, v in points]
        pts += [point(sha, t, v, True, n) for sha, t, v, n in noisy.get(key, [])
                if sha in left_out]
        pts.sort(key=lambda p: p.pop("_order"))
        at = {p["commit"]: i for i, p in enumerate(pts)}
        changes = []
        if len(points) >= 2 * args.min_size:
            for cp, iv in change_points(points, args.significance, args.min_size):
                e, lo, hi = iv.change_pct()
                changes.append({"index": at[points[cp][0][:12]], "before": points[cp - 1][0][:12],
                                "after": points[cp][0][:12], "change_pct": e,
                                "low_pct": lo, "high_pct": hi})
        out.append({"benchmark": name, "machine": machine, "build": build, "points": pts,
                    "changes": changes,
                    "noisy_records_left_out": sum(n for *_, n in noisy.get(key, []))})
    if not out:
        raise ml.ToolError(f"{args.history}: no records on the first-parent history of "
                           f"{args.rev}")
    return out


NOISY_NOTE = ("record(s) taken on a noisy host (host state with noisy_reasons) left out of the "
              "medians and change points; a commit with nothing else is marked noisy")


def report_text(data, fmt):
    if fmt == "json":
        return json.dumps({"series": data}, indent=1) + "\n"
    rows = [(s["benchmark"], s["machine"], s["build"], p["commit"], p["date"], p["median_ns"],
             p["q25_ns"], p["q75_ns"], p["n"], int(p["noisy"]), p["noisy_records"])
            for s in data for p in s["points"]]
    if fmt == "csv":
        import csv
        import io
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["benchmark", "machine", "build", "commit", "date", "median_ns", "q25_ns",
                    "q75_ns", "repetitions", "noisy", "noisy_records"])
        w.writerows(rows)
        return buf.getvalue()
    lines = []
    for s in data:
        lines += [f"## {s['benchmark']} (machine {s['machine']}, build {s['build']})", "",
                  "| commit | date | median | interquartile | n |", "|---|---|---|---|---|"]
        for p in s["points"]:
            mark = " (noisy host: left out)" if p["noisy"] else ""
            lines.append(f"| {p['commit'][:7]}{mark} | {p['date']} | "
                         f"{ml.format_time_ns(p['median_ns'])} | "
                         f"{ml.format_time_ns(p['q25_ns'])} - "
                         f"{ml.format_time_ns(p['q75_ns'])} | {p['n']} |")
        lines.append("")
        if s["noisy_records_left_out"]:
            lines.append(f"- {s['noisy_records_left_out']} {NOISY_NOTE}")
        for c in s["changes"]:
            lines.append(f"- change point: {c['change_pct']:+.1f} % [{c['low_pct']:+.1f}, "
                         f"{c['high_pct']:+.1f}] between {c['before'][:7]} and {c['after'][:7]}")
        lines.append("")
    return "\n".join(lines)


def report_figure(data, output):
    plt = plotting.pyplot()
    n = len(data)
    fig, axes = plt.subplots(n, 1, figsize=(11, 2.6 * n + 0.6), squeeze=False)
    for ax, s in zip(axes[:, 0], data):
        pts = s["points"]
        x = list(range(len(pts)))
        scale, unit = next(((v, u) for v, u in ((1e9, "s"), (1e6, "ms"), (1e3, "us"))
                            if statistics.median(p["median_ns"] for p in pts) >= v), (1, "ns"))
        quiet = [(i, p) for i, p in enumerate(pts) if not p["noisy"]]
        qx = [i for i, _ in quiet]
        ax.fill_between(qx, [p["q25_ns"] / scale for _, p in quiet],
                        [p["q75_ns"] / scale for _, p in quiet], alpha=0.25,
                        label="interquartile range of repetitions")
        ax.plot(qx, [p["median_ns"] / scale for _, p in quiet], marker="o", markersize=3,
                label="median")
        loud = [(i, p) for i, p in enumerate(pts) if p["noisy"]]
        if loud:
            ax.plot([i for i, _ in loud], [p["median_ns"] / scale for _, p in loud], "x",
                    color="#7f7f7f", label="noisy host: left out")
        for c in s["changes"]:
            ax.axvline(c["index"] - 0.5, color="#d62728", linestyle="--", linewidth=1)
            ax.annotate(f"{c['change_pct']:+.1f} %", (c["index"] - 0.5, 1), xycoords=(
                "data", "axes fraction"), xytext=(3, -10), textcoords="offset points",
                color="#d62728", fontsize=8)
        step = max(1, math.ceil(len(pts) / 16))
        ax.set_xticks(x[::step])
        ax.set_xticklabels([f"{p['commit'][:7]}\n{p['date'][5:]}" for p in pts[::step]],
                           fontsize=7)
        ax.set_ylabel(unit)
        left = s["noisy_records_left_out"]
        ax.set_title(f"{s['benchmark']}  (machine {s['machine']}, build {s['build']})"
                     + (f"\n{left} {NOISY_NOTE}" if left else ""), fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    if output.endswith(".html"):
        import io
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
        plt.close(fig)
        md = report_text(data, "md")
        import html
        page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mlpbench history"
                "</title></head><body>\n<h1>mlpbench history</h1>\n" + buf.getvalue()[
                    buf.getvalue().index("<svg"):] + "\n<pre>" + html.escape(md) +
                "</pre>\n</body></html>\n")
        mlpbench_files.write_atomic(output, page)
        print(f"wrote {output}", file=sys.stderr)
        return
    plotting.save_figure(fig, output)
    plt.close(fig)


def cmd_report(args):
    fmt = args.format
    if fmt is None:
        if not args.output:
            raise ml.ToolError("report: give -o FILE (.png, .svg, .html) or --format "
                               "json|csv|md")
        ext = os.path.splitext(args.output)[1].lower()
        if ext not in (".png", ".svg", ".html"):
            raise ml.ToolError(f"{args.output}: expected .png, .svg or .html (or pass --format)")
    data = report_data(args)
    if fmt:
        text = report_text(data, fmt)
        if args.output:
            mlpbench_files.write_atomic(args.output, text)
        else:
            sys.stdout.write(text)
        return EXIT_OK
    report_figure(data, args.output)
    return EXIT_OK


# ----------------------------------------------------------------------------- CLI

def fraction(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {v}")
    return v


def parse_args(argv):
    from mlpbench.tracking import run as track_run
    from mlpbench.tracking import store as track_store
    default_bench = os.path.join(REPO_ROOT, "build", "bench", "mlp_bench")
    p = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(sp, history=True):
        if history:
            sp.add_argument("--history", default=track_store.default_history(), metavar="DIR",
                            help="history folder (default: $MLPBENCH_HISTORY, else "
                                 "~/.local/share/mlpbench/history)")

    def measuring(sp, reps=5, min_time=0.05):
        g = sp.add_mutually_exclusive_group()
        g.add_argument("--set", choices=sorted(track_run.BENCHMARK_SETS), default="key",
                       help="named benchmark set (default: key, the documented key benchmarks)")
        g.add_argument("--filter", metavar="REGEX", help="benchmarks to run (a "
                       "--benchmark_filter regex) instead of a set")
        sp.add_argument("--repetitions", type=positive_int, default=reps, metavar="N",
                        help=f"repetitions per benchmark and run (default {reps})")
        sp.add_argument("--min-time", type=fraction, default=min_time, metavar="S",
                        help=f"--benchmark_min_time per repetition (default {min_time:g})")
        sp.add_argument("--threads", type=positive_int, default=1, metavar="N",
                        help="mlp_bench's team size (default 1: on a shared machine, a "
                             "benchmark with a thread per core measures the scheduler as much "
                             "as the code; docs/tracking.md)")
        sp.add_argument("--lock-wait-s", type=fraction, default=3600.0, metavar="S",
                        help="wait at most S for another measurement's lock (default 3600)")
        sp.add_argument("--quiet-wait-s", type=fraction, default=30.0, metavar="S",
                        help="wait at most S for a quiet host before starting (default 30)")

    def gate(sp):
        sp.add_argument("--threshold", type=fraction, default=0.05,
                        help="a regression is slower by more than this (default 0.05 = 5%%)")
        sp.add_argument("--confidence", type=fraction, default=0.95,
                        help="family-wise confidence of the intervals (default 0.95)")

    def blocks(sp):
        sp.add_argument("--budget-s", type=fraction, default=600.0, metavar="S",
                        help="stop adding blocks after S seconds (default 600)")
        sp.add_argument("--min-blocks", type=positive_int, default=4, metavar="N")
        sp.add_argument("--max-blocks", type=positive_int, default=20, metavar="N")
        sp.add_argument("--seed", type=int, default=None,
                        help="seed of the ABBA/BAAB order (default: random)")

    def building(sp):
        sp.add_argument("--repo", default=REPO_ROOT, help="git repository (default: this one)")
        sp.add_argument("--cmake-arg", action="append", default=[], metavar="ARG",
                        help="extra CMake argument of the builds (repeatable)")
        sp.add_argument("--build-cmd", metavar="SHELL",
                        help="build with this shell command, run in a checkout of the commit, "
                             "instead of CMake (the program is then --bench-path)")
        sp.add_argument("--bench-path", default="build/bench/mlp_bench", metavar="REL",
                        help="the program --build-cmd leaves in the checkout (default "
                             "build/bench/mlp_bench)")
        sp.add_argument("--build-cache-mb", type=positive_int, default=2048, metavar="MB",
                        help="size bound of the build cache (default 2048); the least recently "
                             "used builds go first")

    r = sub.add_parser("record", help="run the key benchmarks and file the output",
                       description="Run mlp_bench (the key set, or --set/--filter) with the host "
                                   "probe BM_TeamBarrier, under the machine-wide lock, after a "
                                   "bounded wait for a quiet host; file the JSON and the host's "
                                   "state in the history. Prints the record's path.\n"
                                   "Exit status: 0 filed, 2 error.")
    common(r)
    measuring(r, reps=9, min_time=0.1)
    r.add_argument("--bench", default=default_bench, metavar="PATH",
                   help="benchmark binary (default: build/bench/mlp_bench)")
    r.add_argument("--commit", metavar="REV", help="record this commit's build (from the build "
                   "cache, building it first when missing) instead of --bench")
    building(r)
    r.add_argument("--from-json", metavar="FILE",
                   help="file an existing Google Benchmark JSON instead of running")
    r.add_argument("--quiet", action="store_true", help="no progress line")
    r.set_defaults(func=cmd_record)

    c = sub.add_parser("compare", help="two records of one machine and build",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Per benchmark, the Hodges-Lehmann change of B's repetitions "
                       "over A's with its Mann-Whitney interval, family-wise over the "
                       "benchmarks (Bonferroni). Verdict: regression when the whole interval is "
                       "above +threshold, same when it is below, inconclusive when it straddles "
                       "it. When the records' hosts differed (a noisy record, the host probe moved "
                       ">2x), no row claims a direction ('hosts differed') and the verdict is "
                       "inconclusive: only `ab` interleaves.\n"
                       "A and B: files, or records of this machine in the history: latest, "
                       "previous (the latest one's predecessor of the same build), or a unique "
                       "part of a name.\n"
                       "Exit status: 0 no regression, 1 regression, 3 inconclusive, 2 error "
                       "(also: A and B from different machines or builds, without "
                       "--allow-cross).")
    common(c)
    c.add_argument("a", metavar="A")
    c.add_argument("b", metavar="B")
    gate(c)
    c.add_argument("--metric", choices=("real_time", "cpu_time"), default="real_time")
    c.add_argument("--allow-cross", action="store_true",
                   help="compare records of different machines or builds anyway")
    c.add_argument("-o", "--output", metavar="PATH", help="also draw the intervals (.png/.svg)")
    c.set_defaults(func=cmd_compare)

    a = sub.add_parser("ab", help="the CI gate: two commits, interleaved",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Build BASE and HEAD (default HEAD) in git worktrees outside "
                       "the checkout (through the build cache), then run them in ABBA/BAAB "
                       "blocks until every verdict is clear, --max-blocks or --budget-s. Each "
                       "block gives one log ratio per benchmark: fastest repetition of B over "
                       "fastest of A (slow bursts only add time). Per benchmark: Hodges-Lehmann "
                       "change with the Wilcoxon signed-rank interval, family-wise over the "
                       "benchmarks; benchmarks that `calibrate` found unable to resolve the "
                       "threshold are shown but do not gate.\n"
                       "Exit status: 0 no regression, 1 regression, 3 inconclusive, 2 error.")
    common(a)
    a.add_argument("base", metavar="BASE", nargs="?", default="HEAD")
    a.add_argument("head", metavar="HEAD", nargs="?", default="HEAD")
    building(a)
    a.add_argument("--bench-a", metavar="PATH", help="use this binary as A (no build)")
    a.add_argument("--bench-b", metavar="PATH", help="use this binary as B (no build)")
    measuring(a)
    gate(a)
    blocks(a)
    a.add_argument("--format", choices=("text", "md", "json"), default="text",
                   help="text (default), md (a pull-request comment: summary line, table, host "
                        "note) or json (fields: docs/tracking.md)")
    a.add_argument("-o", "--output", metavar="FIGURE",
                   help="also draw the changes with their intervals and the verdict (.png/.svg)")
    a.set_defaults(func=cmd_ab)

    k = sub.add_parser("calibrate", help="A/A blocks: each benchmark's resolution here",
                       description="Run one binary against itself in ABBA blocks; a benchmark's "
                       "resolution is its A/A interval's half-width. Those that cannot resolve "
                       "--threshold do not gate ab/compare on this machine and build. Saved in "
                       "<history>/calibration/. Exit status: 0 done, 2 error.")
    common(k)
    k.add_argument("--bench", default=default_bench, metavar="PATH")
    k.add_argument("--blocks", type=positive_int, default=10, metavar="N",
                   help="A/A blocks (default 10)")
    k.add_argument("--seed", type=int, default=None)
    measuring(k)
    gate(k)
    k.set_defaults(func=cmd_calibrate)

    def history_view(sp):
        common(sp)
        sp.add_argument("--repo", default=REPO_ROOT, help="git repository (default: this)")
        sp.add_argument("--rev", default="HEAD", help="first-parent history of (default HEAD)")
        sp.add_argument("--filter", metavar="REGEX", help="only benchmarks matching")
        sp.add_argument("--metric", choices=("real_time", "cpu_time"), default="real_time")
        sp.add_argument("--significance", type=fraction, default=0.01,
                        help="permutation-test level of a change point (default 0.01)")
        sp.add_argument("--min-size", type=positive_int, default=3, metavar="N",
                        help="fewest commits between change points (default 3)")

    an = sub.add_parser("analyze", help="change points over the first-parent history",
                        description="Per series (benchmark, machine, build): the median of each "
                        "commit's repetitions along `git rev-list --first-parent REV`, split by "
                        "E-divisive means (energy statistic, permutation test). Prints each "
                        "change with its 95 % interval and the commits it lies between. "
                        "Exit status: 0 done, 2 error.")
    history_view(an)
    an.set_defaults(func=cmd_analyze)

    rp = sub.add_parser("report", help="history as a figure or table",
                        description="The history of every series over the first-parent commits: "
                        "-o FILE.png/.svg/.html (one panel per series: median, interquartile "
                        "band, change points), or --format json|csv|md (to -o or stdout).")
    history_view(rp)
    rp.add_argument("-o", "--output", metavar="FILE")
    rp.add_argument("--format", choices=("json", "csv", "md"))
    rp.set_defaults(func=cmd_report)

    def bisect_common(sp):
        common(sp)
        building(sp)
        measuring(sp, reps=3)
        gate(sp)
        blocks(sp)

    b = sub.add_parser("bisect", help="find the commit that made a benchmark slower",
                       description="git bisect run between GOOD and BAD in a worktree outside "
                       "the checkout. GOOD and each step are built (CMake, or --build-cmd) "
                       "through the build cache; BAD is measured first. Each step runs its "
                       "commit interleaved against GOOD's build and says bad (regression beyond "
                       "--threshold), good (no regression) or skip (125: does not build, cannot "
                       "run the benchmark, or inconclusive); a step that fails otherwise stops "
                       "the bisect. Exit status: 0 culprit found (measured slower, its parent "
                       "measured not), 3 no culprit can be named (BAD not measured slower, or "
                       "only skipped commits left), 2 error.")
    b.add_argument("good", metavar="GOOD")
    b.add_argument("bad", metavar="BAD")
    b.add_argument("--benchmark", metavar="NAME",
                   help="one benchmark as mlp_bench --benchmark_list_tests lists it (BM_ and "
                        "/real_time may be left out), or a family: a benchmark function's "
                        "name alone (BM_Adam), all of its variants; default: the key set")
    b.add_argument("--verbose", action="store_true", help="print git bisect's own log")
    bisect_common(b)
    b.set_defaults(func=cmd_bisect)

    bs = sub.add_parser("bisect-step", help=argparse.SUPPRESS)
    bs.add_argument("--good-bench", required=True)
    bisect_common(bs)
    bs.set_defaults(func=cmd_bisect_step)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return args.func(args)


def guarded(argv=None):
    """Every failure that is not a verdict exits 2: a crash must never read as 'regression'.
    A bisect step that cannot measure exits STEP_ABORT, which stops git bisect run: any status
    from 1 to 127 but 125 would count its commit as bad."""
    argv = sys.argv[1:] if argv is None else list(argv)
    code = guarded_status(argv)
    if argv[:1] == ["bisect-step"] and code not in EXIT_STEP:
        print(f"{PROG}: bisect step (status {code}) {STEP_ABORT_TEXT}", file=sys.stderr)
        return STEP_ABORT
    return code


def guarded_status(argv):
    """main() under cli.main_guard, which ends any error but a missing module as one line and
    exit status 2."""
    try:
        return cli.main_guard(PROG, main, argv)
    except SystemExit as e:  # argparse: 0 after --help, 2 on bad usage
        return e.code if isinstance(e.code, int) else EXIT_ERROR
    except ImportError as e:
        print(f"{PROG}: error: missing dependency: {e} (run tools/setup.sh; use /usr/bin/python3)",
              file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(guarded())
