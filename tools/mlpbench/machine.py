"""The machine a results folder's timings come from: its name and its machine.json.

A results folder is named `<vendor>-f<CPUID family>m<model>-<N>cpu` (e.g. amd-f25m17-2cpu),
from /proc/cpuinfo's "vendor_id", "cpu family", "model" and number of "processor" entries;
on a CPU without a CPUID family (Arm) from "CPU implementer" and "CPU part" instead
(arm-i0x41p0xd0c-4cpu). The name says which CPU design, not how fast this one is: the FMA peak
it measured goes in FOLDER/machine.json (schemas/machine.schema.json), from BM_FmaPeak's median
in FOLDER/bench/mlp_bench_t<T>.json at each thread count there.

    machine.py name                 prints this machine's folder name
    machine.py describe FOLDER      writes FOLDER/machine.json (the peak once bench/ exists)

Exit status: 0 done, 2 bad command line, an unreadable cpuinfo or a malformed benchmark file.
Example: tools/machine.py describe results/$(tools/machine.py name)
"""

import glob
import os
import re
import sys

from mlpbench import cli
from mlpbench import files as mlpbench_files
from mlpbench import logs as ml
from mlpbench import schemas

PROG = "machine.py"
SCHEMA = "mlpbench.machine/1"
VENDORS = {"AuthenticAMD": "amd", "GenuineIntel": "intel", "HygonGenuine": "hygon"}


def parse_args(argv):
    doc, _, epilog = __doc__.partition("\nExit status")
    p = cli.arg_parser(PROG, doc, "Exit status" + epilog)
    p.add_argument("command", choices=("name", "describe"))
    p.add_argument("folder", nargs="?", metavar="FOLDER", help="describe: the results folder")
    p.add_argument("--cpuinfo", default="/proc/cpuinfo", metavar="FILE",
                   help="where to read the CPU from (default /proc/cpuinfo)")
    args = p.parse_args(argv)
    if (args.command == "describe") != (args.folder is not None):
        p.error("describe needs FOLDER, name takes none")
    return args


def read_cpuinfo(path):
    """{field: value} of the first processor, and the number of processors."""
    text = mlpbench_files.read_bytes(path).decode("utf-8", errors="replace")
    fields, count = {}, 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep:
            continue
        if key == "processor":
            count += 1
        fields.setdefault(key, value.strip())
    if count == 0:
        raise ml.ToolError(f"{path}: no \"processor\" entry: not a cpuinfo file")
    return fields, count


def _name_part(value):
    return re.sub(r"[^a-z0-9]", "", value.lower())


def describe_cpu(path):
    """The machine.json facts of the CPU that `path` (a cpuinfo file) describes."""
    fields, count = read_cpuinfo(path)
    if "cpu family" in fields and "model" in fields:
        vendor = fields.get("vendor_id", "unknown")
        family, model = fields["cpu family"], fields["model"]
        name = f"{VENDORS.get(vendor) or _name_part(vendor) or 'cpu'}-f{_name_part(family)}" \
               f"m{_name_part(model)}-{count}cpu"
    elif "CPU implementer" in fields and "CPU part" in fields:
        vendor = fields["CPU implementer"]
        family, model = vendor, fields["CPU part"]
        name = f"arm-i{_name_part(family)}p{_name_part(model)}-{count}cpu"
    else:
        raise ml.ToolError(f"{path}: neither \"cpu family\" and \"model\" nor \"CPU implementer\" "
                           f"and \"CPU part\": cannot name the machine")
    return {"schema": SCHEMA, "name": name, "vendor": vendor, "cpu_family": family,
            "cpu_model": model, "model_name": fields.get("model name", "-"),
            "logical_cpus": count, "fma_peak_gflops": {}}


def fma_peaks(folder):
    """{threads: {gflops, simd_target}} of BM_FmaPeak in folder/bench/mlp_bench_t<T>.json."""
    peaks = {}
    for path in glob.glob(os.path.join(folder, "bench", "mlp_bench_t*.json")):
        threads = re.fullmatch(r"mlp_bench_t(\d+)\.json", os.path.basename(path))
        if not threads:
            continue
        gflops, entries = ml.load_bench(path).median("BM_FmaPeak", "GFLOPS")
        if gflops is None:
            raise ml.ToolError(f"{path}: no BM_FmaPeak with a GFLOPS counter")
        peaks[threads.group(1)] = {"gflops": gflops, "simd_target": entries[0].get("label", "-")}
    return dict(sorted(peaks.items(), key=lambda item: int(item[0])))


def load(folder):
    """FOLDER/machine.json, checked against its schema; None when there is none."""
    path = os.path.join(folder, "machine.json")
    if not os.path.exists(path):
        return None
    return ml.load_checked("machine", path)


def main(argv=None):
    args = parse_args(argv)
    facts = describe_cpu(args.cpuinfo)
    if args.command == "name":
        print(facts["name"])
        return 0
    if not os.path.isdir(args.folder):
        raise ml.ToolError(f"{args.folder}: not a folder")
    facts["fma_peak_gflops"] = fma_peaks(args.folder)
    path = os.path.join(args.folder, "machine.json")
    schemas.check("machine", path, facts)  # never a file that fails its own schema
    mlpbench_files.write_atomic(path, ml.json.dumps(facts, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(cli.main_guard(PROG, main))
