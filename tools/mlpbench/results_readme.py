"""The README.md of a machine folder that tools/reproduce_results.sh made: a section for each
part the folder holds (benchmarks, reference runs, peers, studies, roofline, regression demo),
each with the command that made it, its figure, and its table as a `results_tables` marker.
No number is typed here: mlpbench.results_tables fills every marker from the folder's files
(`results_tables.py FOLDER --readme`), and `--check` finds a table that has drifted since."""

import glob
import os

from mlpbench import machine

REFERENCE = "runs/reference"
# the peer configurations and epochs shown of the 100-epoch reference
MLP64_32_EPOCHS = "1,2,5,10,20,50,75,100"


def _marker(words):
    return [f"<!-- results_tables: {words} -->", "<!-- /results_tables -->"]


def _figure(results, name, caption):
    return [f"![{caption}](figures/{name})", ""] if \
        os.path.exists(os.path.join(results, "figures", name)) else []


def _relative(results, pattern):
    return sorted(os.path.relpath(p, results).rstrip(os.sep)
                  for p in glob.glob(os.path.join(results, pattern)))


def _has(results, *paths):
    return all(os.path.exists(os.path.join(results, p)) for p in paths)


def skeleton(results):
    """The README's Markdown with empty table markers, for the parts `results` holds."""
    facts = machine.load(results)
    name = facts["name"] if facts else os.path.basename(os.path.abspath(results))
    out = [f"# Results of {name}", "",
           "Made by `tools/reproduce_results.sh` (`--dry-run` lists what each step writes). Every "
           "table is generated from this folder's files by "
           f"`tools/results_tables.py results/{name}`, and `--check` fails when one differs. "
           "Timings hold for this machine only; losses and accuracies are bitwise the same on "
           "every machine.", ""]
    if facts:
        out += _marker("machine") + [""]
    if _has(results, "bench/mlp_bench_t1.json"):
        out += ["## Benchmarks, kernel by kernel", "",
                "`build/bench/mlp_bench --threads=T --benchmark_repetitions=5` (step `bench`); "
                "medians:", ""] + _marker("bench") + [""]
    if _has(results, f"{REFERENCE}/mlp512_5ep.json", f"{REFERENCE}/mlp512_5ep-pytorch.json",
            "peers/mlp512/summary.json", "peers/mlp64_32/summary.json",
            "studies/threads_mlp512"):
        out += ["## Headline", "", "The table README.md shows for its machine:", ""] + \
            _marker("headline") + [""]
    for experiment, words in (("mlp512_5ep", ""), ("mlp64_32_100ep", f" at={MLP64_32_EPOCHS}")):
        log = f"{REFERENCE}/{experiment}.json"
        if not _has(results, log):
            continue
        peer = f"{REFERENCE}/{experiment}-pytorch.json"
        words = f"epochs {log}" + (f" peer={peer}" if _has(results, peer) else "") + words
        out += [f"## Reference: experiments/{experiment}.json", "",
                f"`build/engine/run_experiment experiments/{experiment}.json` (step `reference`; "
                "the PyTorch peer: `bench/peers/pytorch_mlp.py`, step `peers`), log "
                f"`{log}`:", ""] + _marker(words) + [""] + \
            _figure(results, f"{experiment}_vs_pytorch.png", f"{experiment}: engine vs PyTorch")
    peers = [p for p in _relative(results, "peers/*/") if _has(results, f"{p}/summary.json")]
    if peers:
        out += ["## Engine and PyTorch side by side", "",
                "`bench/peers/side_by_side.py experiments/<experiment>.json --rounds 3` (step "
                "`side_by_side`), medians over rounds of seconds per epoch, each configuration "
                "run in turns with the engine:", ""] + _marker("peers " + " ".join(peers)) + [""]
    for kind, what, option in (("threads", "Thread scaling", "--sweep-threads"),
                               ("simd", "SIMD targets", "--sweep-simd")):
        for study in _relative(results, f"studies/{kind}_*/"):
            model = os.path.basename(study)[len(kind) + 1:]
            out += [f"## {what}: {model}", "",
                    f"`build/engine/run_experiment ... {option} ... --sweep-repeats N` (step "
                    f"`{kind}`), `{study}`:", ""] + _marker(f"{kind} {study}") + [""] + \
                _figure(results, f"{kind}_{model}.png", f"{what}, {model}")
    batch = _relative(results, "studies/batch_*/")
    if batch:
        out += ["## Batch size and time to accuracy", "", "`tools/batch_study.sh`:", ""] + \
            _marker("batch " + " ".join(batch)) + [""]
    cost, epochs = (_relative(results, "studies/shards_cost_t*.json"),
                    _relative(results, "studies/shards_epochs_t*.json"))
    if cost or epochs:
        out += ["## The price of shards in one process", "",
                "`mlp_bench --benchmark_filter='BM_TrainStep/784-[0-9-]+/batch:32/'` and "
                "`tools/epoch_ab.py experiments/mlp512_5ep.json --a=\"--shards 1\" "
                "--b=\"--shards 4\" --rounds 30` (step `shards`):", ""]
        out += (_marker("shards_cost " + " ".join(cost)) + [""] if cost else []) + \
            (_marker("epoch_ab " + " ".join(epochs)) + [""] if epochs else [])
    if _has(results, "bench/vendor_gemm.json"):
        out += ["## The vendor floor: every GEMM against oneDNN, OpenBLAS and BLIS", "",
                "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/vendor_gemm "
                "--benchmark_repetitions=5` (step `vendor`; docs/benchmarks.md), "
                "`bench/vendor_gemm.json`:", ""] + _marker("vendor bench/vendor_gemm.json") + [""]
    if _has(results, "roofline/table.txt"):
        out += ["## Roofline", "", "`tools/roofline_study.sh` (step `roofline`): the table in "
                "`roofline/table.txt`, the figure `figures/roofline.svg`.", ""]
    if _has(results, "demo-history"):
        out += ["## Regression tracking, demonstrated", "",
                "`tools/track.py record` of this build, an unchanged rebuild and the scalar build, "
                "then `tools/track.py compare` (step `regression`): `demo-history/compare_*.txt`.",
                ""] + _figure(results, "regression_scalar.png", "regression: scalar build")
    return "\n".join(out).rstrip("\n") + "\n"
