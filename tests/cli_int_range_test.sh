#!/usr/bin/env bash
# Int parameters over the widest range dial accepts (±2^53, where a double still holds every integer; wider bounds are
# refused by `dial tune --check`, see bad_input_test.sh): every trial completes, each value reaches the objective,
# the storage and Optuna exactly as sampled, and the values spread over the range instead of sticking to an end. A
# study that Optuna made with wider bounds (0 .. 2^63-1, which Optuna accepts) stays readable by `dial trials`.
# Usage: cli_int_range_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"

# The objective logs the values it was given, to compare with what the storage holds.
cat > wide.py << 'EOF'
import json, os, sys
a, b, c = (int(os.environ["DIAL_PARAM_" + n]) for n in ("A", "B", "C"))
with open(sys.argv[1], "a") as f:
    f.write(f"{a} {b} {c}\n")
print(json.dumps({"loss": abs(a / 2**53 - 0.3) + abs(b / 2**53 - 0.6) + abs(c / 2**53 + 0.2)}))
EOF
for sampler in random tpe cmaes; do
  rm -f given.txt
  cat > wide.yaml << EOF
study: wide-$sampler
storage: sqlite:///$WORK/wide.db
metrics: [loss]
n_trials: 16
sampler: {name: $sampler, seed: 4}
search_space:
  a: {type: int, low: -9007199254740992, high: 9007199254740992}
  b: {type: int, low: 0, high: 9007199254740992}
  c: {type: int, low: -9007199254740992, high: 9007199254740992, step: 1048576}
objective: {command: [$PY, $WORK/wide.py, $WORK/given.txt]}
EOF
  "$DIAL" tune --check --config wide.yaml > check.out 2>&1 || fail "$sampler: --check refuses ±2^53: $(cat check.out)"
  if ! "$DIAL" tune --config wide.yaml > tune.out 2>&1; then
    fail "$sampler: dial tune: $(tail -3 tune.out)"
    continue
  fi
  if ! "$DIAL" trials --config wide.yaml --format json > trials.json 2> trials.err; then
    fail "$sampler: dial trials: $(cat trials.err)"
    continue
  fi
  # Values as the objective saw them, as dial reads them back, and as Optuna reads them back: the same integers.
  "$PY" - "$sampler" << 'EOF' || FAILED=$((FAILED + 1))
import json, sys
import optuna
sampler = sys.argv[1]
lim = 2**53
given = [tuple(int(v) for v in line.split()) for line in open("given.txt")]
trials = json.load(open("trials.json"))
if isinstance(trials, dict):
    trials = trials.get("trials", trials)
stored = [tuple(int(t["params"][n]) for n in "abc") for t in trials]
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="wide-" + sampler, storage="sqlite:///wide.db")
seen_by_optuna = [tuple(t.params[n] for n in "abc") for t in study.trials]
problems = []
if len(given) != 16 or any(t["state"] != "COMPLETE" for t in trials):
    problems.append(f"{len(given)} objective runs, states {[t['state'] for t in trials]}")
if sorted(given) != sorted(stored) or sorted(stored) != sorted(seen_by_optuna):
    problems.append(f"values differ: objective {given[:3]}, dial {stored[:3]}, optuna {seen_by_optuna[:3]}")
for a, b, c in stored:
    if not (-lim <= a <= lim and 0 <= b <= lim and -lim <= c <= lim and (c + lim) % 2**20 == 0):
        problems.append(f"value outside its range or grid: {a} {b} {c}")
for i, (low, high) in enumerate([(-lim, lim), (0, lim), (-lim, lim)]):
    column = [v[i] for v in stored]
    at_end = sum(v in (low, high) for v in column)
    if len(set(column)) < 4 or at_end > 8:
        problems.append(f"param {'abc'[i]} stuck: {len(set(column))} distinct values, {at_end} at an end")
if problems:
    print(f"FAIL: {sampler}: " + "; ".join(problems))
    sys.exit(1)
print(f"ok: {sampler}: 16 trials over ±2^53, values exact in the objective, dial and Optuna, spread over the range")
EOF
done

# ---- an Optuna study with bounds beyond 2^53 (Optuna accepts them): dial lists it instead of failing ----
"$PY" - << 'EOF' || { echo "FAIL: optuna could not create the study"; exit 1; }
import optuna
from optuna.distributions import IntDistribution
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(study_name="huge", storage="sqlite:///huge.db")
for k in (5, 2**62, 2**63 - 1024):  # 2**63 - 1 itself Optuna refuses: its float is 2**63
    study.add_trial(optuna.trial.create_trial(params={"k": k}, distributions={"k": IntDistribution(0, 2**63 - 1)}, value=1.0))
EOF
if "$DIAL" trials --storage "sqlite:///$WORK/huge.db" --study huge --format json > huge.json 2> huge.err; then
  "$PY" -c '
import json, sys
t = json.load(open("huge.json"))
t = t.get("trials", t) if isinstance(t, dict) else t
ks = [int(x["params"]["k"]) for x in t]
# param_value is a FLOAT column: these three are doubles, read back exactly.
sys.exit(0 if ks == [5, 2**62, 2**63 - 1024] else print("FAIL: dial read", ks) or 1)' && ok "dial trials reads Optuna's study with bounds 0 .. 2^63-1" ||
    FAILED=$((FAILED + 1))
else
  fail "dial trials on Optuna's study with bounds 0 .. 2^63-1: $(cat huge.err)"
fi

echo "$FAILED failure(s)"
[ $FAILED -eq 0 ]
