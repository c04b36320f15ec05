#!/usr/bin/python3
"""Optuna interop checks for dial's SQLite storage, run with Debian's /usr/bin/python3 (python3-optuna 3.1).

  optuna_interop.py dial_to_optuna TOOL WORKDIR   dial writes studies; Optuna loads them and must see every
                                                  field as dial wrote it; Optuna then adds trials and dial must
                                                  read them back the same.
  optuna_interop.py optuna_to_dial TOOL WORKDIR   Optuna writes studies (random sampler, pruned and failed trials,
                                                  several objectives, an enqueued trial, attributes, old
                                                  distribution names); dial must read every field as Optuna does.
  optuna_interop.py write_optuna DB               only writes the Optuna studies (used by the C++ reader test).
  optuna_interop.py write_newer DB                writes an Optuna study, then stamps it as a newer Optuna would
                                                  after `optuna storage upgrade` (alembic v3.2.0.a).

TOOL is the optuna_interop_tool binary (tests/optuna_interop_tool.cc). Exits non-zero with a message naming the
study, trial and field on the first difference.
"""
import json
import math
import os
import sqlite3
import subprocess
import sys
import warnings

import optuna
from optuna.distributions import distribution_to_json
from optuna.trial import TrialState

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.simplefilter("ignore")

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def number(v):
    """A float as optuna_interop_tool prints it: JSON has no NaN or infinities."""
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def new_distribution_json(d):
    """Optuna 3.1 keeps the classes of older names when it reads them; dial reads them as the new classes, so
    Optuna's view is brought to the new names before comparing."""
    j = json.loads(distribution_to_json(d))
    name, a = j["name"], j["attributes"]
    if name == "UniformDistribution":
        return {"name": "FloatDistribution", "attributes": {"low": a["low"], "high": a["high"], "step": None,
                                                            "log": False}}
    if name == "LogUniformDistribution":
        return {"name": "FloatDistribution", "attributes": {"low": a["low"], "high": a["high"], "step": None,
                                                            "log": True}}
    if name == "DiscreteUniformDistribution":
        return {"name": "FloatDistribution", "attributes": {"low": a["low"], "high": a["high"], "step": a["q"],
                                                            "log": False}}
    if name == "IntUniformDistribution":
        return {"name": "IntDistribution", "attributes": {"low": a["low"], "high": a["high"],
                                                          "step": a.get("step", 1), "log": False}}
    if name == "IntLogUniformDistribution":
        return {"name": "IntDistribution", "attributes": {"low": a["low"], "high": a["high"],
                                                          "step": a.get("step", 1), "log": True}}
    return j


def optuna_trial_view(t):
    return {
        "number": t.number,
        "state": t.state.name,
        "values": [number(v) for v in (t.values or [])],
        "params": t.params,
        "distributions": {k: new_distribution_json(d) for k, d in t.distributions.items()},
        "intermediate_values": {str(k): number(v) for k, v in t.intermediate_values.items()},
        "user_attrs": t.user_attrs,
        "system_attrs": t.system_attrs,
        "datetime_start": t.datetime_start.strftime(DATETIME_FORMAT) if t.datetime_start else None,
        "datetime_complete": t.datetime_complete.strftime(DATETIME_FORMAT) if t.datetime_complete else None,
    }


def optuna_study_view(storage_url, name):
    study = optuna.load_study(study_name=name, storage=storage_url)
    return {
        "directions": [d.name for d in study.directions],
        "user_attrs": study.user_attrs,
        "system_attrs": study.system_attrs,
        "trials": [optuna_trial_view(t) for t in study.get_trials(deepcopy=False)],
    }


def dial_study_view(tool, db, name):
    out = subprocess.run([tool, "dump", db, name], capture_output=True, text=True)
    if out.returncode != 0:
        fail("dial could not read study %r from %s: %s" % (name, db, out.stderr.strip()))
    return json.loads(out.stdout)


def same(a, b, where):
    """Compares two JSON-like values strictly: a bool is not a number, 3 equals 3.0, dict keys must match."""
    if isinstance(a, bool) or isinstance(b, bool):
        if type(a) is not type(b) or a != b:
            fail("%s: %r != %r" % (where, a, b))
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a != b:
            fail("%s: %r != %r" % (where, a, b))
    elif isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            fail("%s: keys %s != %s" % (where, sorted(a), sorted(b)))
        for k in a:
            same(a[k], b[k], "%s.%s" % (where, k))
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            fail("%s: %d items != %d items (%r vs %r)" % (where, len(a), len(b), a, b))
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, "%s[%d]" % (where, i))
    elif type(a) is not type(b) or a != b:
        fail("%s: %r != %r" % (where, a, b))


def compare_views(tool, db, name, label):
    dial = dial_study_view(tool, db, name)
    opt = optuna_study_view("sqlite:///" + db, name)
    same(dial, opt, "%s: study %s (dial vs optuna)" % (label, name))
    return opt


def fresh(db):
    """Removes a database left by an earlier run, with its WAL files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


def expect(condition, message):
    if not condition:
        fail(message)


# ---- dial writes, Optuna reads ----

def dial_to_optuna(tool, workdir):
    db = os.path.join(workdir, "dial_written.db")
    fresh(db)
    out = subprocess.run([tool, "write", db], capture_output=True, text=True)
    if out.returncode != 0:
        fail("optuna_interop_tool write failed: " + out.stderr)
    url = "sqlite:///" + db

    names = sorted(s.study_name for s in optuna.get_all_study_summaries(url))
    expect(names == ["dial_multi", "dial_single"], "studies seen by Optuna: %r" % names)
    single = compare_views(tool, db, "dial_single", "dial_to_optuna")
    multi = compare_views(tool, db, "dial_multi", "dial_to_optuna")

    # Known values, so that a mistake shared by both readers cannot hide.
    trials = single["trials"]
    expect([t["state"] for t in trials] == ["COMPLETE", "PRUNED", "FAIL", "COMPLETE", "WAITING", "RUNNING"],
           "states: %r" % [t["state"] for t in trials])
    t0 = trials[0]
    expect(t0["values"] == [12.5], "trial 0 values %r" % t0["values"])
    same(t0["params"], {"lr": 3.2e-4, "layers": 6, "optimizer": "adam", "width": 256, "dropout": 0.375},
         "trial 0 params")
    same(t0["distributions"]["lr"],
         {"name": "FloatDistribution", "attributes": {"low": 1e-5, "high": 0.1, "step": None, "log": True}},
         "trial 0 lr distribution")
    same(t0["distributions"]["width"],
         {"name": "IntDistribution", "attributes": {"low": 64, "high": 512, "step": 64, "log": False}},
         "trial 0 width distribution")
    same(t0["distributions"]["optimizer"],
         {"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd", 3, 2.5, True, None]}},
         "trial 0 optimizer distribution")
    same(t0["intermediate_values"], {"0": 40.0, "1": 20.5, "2": "nan", "3": "inf", "4": "-inf", "5": 12.5},
         "trial 0 intermediate values")
    same(t0["user_attrs"], {"wer": 12.5, "tags": ["a", "b"], "cfg": {"x": 1, "y": None}}, "trial 0 user attrs")
    same(t0["system_attrs"], {"dial:worker": "w1"}, "trial 0 system attrs")
    expect(t0["datetime_start"] is not None and t0["datetime_complete"] >= t0["datetime_start"],
           "trial 0 datetimes %r %r" % (t0["datetime_start"], t0["datetime_complete"]))
    expect(trials[1]["values"] == [30.0], "pruned trial keeps its value: %r" % trials[1]["values"])
    same(trials[1]["params"]["optimizer"], None, "trial 1 optimizer (None choice)")
    same(trials[2]["params"]["optimizer"], True, "trial 2 optimizer (True choice)")
    same(trials[2]["system_attrs"], {"dial:fail_reason": "exit code 1"}, "trial 2 system attrs")
    same(trials[3]["params"], {"lr": 0.1, "optimizer": 3, "optimizer_b": 2.5}, "trial 3 params")
    expect(trials[3]["values"] == ["inf"], "trial 3 values %r" % trials[3]["values"])
    same(trials[4]["system_attrs"], {"fixed_params": {"lr": 0.001, "layers": 4, "optimizer": "sgd"}},
         "enqueued trial")
    expect(trials[4]["datetime_start"] is None, "enqueued trial has a start time")
    expect(trials[5]["datetime_complete"] is None, "running trial has a completion time")
    same(single["user_attrs"], {"corpus": "librispeech-100", "metrics": ["wer"]}, "study user attrs")
    same(multi["directions"], ["MINIMIZE", "MAXIMIZE"], "multi directions")
    same([t["values"] for t in multi["trials"]], [[1.0, 2.0], ["-inf", 3.5], [0.5, "inf"], []], "multi values")
    # (Not Optuna's best_trial here: on SQLite, Optuna 3.1 orders by the value column, where an infinity is NULL
    # as its own format has it, so it names trial 3, whose value is +inf, the best of a minimisation.)
    # (-inf, 3.5) dominates (1, 2); (0.5, inf) is best in the second objective.
    # (-inf, 3.5) dominates (1, 2); (0.5, inf) is best in the second objective.
    pareto = sorted(t.number for t in optuna.load_study(study_name="dial_multi", storage=url).best_trials)
    expect(pareto == [1, 2], "Optuna's Pareto front: %r" % pareto)

    # Optuna continues the study dial wrote: it takes the enqueued trial first, then numbers new ones after dial's.
    study = optuna.load_study(study_name="dial_single", storage=url, sampler=optuna.samplers.RandomSampler(seed=1))

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        trial.suggest_int("layers", 1, 8)
        trial.suggest_categorical("optimizer", ["adam", "sgd", 3, 2.5, True, None])
        trial.report(lr, 0)
        trial.set_user_attr("by", "optuna")
        return lr * 100

    study.optimize(objective, n_trials=3)
    after = compare_views(tool, db, "dial_single", "dial_to_optuna after Optuna appended")
    numbers = [t["number"] for t in after["trials"]]
    expect(numbers == list(range(8)), "numbers after Optuna appended: %r" % numbers)
    enq = after["trials"][4]
    expect(enq["state"] == "COMPLETE", "enqueued trial state after Optuna ran it: %s" % enq["state"])
    same(enq["params"], {"lr": 0.001, "layers": 4, "optimizer": "sgd"}, "enqueued trial params after Optuna ran it")
    print("dial_to_optuna: OK (%d + %d trials compared)" % (len(after["trials"]), len(multi["trials"])))


# ---- Optuna writes, dial reads ----

def write_optuna(db):
    fresh(db)
    url = "sqlite:///" + db
    study = optuna.create_study(study_name="optuna_single", storage=url, direction="minimize",
                                sampler=optuna.samplers.RandomSampler(seed=7))
    study.set_user_attr("corpus", "tedlium")
    study.set_user_attr("sizes", [1, 2.5, "x"])

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        layers = trial.suggest_int("layers", 1, 8)
        optimizer = trial.suggest_categorical("optimizer", ["adam", "sgd", 3, 2.5, True, None])
        if optimizer == "sgd":
            trial.suggest_float("momentum", 0.0, 1.0, step=0.25)
        trial.suggest_int("width", 64, 512, step=64)
        trial.set_user_attr("run", {"lr": lr, "layers": layers})
        if trial.number % 5 == 3:
            raise ValueError("diverged")
        for step in range(4):
            value = lr * 1000 / (step + 1)
            if step == 1 and trial.number % 4 == 1:
                value = float("nan")
            if step == 2 and trial.number % 4 == 2:
                value = float("inf")
            trial.report(value, step)
        if trial.number % 4 == 0:
            raise optuna.TrialPruned()
        return layers + lr

    study.optimize(objective, n_trials=16, catch=(ValueError,))
    study.enqueue_trial({"lr": 0.01, "layers": 3, "optimizer": "adam"}, user_attrs={"from": "enqueue"})

    multi = optuna.create_study(study_name="optuna_multi", storage=url, directions=["minimize", "maximize"],
                                sampler=optuna.samplers.RandomSampler(seed=3))

    def objective2(trial):
        x = trial.suggest_float("x", -5, 5)
        y = trial.suggest_int("y", 0, 10, log=False)
        if trial.number == 2:
            raise ValueError("fail")
        if trial.number == 4:
            return float("-inf"), float("inf")
        return x * x, y - x

    multi.optimize(objective2, n_trials=6, catch=(ValueError,))

    # Older Optuna wrote distributions under other names; Optuna 3.1 and dial both read them.
    optuna.create_study(study_name="optuna_old", storage=url)
    con = sqlite3.connect(db)
    (study_id,) = con.execute("SELECT study_id FROM studies WHERE study_name = 'optuna_old'").fetchone()
    cur = con.execute("INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
                      "VALUES (0, ?, 'COMPLETE', '2021-05-06 07:08:09.101112', '2021-05-06 07:09:00.000000')",
                      (study_id,))
    trial_id = cur.lastrowid
    old = [
        ("u", 0.5, {"name": "UniformDistribution", "attributes": {"low": 0.0, "high": 1.0}}),
        ("lu", 0.01, {"name": "LogUniformDistribution", "attributes": {"low": 0.001, "high": 1.0}}),
        ("du", 0.5, {"name": "DiscreteUniformDistribution", "attributes": {"low": 0.0, "high": 1.0, "q": 0.25}}),
        ("iu", 4.0, {"name": "IntUniformDistribution", "attributes": {"low": 2, "high": 10, "step": 2}}),
        ("ilu", 8.0, {"name": "IntLogUniformDistribution", "attributes": {"low": 1, "high": 32, "step": 1}}),
        ("c", 1.0, {"name": "CategoricalDistribution", "attributes": {"choices": ["a", "b"]}}),
    ]
    for name, value, dist in old:
        con.execute("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                    "VALUES (?, ?, ?, ?)", (trial_id, name, value, json.dumps(dist)))
    con.execute("INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, 0, 0.75, 'FINITE')",
                (trial_id,))
    con.commit()
    con.close()


def optuna_to_dial(tool, workdir):
    db = os.path.join(workdir, "optuna_written.db")
    write_optuna(db)
    single = compare_views(tool, db, "optuna_single", "optuna_to_dial")
    multi = compare_views(tool, db, "optuna_multi", "optuna_to_dial")
    old = compare_views(tool, db, "optuna_old", "optuna_to_dial")
    states = [t["state"] for t in single["trials"]]
    for s in ("COMPLETE", "PRUNED", "FAIL", "WAITING"):
        expect(s in states, "optuna_single has no %s trial: %r" % (s, states))
    expect(any(v == "nan" for t in single["trials"] for v in t["intermediate_values"].values()),
           "no NaN intermediate value was written")
    expect(multi["directions"] == ["MINIMIZE", "MAXIMIZE"], "multi directions %r" % multi["directions"])
    expect(multi["trials"][4]["values"] == ["-inf", "inf"], "multi trial 4 values %r" % multi["trials"][4]["values"])
    expect(old["trials"][0]["distributions"]["du"]["attributes"]["step"] == 0.25, "old DiscreteUniform step")
    print("optuna_to_dial: OK (%d + %d + %d trials compared)"
          % (len(single["trials"]), len(multi["trials"]), len(old["trials"])))


def write_newer(db):
    """A database as Optuna 3.2+ leaves it after `optuna storage upgrade`: alembic v3.2.0.a and its index."""
    write_optuna(db)
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = 'v3.2.0.a'")
    con.execute("CREATE INDEX IF NOT EXISTS trials_study_id_key ON trials (study_id)")
    con.commit()
    con.close()


def main(argv):
    if len(argv) == 4 and argv[1] == "dial_to_optuna":
        dial_to_optuna(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "optuna_to_dial":
        optuna_to_dial(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "write_optuna":
        write_optuna(argv[2])
    elif len(argv) == 3 and argv[1] == "write_newer":
        write_newer(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
