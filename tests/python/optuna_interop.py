#!/usr/bin/python3
"""Optuna interop checks for dial's SQLite and PostgreSQL storages, run with Debian's /usr/bin/python3
(python3-optuna 3.1, python3-psycopg2).

  optuna_interop.py dial_to_optuna TOOL WORKDIR [--postgres URL_FILE]
      dial writes studies; Optuna loads them and must see every field as dial wrote it; Optuna then adds trials
      and dial must read them back the same.
  optuna_interop.py optuna_to_dial TOOL WORKDIR [--postgres URL_FILE]
      Optuna writes studies (random sampler, pruned and failed trials, several objectives, an enqueued trial,
      attributes, old distribution names); dial must read every field as Optuna does.
  optuna_interop.py postgres_schema TOOL WORKDIR --postgres URL_FILE
      dial and Optuna each create the schema in an empty PostgreSQL database; the two catalogs (columns and their
      types, enum types, constraints, indexes, sequences, version rows) must be the same, but for dial's index
      ix_trials_study_id.
  optuna_interop.py write_optuna DB   only writes the Optuna studies (used by the C++ reader tests).
  optuna_interop.py write_newer DB    writes an Optuna study, then stamps it as a newer Optuna would after
                                      `optuna storage upgrade` (alembic v3.2.0.a).

Without --postgres the studies go to a SQLite file in WORKDIR. With it, each check creates a fresh database on the
PostgreSQL server whose URL (postgresql://user:password@host:port/dbname, a user allowed to create databases) is
in URL_FILE. DB is a SQLite path or a storage URL. TOOL is the optuna_interop_tool binary
(tests/optuna_interop_tool.cc). Exits non-zero with a message naming the study, trial and field on the first
difference.
"""
import json
import math
import os
import subprocess
import sys
import warnings

import optuna
import sqlalchemy
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


def dial_study_view(tool, url, name):
    out = subprocess.run([tool, "dump", url, name], capture_output=True, text=True)
    if out.returncode != 0:
        fail("dial could not read study %r from %s: %s" % (name, url, out.stderr.strip()))
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


def compare_views(tool, url, name, label):
    dial = dial_study_view(tool, url, name)
    opt = optuna_study_view(url, name)
    same(dial, opt, "%s: study %s (dial vs optuna)" % (label, name))
    return opt


def storage_url(db):
    """A storage URL for DB, a SQLite path or already a URL."""
    return db if "://" in db else "sqlite:///" + db


def fresh_sqlite(db):
    """Removes a database left by an earlier run, with its WAL files; returns its URL."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    return storage_url(db)


def with_database(url, dbname):
    """`url` (postgresql://user:password@host:port/db?params) naming database `dbname` instead."""
    scheme, rest = url.split("://", 1)
    authority, _, path = rest.partition("/")
    _, question, query = path.partition("?")
    return "%s://%s/%s%s%s" % (scheme, authority, dbname, question, query)


def fresh_postgres(url_file, label):
    """Creates an empty database on the test server (dropping one of the same name left by an earlier run);
    returns its URL."""
    with open(url_file) as f:
        server_url = f.read().strip()
    dbname = "dial_interop_%s_%d" % (label, os.getpid())
    engine = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as con:
        con.execute(sqlalchemy.text('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % dbname))
        con.execute(sqlalchemy.text('CREATE DATABASE "%s"' % dbname))
    engine.dispose()
    return with_database(server_url, dbname)


def fresh_database(workdir, postgres_url_file, label):
    if postgres_url_file:
        return fresh_postgres(postgres_url_file, label)
    return fresh_sqlite(os.path.join(workdir, label + ".db"))


def execute(url, statements):
    """Runs (sql, params) pairs through SQLAlchemy in one transaction; returns the first column of each
    statement's first row (None for statements that return no rows)."""
    engine = sqlalchemy.create_engine(url)
    out = []
    with engine.begin() as con:
        for sql, params in statements:
            result = con.execute(sqlalchemy.text(sql), params)
            out.append(result.scalar() if result.returns_rows else None)
    engine.dispose()
    return out


def expect(condition, message):
    if not condition:
        fail(message)


# ---- dial writes, Optuna reads ----

def dial_to_optuna(tool, workdir, postgres_url_file=None):
    url = fresh_database(workdir, postgres_url_file, "dial_written")
    out = subprocess.run([tool, "write", url], capture_output=True, text=True)
    if out.returncode != 0:
        fail("optuna_interop_tool write failed: " + out.stderr)

    names = sorted(s.study_name for s in optuna.get_all_study_summaries(url))
    expect(names == ["dial_multi", "dial_single"], "studies seen by Optuna: %r" % names)
    single = compare_views(tool, url, "dial_single", "dial_to_optuna")
    multi = compare_views(tool, url, "dial_multi", "dial_to_optuna")

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
    after = compare_views(tool, url, "dial_single", "dial_to_optuna after Optuna appended")
    numbers = [t["number"] for t in after["trials"]]
    expect(numbers == list(range(8)), "numbers after Optuna appended: %r" % numbers)
    enq = after["trials"][4]
    expect(enq["state"] == "COMPLETE", "enqueued trial state after Optuna ran it: %s" % enq["state"])
    same(enq["params"], {"lr": 0.001, "layers": 4, "optimizer": "sgd"}, "enqueued trial params after Optuna ran it")
    print("dial_to_optuna: OK (%d + %d trials compared)" % (len(after["trials"]), len(multi["trials"])))


# ---- Optuna writes, dial reads ----

def write_optuna(url):
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
    (study_id,) = execute(url, [("SELECT study_id FROM studies WHERE study_name = 'optuna_old'", {})])
    (trial_id,) = execute(url, [("INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
                                 "VALUES (0, :study, 'COMPLETE', '2021-05-06 07:08:09.101112', "
                                 "'2021-05-06 07:09:00.000000') RETURNING trial_id", {"study": study_id})])
    old = [
        ("u", 0.5, {"name": "UniformDistribution", "attributes": {"low": 0.0, "high": 1.0}}),
        ("lu", 0.01, {"name": "LogUniformDistribution", "attributes": {"low": 0.001, "high": 1.0}}),
        ("du", 0.5, {"name": "DiscreteUniformDistribution", "attributes": {"low": 0.0, "high": 1.0, "q": 0.25}}),
        ("iu", 4.0, {"name": "IntUniformDistribution", "attributes": {"low": 2, "high": 10, "step": 2}}),
        ("ilu", 8.0, {"name": "IntLogUniformDistribution", "attributes": {"low": 1, "high": 32, "step": 1}}),
        ("c", 1.0, {"name": "CategoricalDistribution", "attributes": {"choices": ["a", "b"]}}),
    ]
    statements = [("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                   "VALUES (:trial, :name, :value, :dist)",
                   {"trial": trial_id, "name": name, "value": value, "dist": json.dumps(dist)})
                  for name, value, dist in old]
    statements.append(("INSERT INTO trial_values (trial_id, objective, value, value_type) "
                       "VALUES (:trial, 0, 0.75, 'FINITE')", {"trial": trial_id}))
    execute(url, statements)


def optuna_to_dial(tool, workdir, postgres_url_file=None):
    url = fresh_database(workdir, postgres_url_file, "optuna_written")
    if postgres_url_file:
        # As Optuna users write it; dial accepts SQLAlchemy's driver suffix too.
        url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    write_optuna(url)
    single = compare_views(tool, url, "optuna_single", "optuna_to_dial")
    multi = compare_views(tool, url, "optuna_multi", "optuna_to_dial")
    old = compare_views(tool, url, "optuna_old", "optuna_to_dial")
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


def write_newer(url):
    """A database as Optuna 3.2+ leaves it after `optuna storage upgrade`: alembic v3.2.0.a and its index."""
    write_optuna(url)
    execute(url, [("UPDATE alembic_version SET version_num = 'v3.2.0.a'", {}),
                  ("CREATE INDEX IF NOT EXISTS trials_study_id_key ON trials (study_id)", {})])


# ---- the schema dial creates on PostgreSQL is Optuna's ----

CATALOG_QUERIES = {
    "columns": "SELECT table_name, ordinal_position, column_name, data_type, udt_name, character_maximum_length, "
               "numeric_precision, is_nullable, column_default FROM information_schema.columns "
               "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
    "enum types": "SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_type t "
                  "JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace "
                  "WHERE n.nspname = current_schema() GROUP BY t.typname ORDER BY t.typname",
    "constraints": "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid) "
                   "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                   "WHERE n.nspname = current_schema() ORDER BY 1, 2",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
               "ORDER BY 1, 2",
    "sequences": "SELECT sequencename, data_type::text, start_value, increment_by, max_value, cache_size "
                 "FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1",
    "version_info": "SELECT version_info_id, schema_version, library_version FROM version_info",
    "alembic_version": "SELECT version_num FROM alembic_version",
}
DIAL_ONLY_INDEX = "ix_trials_study_id"


def catalog(url):
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as con:
        out = {name: [tuple(row) for row in con.execute(sqlalchemy.text(sql))]
               for name, sql in CATALOG_QUERIES.items()}
    engine.dispose()
    return out


def postgres_schema(tool, workdir, postgres_url_file):
    by_dial = fresh_postgres(postgres_url_file, "schema_dial")
    out = subprocess.run([tool, "write", by_dial], capture_output=True, text=True)
    if out.returncode != 0:
        fail("optuna_interop_tool write failed: " + out.stderr)
    by_optuna = fresh_postgres(postgres_url_file, "schema_optuna")
    optuna.create_study(study_name="s", storage=by_optuna)
    dial, opt = catalog(by_dial), catalog(by_optuna)
    dial_indexes = [row for row in dial["indexes"] if row[1] != DIAL_ONLY_INDEX]
    expect(len(dial_indexes) == len(dial["indexes"]) - 1, "dial's database lacks index %s" % DIAL_ONLY_INDEX)
    dial["indexes"] = dial_indexes
    for name in CATALOG_QUERIES:
        if dial[name] != opt[name]:
            only_dial = [row for row in dial[name] if row not in opt[name]]
            only_optuna = [row for row in opt[name] if row not in dial[name]]
            fail("postgres_schema: %s differ\n  only in dial's:   %r\n  only in Optuna's: %r\n"
                 "  (order: dial %r, Optuna %r)" % (name, only_dial, only_optuna, dial[name], opt[name]))
    expect(len(opt["columns"]) > 40 and len(opt["enum types"]) == 4 and len(opt["sequences"]) == 11,
           "postgres_schema: the catalog queries found too little: %r" % {k: len(v) for k, v in opt.items()})
    print("postgres_schema: OK (%s)" % ", ".join("%d %s" % (len(v), k) for k, v in opt.items()))


def main(argv):
    args = argv[1:]
    postgres_url_file = None
    if "--postgres" in args:
        i = args.index("--postgres")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        postgres_url_file = args[i + 1]
        del args[i:i + 2]
    if len(args) == 3 and args[0] == "dial_to_optuna":
        dial_to_optuna(args[1], args[2], postgres_url_file)
    elif len(args) == 3 and args[0] == "optuna_to_dial":
        optuna_to_dial(args[1], args[2], postgres_url_file)
    elif len(args) == 3 and args[0] == "postgres_schema" and postgres_url_file:
        postgres_schema(args[1], args[2], postgres_url_file)
    elif len(args) == 2 and args[0] == "write_optuna":
        db = args[1]
        write_optuna(db if "://" in db else fresh_sqlite(db))
    elif len(args) == 2 and args[0] == "write_newer":
        db = args[1]
        write_newer(db if "://" in db else fresh_sqlite(db))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
