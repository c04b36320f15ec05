#!/usr/bin/python3
"""Optuna 3.1's side of the sampler benchmark (bench/samplers/run): the same 13 problems, seeds, budgets and
encoding (one suggest_float per coordinate, in the problem's box) as dial_bench_samplers, printed as the same
JSON lines. Run with Debian's /usr/bin/python3 (python3-optuna).

  optuna_side.py regret --method tpe --problems all --seeds 20 --evals 200 --processes 2
  optuna_side.py ask-time --method tpe --trials 100,1000,10000 --repetitions 10
  optuna_side.py check --dial-bin build/bench/dial_bench_samplers   # our formulas == dial's, to 1e-9
"""
import argparse
import json
import math
import multiprocessing
import random
import subprocess
import sys
import time
import warnings

import optuna

# ---- the suite, as in shared/docs/benchmark-functions.md (checked against dial's by `check`) ----
ALPHA = [1.0, 1.2, 3.0, 3.2]
A3 = [[3, 10, 30], [0.1, 10, 35], [3, 10, 30], [0.1, 10, 35]]
P3 = [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
A6 = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P6 = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def branin(x):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x[1] - b * x[0] ** 2 + c * x[0] - 6) ** 2 + 10 * (1 - t) * math.cos(x[0]) + 10


def hartmann(a, p):
    def f(x):
        return -sum(ALPHA[i] * math.exp(-sum(a[i][j] * (x[j] - p[i][j] * 1e-4) ** 2 for j in range(len(x))))
                    for i in range(4))
    return f


def levy(x):
    w = [1 + (v - 1) / 4 for v in x]
    s = math.sin(math.pi * w[0]) ** 2
    for i in range(len(x) - 1):
        s += (w[i] - 1) ** 2 * (1 + 10 * math.sin(math.pi * w[i] + 1) ** 2)
    return s + (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)


def ackley(x):
    n = len(x)
    return (-20 * math.exp(-0.2 * math.sqrt(sum(v * v for v in x) / n))
            - math.exp(sum(math.cos(2 * math.pi * v) for v in x) / n) + 20 + math.e)


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (x[i] - 1) ** 2 for i in range(len(x) - 1))


def styblinski(x):
    return 0.5 * sum(v ** 4 - 16 * v ** 2 + 5 * v for v in x)


def michalewicz(x):
    return -sum(math.sin(v) * math.sin((i + 1) * v * v / math.pi) ** 20 for i, v in enumerate(x))


def box(d, lo, hi):
    return [(lo, hi)] * d


# name → (f, bounds, f*); optima as dial's functions.cc has them.
PROBLEMS = {
    "branin2": (branin, [(-5.0, 10.0), (0.0, 15.0)], 0.397887357729739),
    "hartmann3": (hartmann(A3, P3), box(3, 0.0, 1.0), -3.862779787332663),
    "hartmann6": (hartmann(A6, P6), box(6, 0.0, 1.0), -3.32236801141551),
    "levy5": (levy, box(5, -10.0, 10.0), 0.0),
    "ackley5": (ackley, box(5, -32.768, 32.768), 0.0),
    "rosenbrock5": (rosenbrock, box(5, -5.0, 10.0), 0.0),
    "styblinski5": (styblinski, box(5, -5.0, 5.0), -39.16616570377142 * 5),
    "levy10": (levy, box(10, -10.0, 10.0), 0.0),
    "ackley10": (ackley, box(10, -32.768, 32.768), 0.0),
    "rosenbrock10": (rosenbrock, box(10, -5.0, 10.0), 0.0),
    "styblinski10": (styblinski, box(10, -5.0, 5.0), -39.16616570377142 * 10),
    "michalewicz5": (michalewicz, box(5, 0.0, math.pi), -4.687658179088142),
    "michalewicz10": (michalewicz, box(10, 0.0, math.pi), -9.660151715641327),
}

# Optuna's four, with their defaults (the methods the issue compares against).
METHODS = {
    "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
    "tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
    "tpe_mv": lambda seed: optuna.samplers.TPESampler(seed=seed, multivariate=True),
    "cmaes": lambda seed: optuna.samplers.CmaEsSampler(seed=seed),
}


def quiet():
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")


def run_one(task):
    quiet()
    method, problem, seed, evals = task
    f, bounds, fstar = PROBLEMS[problem]
    start = time.perf_counter()
    study = optuna.create_study(sampler=METHODS[method](seed))
    regret, best = [], math.inf

    def objective(trial):
        return f([trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)])

    def record(study, trial):
        nonlocal best
        if trial.value is not None:
            best = min(best, trial.value)
        regret.append(best - fstar)

    study.optimize(objective, n_trials=evals, callbacks=[record])
    return {"side": "optuna", "method": method, "sampler": method, "problem": problem, "seed": seed,
            "seconds": time.perf_counter() - start, "regret": regret}


def regret_mode(args):
    problems = list(PROBLEMS) if args.problems == "all" else args.problems.split(",")
    tasks = [(m, p, s, args.evals) for p in problems for m in args.method for s in range(args.seeds)]
    with multiprocessing.Pool(args.processes) as pool:
        for line in pool.imap_unordered(run_one, tasks):
            print(json.dumps(line), flush=True)


def ask_time_mode(args):
    quiet()
    f, bounds, _ = PROBLEMS["hartmann6"]
    for method in args.method:
        for n in [int(v) for v in args.trials.split(",")]:
            rng = random.Random(1)
            dists = {f"x{i}": optuna.distributions.FloatDistribution(lo, hi) for i, (lo, hi) in enumerate(bounds)}
            study = optuna.create_study(sampler=METHODS[method](0))
            trials = []
            for _ in range(n):
                x = [rng.uniform(lo, hi) for lo, hi in bounds]
                trials.append(optuna.trial.create_trial(params={f"x{i}": v for i, v in enumerate(x)},
                                                        distributions=dists, value=f(x)))
            study.add_trials(trials)
            times = []
            for _ in range(args.repetitions):
                start = time.perf_counter()
                trial = study.ask()
                x = [trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)]
                times.append(time.perf_counter() - start)
                study.tell(trial, f(x))
            times.sort()
            print(json.dumps({"side": "optuna", "method": method, "trials": n, "repetitions": args.repetitions,
                              "median_seconds": times[len(times) // 2], "min_seconds": times[0]}), flush=True)


def check_mode(args):
    rng = random.Random(3)
    worst = 0.0
    for name, (f, bounds, _) in PROBLEMS.items():
        for _ in range(5):
            x = [rng.uniform(lo, hi) for lo, hi in bounds]
            out = subprocess.run([args.dial_bin, "eval", "--problem", name, "--x", ",".join(repr(v) for v in x)],
                                 check=True, capture_output=True, text=True).stdout
            ours, theirs = f(x), float(out)
            err = abs(ours - theirs) / max(1.0, abs(ours))
            worst = max(worst, err)
            if err > 1e-9:
                sys.exit(f"check: {name} differs at {x}: python {ours!r}, dial {theirs!r}")
    print(json.dumps({"check": "functions agree", "worst_relative_error": worst}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["regret", "ask-time", "check"])
    ap.add_argument("--method", action="append", choices=sorted(METHODS))
    ap.add_argument("--problems", default="all")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--trials", default="100,1000,10000")
    ap.add_argument("--repetitions", type=int, default=10)
    ap.add_argument("--dial-bin")
    args = ap.parse_args()
    if args.mode == "check":
        check_mode(args)
    elif args.mode == "regret":
        regret_mode(args)
    else:
        ask_time_mode(args)


if __name__ == "__main__":
    main()
