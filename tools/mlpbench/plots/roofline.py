"""Roofline of a machine from mlp_bench JSON outputs (docs/benchmarks.md, "The roofline").

Each input is one `mlp_bench --benchmark_out=...` run (one thread count; several runs give
several thread counts). A run holds:
  * the ceilings: BM_FmaPeak, the FMA peak per SIMD target (GFLOPS), and BM_Bandwidth, the
    memory bandwidth per level (bytes_per_second; a level's slope is the most any of copy,
    triad and sum moved there);
  * the kernels: every benchmark with the work counters flops_per_iteration,
    bytes_per_iteration and working_set_bytes (the GEMMs, Adam and the training steps), placed at
    x = flops / bytes (arithmetic intensity, counted from the shapes) and y = flops over the
    median measured time (achieved GFLOP/s).
A kernel's memory level is the smallest one whose capacity holds its working set (L1 and L2 once
per thread, L3 shared, from the run's mlpbench_cache_* context); its roof is
min(FMA peak of its target and thread count, intensity x that level's bandwidth at that thread
count). The table gives each kernel's attained fraction of its roof and which roof binds, and
for each training step the same for each of its GEMMs (its phases) with their share of its time.
A run whose host was noisy (load average above the CPUs, a slow team barrier, more threads than
CPUs: mlpbench.tracking.run's rules) is marked in the table and the figure.
"""

import math
import os
import re
import statistics
import sys

from mlpbench import cli, files, logs, plotting, schemas
from mlpbench.tracking import run as track_run

PROG = "plot_roofline.py"
LEVELS = ("L1", "L2", "L3", "DRAM")
CACHE_KEYS = {"L1": "mlpbench_cache_l1d_bytes", "L2": "mlpbench_cache_l2_bytes",
              "L3": "mlpbench_cache_l3_bytes"}
PRIVATE_LEVELS = ("L1", "L2")  # one per core; L3 is shared by the team
WORK_COUNTERS = ("flops_per_iteration", "bytes_per_iteration", "working_set_bytes")
# (name prefix, kind in the figure's legend, marker); the first matching prefix wins.
KINDS = (("BM_GemmForward/", "forward GEMM", "o"),
         ("BM_GemmWeightGradAdam/", "weight-gradient GEMM + Adam", "D"),
         ("BM_GemmWeightGrad/", "weight-gradient GEMM", "d"),
         ("BM_GemmInputGrad/", "input-gradient GEMM", "v"),
         ("BM_GemmSquare/", "square GEMM", "s"),
         ("BM_Adam/", "Adam", "P"),
         ("BM_TrainStepUnfused/", "unfused step", "X"),
         ("BM_TrainStep/", "training step", "*"))


def parse_args(argv):
    p = cli.arg_parser(
        PROG, __doc__,
        "Exit status: 0 success; 2 bad command line, unreadable or invalid input (the message "
        "names the file and field), or nothing to place.\n"
        "Example: tools/plot_roofline.py results/roofline -o results/figures/roofline.svg")
    p.add_argument("inputs", nargs="+", metavar="JSON_OR_DIR",
                   help="mlp_bench JSON outputs, or folders of them (every *.json inside)")
    p.add_argument("-o", "--output", default="roofline.png", metavar="PATH",
                   help="output figure, .png or .svg (default: roofline.png)")
    p.add_argument("--target", metavar="NAME",
                   help="place the kernels of this SIMD target (default: each run's own target; "
                        "for a --simd-target=all run, the first of its supported targets)")
    p.add_argument("--title", help="figure title (default: the CPU)")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- the model

def team_capacities(cache_bytes, threads):
    """{level: bytes the team can keep there} for the levels present; DRAM is unbounded."""
    out = {}
    for level in LEVELS[:-1]:
        size = cache_bytes.get(level, 0)
        if size > 0:
            out[level] = size * threads if level in PRIVATE_LEVELS else size
    out["DRAM"] = math.inf
    return out


def memory_level(working_set, capacities):
    """The smallest level whose capacity holds `working_set` bytes."""
    return next(level for level in LEVELS if level in capacities
                and working_set <= capacities[level])


def roof(intensity, peak_gflops, bandwidth_gbps):
    """(attainable GFLOP/s, 'compute' or 'memory') at `intensity` flop/byte."""
    memory = intensity * bandwidth_gbps
    return (peak_gflops, "compute") if peak_gflops <= memory else (memory, "memory")


class Placement:
    def __init__(self, kernel, level, roof_gflops, binds):
        self.kernel = kernel
        self.level = level
        self.roof = roof_gflops
        self.binds = binds  # "compute" or "memory"
        self.fraction = kernel.gflops / roof_gflops

    def verdict(self):
        text = f"compute ({self.kernel.target} FMA peak)" if self.binds == "compute" \
            else f"{self.level} bandwidth"
        # above its roof: the roof was measured low (a noisy host?) or the level guessed wrong
        return text + (", ABOVE THE ROOF" if self.fraction > 1 else "")


def place(kernel, peaks, bandwidths, capacities):
    """Placement of `kernel` under the roofs of its target and thread count.
    peaks: {(target, threads): GFLOP/s}; bandwidths: {(level, threads): GB/s};
    capacities: {level: bytes} of the team at the kernel's thread count."""
    level = memory_level(kernel.working_set, capacities)
    gflops, binds = roof(kernel.intensity, peaks[(kernel.target, kernel.threads)],
                         bandwidths[(level, kernel.threads)])
    return Placement(kernel, level, gflops, binds)


# ----------------------------------------------------------------------------- reading

class Kernel:
    def __init__(self, name, target, threads, flops, bytes_, working_set, seconds):
        self.name = name
        self.target = target
        self.threads = threads
        self.flops = flops
        self.bytes = bytes_
        self.working_set = working_set
        self.seconds = seconds
        self.intensity = flops / bytes_
        self.gflops = flops / seconds * 1e-9

    def kind(self):
        return next(((label, marker) for prefix, label, marker in KINDS
                     if self.name.startswith(prefix)), ("other", "h"))


class Run:
    """One mlp_bench output: its ceilings, kernels and host facts."""

    def __init__(self, path, target_choice):
        bench = logs.load_bench(path)
        self.path = path
        ctx = bench.context
        self.threads = context_int(path, ctx, "mlpbench_threads", minimum=1)
        self.cache = {level: context_int(path, ctx, key, minimum=0)
                      for level, key in CACHE_KEYS.items()}
        self.cpu_model = str(ctx.get("mlpbench_cpu_model") or "")
        self.cpu_id = str(ctx.get("mlpbench_cpu_id") or "")
        own = ctx.get("mlpbench_simd_target")
        if not isinstance(own, str) or not own:
            raise files.ToolError(f"{path}: /context/mlpbench_simd_target: missing (not an "
                               "mlp_bench output?)")
        supported = [t for t in str(ctx.get("mlpbench_simd_supported") or "").split(",") if t]
        self.targets = set(supported) | {own}
        self.placed_target = target_choice or (supported[0] if own == "all" and supported
                                               else own)
        self.peaks, self.bandwidths, self.kernels = {}, {}, []
        self.barrier_ns = None
        positions = {}  # run name -> index of its first entry, for error messages
        for i, e in enumerate(bench.benchmarks):
            positions.setdefault(e.get("run_name") or e["name"], i)
        for run_name, entries in bench.iterations().items():
            seconds = statistics.median(bench.times_ns(run_name, "real_time")) * 1e-9
            self._add(run_name, entries, seconds, own, f"/benchmarks/{positions[run_name]}")
        self.noise = self._noise(ctx)

    def _add(self, run_name, entries, seconds, own_target, pointer):
        parts = run_name.split("/")
        if parts[-1] == "real_time":
            parts = parts[:-1]
        target = own_target
        if own_target == "all" and parts[-1] in self.targets:
            target, parts = parts[-1], parts[:-1]
        name = "/".join(parts)
        if parts[0] == "BM_FmaPeak":
            self.peaks[(target, self.threads)] = counter(self.path, entries, "GFLOPS", pointer)
        elif parts[0] == "BM_Bandwidth":
            if len(parts) < 3 or parts[2] not in LEVELS:
                raise files.ToolError(f"{self.path}: {pointer}/name: {run_name!r} names no memory "
                                   f"level ({', '.join(LEVELS)})")
            key = (parts[2], self.threads)
            gbps = counter(self.path, entries, "bytes_per_second", pointer) * 1e-9
            self.bandwidths[key] = max(self.bandwidths.get(key, 0.0), gbps)
        elif parts[0] == "BM_TeamBarrier":
            self.barrier_ns = seconds * 1e9
        elif all(c in entries[0] for c in WORK_COUNTERS) and target == self.placed_target:
            if not seconds > 0:
                raise files.ToolError(f"{self.path}: {pointer}/real_time: expected a time above 0")
            flops, bytes_, ws = (counter(self.path, entries, c, pointer) for c in WORK_COUNTERS)
            self.kernels.append(Kernel(name, target, self.threads, flops, bytes_, ws, seconds))

    def _noise(self, ctx):
        load = ctx.get("load_avg")
        if not (isinstance(load, list) and load and all(logs.is_number(v) for v in load)):
            load = None
        cpus = ctx.get("num_cpus")
        cpus = int(cpus) if logs.is_number(cpus) and cpus > 0 else None
        if cpus is None:
            return ["the run does not record its CPU count (/context/num_cpus)"]
        return [r for _, r in track_run.noisy_reasons(load, self.barrier_ns, None, self.threads,
                                                      cpus)]


def context_int(path, ctx, key, minimum):
    value = ctx.get(key)
    if value is None:
        raise files.ToolError(f"{path}: /context/{key}: missing (an mlp_bench output of this "
                           "version records it)")
    try:
        number = int(str(value))
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise files.ToolError(f"{path}: /context/{key}: expected an integer >= {minimum}, got "
                           f"{schemas.describe_value(value)}")
    return number


def counter(path, entries, key, pointer):
    """The median over repetitions of counter `key`, which must be a positive number."""
    values = []
    for e in entries:
        value = e.get(key)
        if not (logs.is_number(value) and math.isfinite(value) and value > 0):
            raise files.ToolError(f"{path}: {pointer}/{key}: expected a positive number, got "
                               f"{'nothing' if key not in e else schemas.describe_value(value)}")
        values.append(float(value))
    return statistics.median(values)


def cpu_description(runs):
    """'AMD EPYC (family 26 model 2)': the model name, with family and model, which a VM's
    masked name still leaves."""
    model = next((r.cpu_model for r in runs if r.cpu_model), "unknown CPU")
    family = re.search(r"family \d+ model \d+", next((r.cpu_id for r in runs if r.cpu_id), ""))
    return model + (f" ({family.group(0)})" if family else "")


def expand_inputs(inputs):
    """A folder stands for every *.json directly inside it."""
    out = []
    for arg in inputs:
        if not os.path.isdir(arg):
            out.append(arg)
            continue
        found = sorted(os.path.join(arg, n) for n in os.listdir(arg) if n.endswith(".json"))
        if not found:
            raise files.ToolError(f"{arg}: a folder without any .json file")
        out.extend(found)
    return out


def load_runs(paths, target):
    runs = [Run(p, target) for p in expand_inputs(paths)]
    ids = {r.cpu_id for r in runs}
    if len(ids) > 1:
        raise files.ToolError("runs of different CPUs (" + "; ".join(
            f"{r.path}: {r.cpu_id or 'unknown'}" for r in runs) + "): a roofline is one machine's")
    threads = [r.threads for r in runs]
    if len(set(threads)) != len(threads):
        raise files.ToolError("two runs at the same thread count (" + ", ".join(
            f"{r.path}: {r.threads}" for r in runs) + "): give one run per thread count")
    return sorted(runs, key=lambda r: r.threads)


def placements(run):
    """Every kernel of `run` placed; a missing ceiling is the run's error."""
    if not run.kernels:
        raise files.ToolError(f"{run.path}: no benchmark of target {run.placed_target} has the work "
                           f"counters ({', '.join(WORK_COUNTERS)}): nothing to place")
    peak_key = (run.placed_target, run.threads)
    if peak_key not in run.peaks:
        raise files.ToolError(f"{run.path}: no BM_FmaPeak of target {run.placed_target}: the "
                           "compute roof must come from the same run")
    capacities = team_capacities(run.cache, run.threads)
    missing = [level for level in capacities if (level, run.threads) not in run.bandwidths]
    if missing:
        raise files.ToolError(f"{run.path}: no BM_Bandwidth benchmark for {', '.join(missing)}: "
                           "the memory roofs must come from the same run")
    return [place(k, run.peaks, run.bandwidths, capacities) for k in run.kernels]


# ----------------------------------------------------------------------------- step phases

STEP_NAME = re.compile(r"^BM_TrainStep/(\d+(?:-\d+)+)/batch:(\d+)$")


def step_phases(widths, batch):
    """[(phase, GEMM benchmark name)] of one training step, in the order the step runs them:
    each layer's forward, then from the top layer down its weight gradient with Adam fused and,
    above the first layer, its input gradient (engine/src/model/model.cc, backward_layers)."""
    layers = list(zip(widths, widths[1:]))
    out = [(f"forward {i + 1} ({a}->{b})", f"BM_GemmForward/m:{batch}/n:{b}/k:{a}")
           for i, (a, b) in enumerate(layers)]
    for i in reversed(range(len(layers))):
        a, b = layers[i]
        out.append((f"weight grad + Adam {i + 1}", f"BM_GemmWeightGradAdam/m:{a}/n:{b}/k:{batch}"))
        if i > 0:
            out.append((f"input grad {i + 1}", f"BM_GemmInputGrad/m:{batch}/n:{a}/k:{b}"))
    return out


def step_report(placed):
    """Each unsharded training step's distance to its roof, and each of its GEMMs' (its phases),
    with the share of the step's time each took when measured alone."""
    by_name = {p.kernel.name: p for p in placed}
    lines = []
    for p in placed:
        match = STEP_NAME.match(p.kernel.name)
        if not match:
            continue
        widths = [int(w) for w in match.group(1).split("-")]
        step_us = p.kernel.seconds * 1e6
        lines.append(f"  {p.kernel.name}: {step_us:.1f} us, {100 * p.fraction:.1f}% of its roof "
                     f"({p.verdict()}); by phase, each GEMM measured alone:")
        total = 0.0
        for phase, name in step_phases(widths, int(match.group(2))):
            q = by_name.get(name)
            if q is None:
                lines.append(f"    {phase:<24} {name:<44} not measured in this run")
                continue
            us = q.kernel.seconds * 1e6
            total += us
            lines.append(f"    {phase:<24} {name:<44} {us:>9.1f} us {100 * us / step_us:>5.1f}% "
                         f"of the step, {100 * q.fraction:>5.1f}% of its roof ({q.verdict()})")
        if total > 0:
            rest = " (the rest: bias sums, softmax, barriers)" if total <= step_us else ""
            lines.append(f"    {'sum of the phases':<24} {'':<44} {total:>9.1f} us "
                         f"{100 * total / step_us:>5.1f}%{rest}")
    return lines


# ----------------------------------------------------------------------------- report

def plural(threads):
    return f"{threads} thread{'s' if threads != 1 else ''}"


def table(runs, placed):
    lines = []
    for run in runs:
        lines.append(f"{run.path}: {plural(run.threads)}, kernels of {run.placed_target}")
        peaks = ", ".join(f"{t} {g:.1f}" for (t, _), g in sorted(run.peaks.items()))
        lines.append(f"  FMA peak GFLOP/s: {peaks}")
        bands = ", ".join(f"{level} {run.bandwidths[(level, run.threads)]:.1f}" for level in LEVELS
                          if (level, run.threads) in run.bandwidths)
        lines.append(f"  bandwidth GB/s: {bands}")
        if run.noise:
            lines.append(f"  NOISY HOST: {'; '.join(run.noise)}")
        lines.append(f"  {'kernel':<52} {'GFLOP/s':>8} {'flop/B':>7} {'level':>5} "
                     f"{'roof':>8} {'of roof':>7}  binds")
        for p in placed[run.threads]:
            k = p.kernel
            lines.append(f"  {k.name:<52} {k.gflops:>8.2f} {k.intensity:>7.2f} {p.level:>5} "
                         f"{p.roof:>8.1f} {100 * p.fraction:>6.1f}%  {p.verdict()}")
        lines.extend(step_report(placed[run.threads]))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- plotting

def plot(runs, placed, title, output):
    plt = plotting.pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(7.5 * len(runs), 6.2), squeeze=False,
                             sharey=True)
    level_colours = dict(zip(LEVELS, ("#1f77b4", "#2ca02c", "#ff7f0e", "#8c564b")))
    all_x = [p.kernel.intensity for ps in placed.values() for p in ps]
    x_lo, x_hi = min(all_x) / 4, max(all_x) * 4
    for ax, run in zip(axes[0], runs):
        top = max(run.peaks.values())
        for (target, _), peak in sorted(run.peaks.items(), key=lambda kv: -kv[1]):
            ax.axhline(peak, color="black", linewidth=1.2 if target == run.placed_target else 0.6,
                       linestyle="-" if target == run.placed_target else ":")
            ax.annotate(f"{target} FMA peak {peak:.0f}", (x_hi, peak), ha="right", va="bottom",
                        fontsize=7, xytext=(0, 1), textcoords="offset points")
        for level in LEVELS:
            gbps = run.bandwidths.get((level, run.threads))
            if gbps:
                ridge = top / gbps
                ax.plot([x_lo, min(ridge, x_hi)], [gbps * x_lo, gbps * min(ridge, x_hi)],
                        color=level_colours[level], linewidth=1.2,
                        label=f"{level} {gbps:.0f} GB/s")
        kinds = {}
        for p in placed[run.threads]:
            label, marker = p.kernel.kind()
            kinds[label] = marker
            ax.plot(p.kernel.intensity, p.kernel.gflops, linestyle="none", marker=marker,
                    markersize=7, markerfacecolor="none" if p.binds == "memory" else "#444444",
                    color=level_colours[p.level] if p.binds == "memory" else "black")
        for label, marker in kinds.items():  # the legend's kinds, in neutral grey
            ax.plot([], [], linestyle="none", marker=marker, color="gray", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(x_lo, x_hi)
        ax.set_xlabel("arithmetic intensity (flop / byte of minimum traffic)")
        ax.grid(True, which="both", alpha=0.25)
        heading = f"{plural(run.threads)}, kernels of {run.placed_target}"
        if run.noise:
            heading += "\nNOISY HOST: " + "; ".join(run.noise)
        ax.set_title(heading, fontsize=10, color="darkred" if run.noise else "black")
        ax.legend(fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("GFLOP/s (flops counted from the shapes / measured time)")
    fig.suptitle(title, fontsize=13)
    fig.text(0.5, 0.01, "filled: compute-bound roof; hollow: memory-bound, coloured by the "
             "level holding the working set", ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    plotting.save_figure(fig, output)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    plotting.check_output_path(args.output)
    runs = load_runs(args.inputs, args.target)
    placed = {run.threads: placements(run) for run in runs}
    cpu = cpu_description(runs)
    print(f"CPU: {cpu}")
    print(table(runs, placed))
    plot(runs, placed, args.title or f"Roofline: {cpu}", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
