#!/usr/bin/python3
# One Optuna 3.1 worker process of the parallel benchmark (bench/parallel/run): loads the shared study, says it is
# ready, waits for the driver's start signal (so that `import optuna` and SQLAlchemy's set-up are not timed, and all
# workers start together), then runs study.optimize with RandomSampler on hartmann6 until the time window ends.
# An exception out of optimize (e.g. SQLite's "database is locked") is counted, and the worker goes on until the
# window ends. Prints one JSON line: the trials it finished and the errors it met.
import argparse
import json
import os
import sys
import time

import optuna

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from optuna_random import hartmann6  # noqa: E402  (the same function as dial's built-in hartmann6)

NAMES = ["x%d" % j for j in range(6)]


def objective(trial):
    return hartmann6([trial.suggest_float(name, 0.0, 1.0) for name in NAMES])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", required=True)
    parser.add_argument("--window", type=float, required=True, help="seconds during which trials are started")
    parser.add_argument("--ready", required=True, help="file to create once loaded")
    parser.add_argument("--go", required=True, help="file whose appearance starts the window")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=args.study, storage=args.storage,
                              sampler=optuna.samplers.RandomSampler())
    open(args.ready, "w").close()
    while not os.path.exists(args.go):
        time.sleep(0.01)
    end = time.time() + args.window
    finished = 0
    errors = []

    def count(study, trial):
        nonlocal finished
        finished += 1

    while time.time() < end:
        try:
            study.optimize(objective, timeout=max(end - time.time(), 0.001), callbacks=[count])
        except Exception as e:  # noqa: BLE001  (counted and reported; the worker goes on, as a fleet would)
            errors.append("%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
    print(json.dumps({"pid": os.getpid(), "finished": finished, "errors": errors}))


if __name__ == "__main__":
    main()
