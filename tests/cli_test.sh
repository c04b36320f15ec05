#!/usr/bin/env bash
# End-to-end tests of the dial CLI: a builtin study, command trials (pruned, failing, timing out, NaN, missing
# metric, several objectives) and Ctrl-C. Usage: cli_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"

# check NAME PYTHON_EXPR < json: the expression sees the parsed JSON as `t`.
check() {
  local name=$1 expr=$2
  if $PY -c "import json,sys; t=json.load(sys.stdin); sys.exit(0 if ($expr) else 1)"; then ok "$name"; else fail "$name ($expr)"; fi
}

# ---- a builtin study: tune, trials --format json, best ----
cat > branin.yaml <<'EOF'
study: branin
storage: sqlite:///b.db
n_trials: 15
sampler: {name: random, seed: 5}
objective: {builtin: branin2}
EOF
"$DIAL" tune --config branin.yaml > tune.out 2> tune.err; rc=$?
[ $rc -eq 0 ] && ok "tune builtin exits 0" || fail "tune builtin rc=$rc: $(cat tune.err)"
grep -q "15 trial(s)" tune.out && ok "tune prints a summary" || fail "summary missing: $(tail -1 tune.out)"
[ "$(grep -c '^trial ' tune.out)" -eq 15 ] && ok "one log line per trial when stdout is not a terminal" || fail "log lines"
"$DIAL" trials --storage sqlite:///b.db --study branin --format json > trials.json || fail "trials json rc"
check "15 COMPLETE trials with Optuna's field names" \
  "len(t) == 15 and all(x['state'] == 'COMPLETE' and set(['number','state','values','params','intermediate_values','user_attrs','datetime_start','datetime_complete']) <= set(x) for x in t)" < trials.json
check "trial numbers 0..14 and params x0, x1" \
  "[x['number'] for x in t] == list(range(15)) and all(sorted(x['params']) == ['x0','x1'] for x in t)" < trials.json
# --config gives the storage and the study name to the other commands.
"$DIAL" best --config branin.yaml > best.out || fail "best rc"
$PY - "$WORK/trials.json" "$WORK/best.out" <<'EOF' && ok "best prints the best trial's params as YAML" || fail "best output: $(cat best.out)"
import json, sys
trials = json.load(open(sys.argv[1]))
best = min(trials, key=lambda t: t["values"][0])
lines = [l for l in open(sys.argv[2]) if not l.startswith("#") and l.strip()]
parsed = dict((k.strip(), float(v)) for k, v in (l.split(":", 1) for l in lines))
assert parsed == {k: float(v) for k, v in best["params"].items()}, (parsed, best["params"])
EOF
"$DIAL" trials --config branin.yaml --format csv > trials.csv || fail "csv rc"
[ "$(wc -l < trials.csv)" -eq 16 ] && head -1 trials.csv | grep -q "^number,state,value," && ok "csv has a header and 15 rows" || fail "csv: $(head -2 trials.csv)"
"$DIAL" studies --storage sqlite:///b.db | grep -q "^branin  *MINIMIZE  *15" && ok "studies lists the study" || fail "studies"
# A second tune of the same file resumes the study.
"$DIAL" tune --config branin.yaml --n-trials 3 > /dev/null 2>&1 && \
  [ "$("$DIAL" trials --config branin.yaml --format json | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 18 ] \
  && ok "a second tune adds to the study" || fail "resume"
"$DIAL" tune --config branin.yaml --study branin-grid --sampler grid > grid.out 2> grid.err; rc=$?
[ $rc -eq 2 ] && grep -q "continuous float" grid.err && ok "--sampler grid on a continuous space is bad input" || fail "grid override rc=$rc $(cat grid.err)"
"$DIAL" delete-study --config branin.yaml > /dev/null && ! "$DIAL" trials --config branin.yaml > /dev/null 2>&1 \
  && ok "delete-study removes the study" || fail "delete-study"

# ---- command trials: one study where trials succeed, fail, time out, print NaN, miss their metric ----
cp "$HERE/cli_trainer.py" trainer.py
cat > cmd.yaml <<EOF
study: cmd
storage: sqlite:///c.db
metrics: [loss]
n_trials: 6
search_space:
  x: {type: float, low: 0.1, high: 0.9}
objective:
  command: [$PY, $WORK/trainer.py, "{x}", "ok,fail,slow,nan,nometric,ok"]
  timeout: 1.5
  kill_grace: 1
EOF
start=$(date +%s)
"$DIAL" tune --config cmd.yaml > cmd.out 2> cmd.err; rc=$?
[ $rc -eq 0 ] && ok "a study with failing trials goes on and exits 0" || fail "cmd tune rc=$rc $(cat cmd.err)"
"$DIAL" trials --storage sqlite:///c.db --study cmd --format json > cmd.json
check "states: COMPLETE FAIL FAIL FAIL FAIL COMPLETE" \
  "[x['state'] for x in t] == ['COMPLETE','FAIL','FAIL','FAIL','FAIL','COMPLETE']" < cmd.json
check "a completed trial's value is its final line and its step was reported" \
  "t[0]['values'][0] == t[0]['params']['x'] and t[0]['intermediate_values'] == {'1': t[0]['params']['x']}" < cmd.json
check "non-zero exit: reason names the status and stderr's last line" \
  "'exited with status 3' in t[1]['system_attrs']['dial:fail_reason'] and 'ValueError: boom' in t[1]['system_attrs']['dial:fail_reason']" < cmd.json
check "non-zero exit: the stderr tail is stored" \
  "'Traceback' in t[1]['system_attrs']['dial:stderr_tail']" < cmd.json
check "timeout: FAIL timed out" "t[2]['system_attrs']['dial:fail_reason'] == 'timed out after 1.5 s'" < cmd.json
check "NaN: FAIL naming the metric" "t[3]['system_attrs']['dial:fail_reason'] == 'metric \"loss\" is NaN'" < cmd.json
check "missing metric: FAIL naming it" "'loss' in t[4]['system_attrs']['dial:fail_reason'] and 'no final line' in t[4]['system_attrs']['dial:fail_reason']" < cmd.json
grep -q "a plain log line" dial-trials/cmd/0/stdout.log && ok "other output is kept in the trial's stdout.log" || fail "stdout.log"
[ -f dial-trials/cmd/0/params.json ] && ok "params.json written to the trial dir" || fail "params.json"
slow_pid=$(cat dial-trials/cmd/2/pid)
kill -0 "$slow_pid" 2> /dev/null && fail "the timed-out trainer is still running" || ok "the timed-out trainer was killed"
grep -q "trial 1 FAIL: command exited with status 3" cmd.out && ok "the log line gives the fail reason" || fail "log: $(cat cmd.out)"

# ---- pruning: a bad learning curve is stopped early, even a trainer that ignores SIGTERM ----
cat > prune.yaml <<EOF
study: prune
storage: sqlite:///p.db
metrics: [loss]
n_trials: 3
pruner: {name: median, n_startup_trials: 1}
search_space:
  x: {type: float, low: 0.1, high: 0.9}
objective:
  command: [$PY, $WORK/trainer.py, "{x}", "good-curve,bad-curve,stubborn-curve"]
  kill_grace: 0.5
EOF
start=$(date +%s.%N)
"$DIAL" tune --config prune.yaml > prune.out 2> prune.err || fail "prune tune rc $(cat prune.err)"
elapsed=$($PY -c "import time; print(time.time() - $start)")
"$DIAL" trials --storage sqlite:///p.db --study prune --format json > prune.json
check "curves: COMPLETE then PRUNED, PRUNED" "[x['state'] for x in t] == ['COMPLETE','PRUNED','PRUNED']" < prune.json
check "a pruned trial keeps its last reported value" \
  "t[1]['values'] == [t[1]['intermediate_values'][max(t[1]['intermediate_values'], key=int)]] and len(t[1]['intermediate_values']) < 50" < prune.json
$PY -c "import sys; sys.exit(0 if $elapsed < 8 else 1)" && ok "pruned trainers stop early (SIGTERM, SIGKILL after the grace)" || fail "pruning took ${elapsed}s"
for n in 1 2; do
  pid=$(cat dial-trials/prune/$n/pid)
  kill -0 "$pid" 2> /dev/null && fail "pruned trainer $n still running"
done

# ---- several objectives: best prints the Pareto set ----
cat > multi.yaml <<EOF
study: multi
storage: sqlite:///m.db
directions: [minimize, minimize]
metrics: [loss, size]
n_trials: 4
search_space:
  x: {type: float, low: 0.1, high: 0.9}
objective: {command: [$PY, $WORK/trainer.py, "{x}", "multi"]}
EOF
"$DIAL" tune --config multi.yaml > /dev/null 2>&1 || fail "multi tune"
"$DIAL" best --config multi.yaml > multi.out || fail "multi best rc"
# x and 1-x never dominate each other: all 4 trials are Pareto-optimal.
[ "$(grep -c '^x: ' multi.out)" -eq 4 ] && grep -q "4 Pareto-optimal" multi.out && grep -q "# trial 0: loss" multi.out \
  && ok "best lists the Pareto set with metric names" || fail "multi best: $(cat multi.out)"

# ---- Ctrl-C while a slow command trial runs ----
cat > slow.yaml <<EOF
study: slow
storage: sqlite:///s.db
metrics: [loss]
n_trials: 3
search_space:
  x: {type: float, low: 0.1, high: 0.9}
objective:
  command: [$PY, $WORK/trainer.py, "{x}", "ok,slow"]
  kill_grace: 2
EOF
"$DIAL" tune --config slow.yaml > slow.out 2> slow.err &
dial_pid=$!
for _ in $(seq 100); do
  [ -f dial-trials/slow/1/stdout.log ] && grep -q started dial-trials/slow/1/stdout.log && break
  sleep 0.1
done
kill -INT $dial_pid
wait $dial_pid; rc=$?
[ $rc -eq 130 ] && ok "Ctrl-C exits 130" || fail "Ctrl-C rc=$rc $(cat slow.err)"
"$DIAL" trials --storage sqlite:///s.db --study slow --format json > slow.json
check "Ctrl-C: the running trial is FAIL interrupted, nothing RUNNING, no new trial" \
  "[x['state'] for x in t] == ['COMPLETE','FAIL'] and t[1]['system_attrs']['dial:fail_reason'] == 'interrupted'" < slow.json
pid=$(cat dial-trials/slow/1/pid)
kill -0 "$pid" 2> /dev/null && fail "the interrupted trainer is still running" || ok "the interrupted trainer was stopped"

# ---- a program given by a relative path runs although the trial runs in its own directory ----
cat > run.sh <<'EOF'
#!/bin/sh
echo '{"loss": 1.5}'
EOF
chmod +x run.sh
printf 'study: rel\nstorage: sqlite:///r.db\nmetrics: [loss]\nn_trials: 1\nobjective: {command: [./run.sh]}\n' > rel.yaml
"$DIAL" tune --config rel.yaml > rel.out 2>&1 && grep -q "trial 0 COMPLETE value 1.5" rel.out \
  && ok "a relative program path is resolved where dial runs" || fail "relative program: $(cat rel.out)"

# ---- the shipped example really runs ----
mkdir -p ex && cp "$HERE/../examples/train_example.py" "$HERE/../examples/command-study.yaml" ex/
(cd ex && sed -i 's|workdir: examples|workdir: .|' command-study.yaml && \
  "$DIAL" tune --config command-study.yaml --n-trials 4 > ex.out 2>&1) && grep -q "4 trial(s)" ex/ex.out \
  && ! grep -q FAIL ex/ex.out && ok "examples/command-study.yaml runs" || fail "example: $(cat ex/ex.out)"

echo "$FAILED failure(s)"
[ $FAILED -eq 0 ]
