#!/usr/bin/python3
"""Optuna 3.1's side of the multi-fidelity benchmark (bench/pruners/run): MF-Hartmann6 with the same protocol and
JSON lines as dial_bench_pruners (each finished trial as [z reached, f(x, 100) or null]). Run with Debian's
/usr/bin/python3 (python3-optuna).

  optuna_side.py --method tpe+hyperband --method tpe --seeds 20 --budget 100 --processes 2
Methods: random, tpe, random+hyperband, tpe+hyperband (HyperbandPruner(min_resource=1, max_resource=100,
reduction_factor=3), as the reference figures in shared/docs/benchmark-functions.md), tpe+median,
tpe+asha (SuccessiveHalvingPruner defaults).
"""
import argparse
import json
import math
import multiprocessing
import time
import warnings

import optuna

ALPHA = [1.0, 1.2, 3.0, 3.2]
A6 = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P6 = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
HARTMANN6_OPTIMUM = -3.32236801141551
MAX_Z = 100


def mf_hartmann6(x, z, bias):
    s = math.log(z) / math.log(MAX_Z)
    return -sum((ALPHA[i] - bias * (1 - s)) *
                math.exp(-sum(A6[i][j] * (x[j] - P6[i][j] * 1e-4) ** 2 for j in range(6))) for i in range(4))


def make(method, seed):
    sampler_name, _, pruner_name = method.partition("+")
    sampler = {"random": optuna.samplers.RandomSampler, "tpe": optuna.samplers.TPESampler}[sampler_name](seed=seed)
    pruners = {
        "": optuna.pruners.NopPruner,
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=MAX_Z, reduction_factor=3),
        "median": optuna.pruners.MedianPruner,
        "asha": optuna.pruners.SuccessiveHalvingPruner,
    }
    return sampler, pruners[pruner_name]()


def run_one(args):
    method, seed, budget, bias = args
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler, pruner = make(method, seed)
    study = optuna.create_study(sampler=sampler, pruner=pruner, study_name=f"mf-hartmann6-seed{seed}")
    trials, spent = [], [0.0]

    def objective(trial):
        x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)]
        value = None
        for z in range(1, MAX_Z + 1):
            value = mf_hartmann6(x, z, bias)
            trial.report(value, z)
            if z < MAX_Z and trial.should_prune():
                trials.append([z, None])
                spent[0] += z / MAX_Z
                raise optuna.TrialPruned()
        trials.append([MAX_Z, value])
        spent[0] += 1.0
        return value

    def stop_at_budget(study, _trial):
        if spent[0] >= budget:
            study.stop()

    start = time.perf_counter()
    study.optimize(objective, callbacks=[stop_at_budget])
    return {"side": "optuna", "method": method, "sampler": method, "seed": seed, "bias": bias,
            "seconds": time.perf_counter() - start, "optimum": HARTMANN6_OPTIMUM, "trials": trials}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", action="append", required=True)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=float, default=100)
    parser.add_argument("--bias", type=float, default=2.5)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    tasks = [(m, s, args.budget, args.bias) for m in args.method for s in range(args.seeds)]
    with multiprocessing.Pool(args.processes) as pool:
        for line in pool.imap_unordered(run_one, tasks):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
