#!/usr/bin/python3
# Optuna 3.1's side of the random-sampler benchmark: the same span as random_bench.cc (open the storage,
# create the study, run N trials of the same function with RandomSampler), printed as one JSON line.
# Run with Debian's /usr/bin/python3, which has python3-optuna.
import argparse
import json
import math
import os
import tempfile
import time

import optuna

WARMUP_TRIALS = 10  # the same untimed warm-up the C++ side does (imports, SQLAlchemy engine, schema code)

# Hartmann constants as in shared/docs/benchmark-functions.md (P given x 1e-4).
ALPHA = [1.0, 1.2, 3.0, 3.2]
A6 = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P6 = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def hartmann6(x):
    return -sum(ALPHA[i] * math.exp(-sum(A6[i][j] * (x[j] - P6[i][j] * 1e-4) ** 2 for j in range(6)))
                for i in range(4))


def branin2(x):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x[1] - b * x[0] ** 2 + c * x[0] - 6) ** 2 + 10 * (1 - t) * math.cos(x[0]) + 10


FUNCTIONS = {
    "hartmann6": (hartmann6, [(0.0, 1.0)] * 6),
    "branin2": (branin2, [(-5.0, 10.0), (0.0, 15.0)]),
}


def run(storage_kind, function, n_trials, seed):
    f, bounds = FUNCTIONS[function]
    names = ["x%d" % j for j in range(len(bounds))]

    def objective(trial):
        return f([trial.suggest_float(names[j], lo, hi) for j, (lo, hi) in enumerate(bounds)])

    path = None
    if storage_kind == "sqlite":
        fd, path = tempfile.mkstemp(prefix="optuna-bench-", suffix=".db")
        os.close(fd)
        os.remove(path)
    try:
        start = time.perf_counter()
        storage = optuna.storages.InMemoryStorage() if path is None else optuna.storages.RDBStorage("sqlite:///" + path)
        study = optuna.create_study(study_name="bench-random", storage=storage,
                                    sampler=optuna.samplers.RandomSampler(seed=seed))
        study.optimize(objective, n_trials=n_trials)
        seconds = time.perf_counter() - start
        complete = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        return seconds, complete, study.best_value
    finally:
        if path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--storage", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--function", choices=sorted(FUNCTIONS), default="hartmann6")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    run(args.storage, args.function, WARMUP_TRIALS, args.seed)
    seconds, complete, best = run(args.storage, args.function, args.trials, args.seed)
    print(json.dumps({"impl": "optuna", "optuna_version": optuna.__version__, "storage": args.storage,
                      "function": args.function, "trials": args.trials, "complete": complete,
                      "seconds": seconds, "best": best}), flush=True)


if __name__ == "__main__":
    main()
