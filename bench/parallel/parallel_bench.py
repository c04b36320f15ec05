#!/usr/bin/python3
# The parallel-workers benchmark (issue 7): N dial worker processes against N Optuna 3.1 worker processes on one
# shared study of hartmann6 with the random sampler, on the same storage kind (a fresh SQLite file, or a fresh
# PostgreSQL database), printing each side's throughput (trials/s) and the ratio. Run by bench/parallel/run.
#
# dial: `dial tune --create-only` (budget --trials), then N `dial worker` processes; timed from launching them to
# the last one's exit (process start-up included). Optuna: the study is created, N processes each run
# optimize(RandomSampler) for a time window once all have imported optuna and loaded the study (import and set-up
# not timed); timed from the start signal to the last one's exit. Both sides are then checked from the storage:
# trial count, duplicate numbers, states (a RUNNING trial left at the end is a lost tell), errors on stderr.
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import optuna

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
LOCK_RE = re.compile(r"lock|busy", re.I)


def fresh_storage(kind, pg_url, tmp, label):
    """A new empty storage: (dial URL, SQLAlchemy URL, cleanup)."""
    if kind == "sqlite":
        path = os.path.join(tmp, label + ".db")
        return "sqlite:///" + path, "sqlite:///" + path, lambda: None
    import psycopg2
    db = "bench_parallel_%s_%d" % (label, os.getpid())
    conn = psycopg2.connect(pg_url)
    conn.autocommit = True
    conn.cursor().execute('DROP DATABASE IF EXISTS "%s"' % db)
    conn.cursor().execute('CREATE DATABASE "%s"' % db)
    url = pg_url.rpartition("/")[0] + "/" + db

    def drop():  # FORCE: the engines of this process's load_study still hold connections
        conn.cursor().execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db)
        conn.close()
    return url, url, drop


def storage_checks(study, expected=None):
    """Counts from the storage (read through Optuna, which reads dial's studies too)."""
    trials = study.get_trials(deepcopy=False)
    numbers = collections.Counter(t.number for t in trials)
    states = collections.Counter(t.state.name for t in trials)
    out = {
        "trials": len(trials),
        "states": dict(states),
        "duplicate_numbers": sum(c - 1 for c in numbers.values() if c > 1),
        "gap_free": sorted(numbers) == list(range(len(trials))),
        "running_left": states.get("RUNNING", 0),
        "complete_without_value": sum(1 for t in trials if t.state.name == "COMPLETE" and t.value is None),
    }
    if expected is not None:
        out["expected"] = expected
    return out


def run_dial(args, tmp):
    url, sa_url, cleanup = fresh_storage(args.storage, args.pg_url, tmp, "dial")
    try:
        cfg = os.path.join(tmp, "load.yaml")
        with open(cfg, "w") as f:
            f.write("study: load\nn_trials: %d\nsampler: {name: random}\nobjective: {builtin: hartmann6}\n"
                    % args.trials)
        subprocess.run([args.dial, "tune", "--config", cfg, "--storage", url, "--create-only"], check=True,
                       stdout=subprocess.DEVNULL)
        errs = [open(os.path.join(tmp, "dial-w%d.err" % i), "w+") for i in range(args.workers)]
        start = time.perf_counter()
        procs = [subprocess.Popen([args.dial, "worker", "--storage", url, "--study", "load"],
                                  stdout=subprocess.DEVNULL, stderr=errs[i]) for i in range(args.workers)]
        codes = [p.wait(timeout=args.bound) for p in procs]
        seconds = time.perf_counter() - start
        stderr = ""
        for e in errs:
            e.seek(0)
            stderr += e.read()
            e.close()
        study = optuna.load_study(study_name="load", storage=sa_url)
        checks = storage_checks(study, args.trials)
        complete = checks["states"].get("COMPLETE", 0)
        return {"side": "dial", "storage": args.storage, "workers": args.workers, "seconds": seconds,
                "complete": complete, "trials_per_s": complete / seconds,
                "exit_codes": dict(collections.Counter(codes)),
                "lock_errors": len(LOCK_RE.findall(stderr)), "stderr_lines": len(stderr.splitlines()),
                "checks": checks}
    finally:
        cleanup()


def run_optuna(args, tmp):
    url, sa_url, cleanup = fresh_storage(args.storage, args.pg_url, tmp, "optuna")
    try:
        optuna.create_study(study_name="load", storage=sa_url)
        go = os.path.join(tmp, "go")
        procs = []
        for i in range(args.workers):
            procs.append(subprocess.Popen(
                [PY, os.path.join(HERE, "optuna_worker.py"), "--storage", sa_url, "--study", "load",
                 "--window", str(args.optuna_window), "--ready", os.path.join(tmp, "ready%d" % i), "--go", go],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        deadline = time.time() + args.bound
        while not all(os.path.exists(os.path.join(tmp, "ready%d" % i)) for i in range(args.workers)):
            if time.time() > deadline or any(p.poll() is not None for p in procs):
                for p in procs:
                    p.kill()
                raise RuntimeError("Optuna workers did not all load the study: %s"
                                   % [p.communicate()[1][-300:] for p in procs if p.returncode])
            time.sleep(0.05)
        start = time.perf_counter()
        open(go, "w").close()
        results, stderr, codes = [], "", []
        for p in procs:
            out, err = p.communicate(timeout=args.bound)
            codes.append(p.returncode)
            stderr += err
            if out.strip():
                results.append(json.loads(out.strip().splitlines()[-1]))
        seconds = time.perf_counter() - start
        errors = [e for r in results for e in r["errors"]]
        study = optuna.load_study(study_name="load", storage=sa_url)
        checks = storage_checks(study)
        complete = checks["states"].get("COMPLETE", 0)
        return {"side": "optuna", "storage": args.storage, "workers": args.workers, "seconds": seconds,
                "window": args.optuna_window, "complete": complete, "trials_per_s": complete / seconds,
                "exit_codes": dict(collections.Counter(codes)),
                "errors": len(errors), "lock_errors": sum(1 for e in errors if LOCK_RE.search(e)) +
                len(LOCK_RE.findall(stderr)),
                "error_examples": sorted(set(errors))[:3], "checks": checks}
    finally:
        cleanup()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dial", required=True, help="the dial binary")
    parser.add_argument("--storage", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--pg-url", help="a PostgreSQL server's URL (its role may create databases)")
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--trials", type=int, default=5000, help="dial's study budget")
    parser.add_argument("--optuna-window", type=float, default=30.0, help="seconds Optuna's workers start trials")
    parser.add_argument("--bound", type=float, default=900.0, help="longest wait for either side, seconds")
    parser.add_argument("--side", choices=["both", "dial", "optuna"], default="both")
    args = parser.parse_args()
    if args.storage == "postgres" and not args.pg_url:
        parser.error("--storage postgres needs --pg-url")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="dial-bench-parallel-") as tmp:
        os.chmod(tmp, 0o755)
        rows = []
        if args.side in ("both", "dial"):
            rows.append(run_dial(args, tmp))
            print(json.dumps(rows[-1]), flush=True)
        if args.side in ("both", "optuna"):
            rows.append(run_optuna(args, tmp))
            print(json.dumps(rows[-1]), flush=True)
    for r in rows:
        print("%-6s %-8s %2d workers: %5d COMPLETE in %6.2f s = %8.1f trials/s  (duplicates %d, RUNNING left %d, "
              "lock errors %d)" % (r["side"], r["storage"], r["workers"], r["complete"], r["seconds"],
                                   r["trials_per_s"], r["checks"]["duplicate_numbers"], r["checks"]["running_left"],
                                   r["lock_errors"]), file=sys.stderr)
    if len(rows) == 2 and rows[1]["trials_per_s"] > 0:
        print("ratio (%s, %d workers): dial / Optuna = %.1fx" % (args.storage, args.workers,
                                                                  rows[0]["trials_per_s"] / rows[1]["trials_per_s"]),
              file=sys.stderr)


if __name__ == "__main__":
    main()
