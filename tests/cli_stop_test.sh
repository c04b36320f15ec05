#!/usr/bin/env bash
# Study-level stoppers end to end (docs/study-file.md, "Stopping a study"): `dial tune` on a built-in objective with
# `stop: {no_improvement_trials: N}` ends before its n_trials, prints one line with the reason, exits 0, and records
# the reason in the study (system attr dial:stopped_by, read back with sqlite3). The trials read back show that the
# last N of them really did not improve the best value. Usage: cli_stop_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"

cat > stop.yaml <<'Y'
study: stopper
direction: minimize
n_trials: 300
sampler: {name: random, seed: 11}
objective: {builtin: branin2}
stop: {no_improvement_trials: 8}
Y
out=$("$DIAL" tune --config stop.yaml --storage sqlite:///s.db); rc=$?
[ "$rc" -eq 0 ] && ok "tune exits 0" || fail "tune exit code $rc"
lines=$(grep -c "stopped: no improvement for 8 trials since trial" <<<"$out")
[ "$lines" = 1 ] && ok "one line with the reason" || fail "expected one 'stopped:' line, got $lines in: $out"

"$DIAL" trials --storage sqlite:///s.db --study stopper --format json > trials.json
if $PY - trials.json <<'P'
import json, sys
t = json.load(open(sys.argv[1]))
values = [x["values"][0] for x in t if x["state"] == "COMPLETE"]
assert 8 < len(t) < 300, len(t)
best = min(range(len(values)), key=lambda k: values[k])
# The best is exactly 8 trials from the end, and no earlier stretch of 8 went without a new best.
assert len(values) - 1 - best == 8, (len(values), best)
run = 0
for k in range(1, len(values) - 1):
    run = 0 if values[k] < min(values[:k]) else run + 1
    assert run < 8, k
P
then ok "the last 8 trials did not improve, none earlier ran 8 without"; else fail "trial values do not match the stop"; fi

if $PY - <<'P'
import json, sqlite3
db = sqlite3.connect("s.db")
(value,) = db.execute("SELECT value_json FROM study_system_attributes WHERE key = 'dial:stopped_by'").fetchone()
record = json.loads(value)
assert record["reason"].startswith("no improvement for 8 trials since trial"), record
n = db.execute("SELECT MAX(number) FROM trials").fetchone()[0]
assert record["trial_number"] == n, (record, n)
assert record["time"], record
P
then ok "dial:stopped_by recorded"; else fail "dial:stopped_by missing or wrong"; fi

# A second call stops at once: the study is already stopped, and no trial is added.
before=$($PY -c "import json; print(len(json.load(open('trials.json'))))")
out=$("$DIAL" tune --config stop.yaml --storage sqlite:///s.db); rc=$?
after=$("$DIAL" trials --storage sqlite:///s.db --study stopper --format json | $PY -c "import json,sys; print(len(json.load(sys.stdin)))")
[ "$rc" -eq 0 ] && [ "$before" = "$after" ] && grep -q "stopped:" <<<"$out" && ok "a stopped study stays stopped" \
  || fail "second call: rc $rc, trials $before -> $after"

# A bad stop key is one line naming the file, line and key, exit 2.
printf 'objective: {builtin: branin2}\nstop: {target_value: high}\n' > bad.yaml
err=$("$DIAL" tune --config bad.yaml --storage sqlite:///b.db 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 2 ] && grep -q "bad.yaml:2: stop.target_value:" <<<"$err" && ok "bad stop key" || fail "bad stop key: rc $rc: $err"

echo "$FAILED failure(s)"
exit $((FAILED > 0))
