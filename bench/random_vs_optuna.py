#!/usr/bin/python3
# Times N trials of a built-in function with the random sampler, in memory and on a fresh SQLite file, for
# dial (dial_bench_random) and Optuna 3.1 (optuna_random.py) in the same run. The runs alternate (dial,
# Optuna, dial, Optuna, ...) so a drift in the machine's speed hits both alike; medians and the ratio
# Optuna/dial are printed per storage, with the targets of issue 2 (>= 20x in memory, >= 50x on SQLite);
# with --strict a missed target makes the exit status 1.
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_WITH_OPTUNA = "/usr/bin/python3"  # Debian's interpreter, which has python3-optuna
TARGETS = {"memory": 20.0, "sqlite": 50.0}


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dial-bin", required=True, help="path to the dial_bench_random executable")
    parser.add_argument("--function", default="hartmann6")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--storages", default="memory,sqlite")
    parser.add_argument("--json", help="also write every run and the summary to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a ratio misses its target")
    args = parser.parse_args()

    storages = args.storages.split(",")
    runs = []
    print("random sampler, %s, %d trials, %d repetitions; %s, %d cores" %
          (args.function, args.trials, args.repetitions, cpu_model(), os.cpu_count()), flush=True)
    for rep in range(args.repetitions):
        for storage in storages:
            common = ["--storage", storage, "--function", args.function, "--trials", str(args.trials),
                      "--seed", str(rep)]
            for impl, cmd in (("dial", [args.dial_bin] + common),
                              ("optuna", [PYTHON_WITH_OPTUNA, os.path.join(HERE, "optuna_random.py")] + common)):
                r = run_json(cmd)
                if r["complete"] != args.trials:
                    sys.exit("%s on %s finished %d of %d trials" % (impl, storage, r["complete"], args.trials))
                runs.append(r)
                print("  rep %d  %-6s %-6s %8.4f s  best %.4f" % (rep + 1, storage, impl, r["seconds"], r["best"]),
                      flush=True)

    summary = {}
    failed = False
    print()
    print("%-7s %14s %14s %10s %8s" % ("storage", "dial median s", "optuna med. s", "ratio", "target"))
    for storage in storages:
        med = {impl: statistics.median(r["seconds"] for r in runs if r["impl"] == impl and r["storage"] == storage)
               for impl in ("dial", "optuna")}
        ratio = med["optuna"] / med["dial"]
        ok = ratio >= TARGETS.get(storage, 0)
        failed = failed or not ok
        summary[storage] = {"dial_seconds": med["dial"], "optuna_seconds": med["optuna"], "ratio": ratio,
                            "target": TARGETS.get(storage), "met": ok}
        print("%-7s %14.4f %14.4f %9.1fx %7.0fx %s" % (storage, med["dial"], med["optuna"], ratio,
                                                     TARGETS.get(storage, 0), "ok" if ok else "MISSED"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": runs, "summary": summary, "cpu": cpu_model(), "cores": os.cpu_count()}, f, indent=2)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
