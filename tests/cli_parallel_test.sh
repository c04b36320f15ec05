#!/usr/bin/env bash
# End-to-end tests of parallel trials (docs/parallel.md): `dial tune --n-jobs` on SQLite runs trials at once with an
# exact count; a trainer that dies by a signal fails its trial only; a worker killed with SIGKILL has its trial failed
# and retried (max_retries) by the pool; SIGTERM to `dial tune` leaves nothing RUNNING; `dial worker` fails a stale
# trial (old heartbeat) and runs its retry. Usage: cli_parallel_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"

# check NAME PYTHON_EXPR < json: the expression sees the trials (dial trials --format json) as `t`.
check() {
  local name=$1 expr=$2
  if $PY -c "import json,sys; t=json.load(sys.stdin); sys.exit(0 if ($expr) else 1)"; then ok "$name"; else fail "$name ($expr)"; fi
}
trials_json() { "$DIAL" trials --storage sqlite:///p.db --study "$1" --format json; }
reason() { echo "x.get('system_attrs', {}).get('dial:fail_reason', '')"; }

# A trainer: sleeps $SLEEP s, prints the value; trial numbers in $KILL_AT die by SIGKILL, in $SEGV_AT by SIGSEGV.
cat > trainer.sh <<'EOF'
#!/bin/bash
for n in ${KILL_AT:-}; do [ "$DIAL_TRIAL_NUMBER" = "$n" ] && kill -KILL $$; done
for n in ${SEGV_AT:-}; do [ "$DIAL_TRIAL_NUMBER" = "$n" ] && kill -SEGV $$; done
sleep "${SLEEP:-0.5}"
echo "{\"value\": $1}"
EOF
chmod +x trainer.sh
study_file() {  # NAME N_TRIALS N_JOBS [extra yaml lines]
  cat > "$1.yaml" <<EOF
study: $1
storage: sqlite:///p.db
n_trials: $2
n_jobs: $3
sampler: {name: random, seed: 3}
heartbeat_interval: 0.2
grace_period: 1
search_space:
  x: {type: float, low: 0.0, high: 1.0}
objective: {command: [./trainer.sh, "{x}"], kill_grace: 2}
$4
EOF
}
# The most trials RUNNING at one time, from their start and complete times.
MAX_CONCURRENT='max(sum(1 for y in t if y["datetime_start"] <= x["datetime_start"] < y["datetime_complete"]) for x in t)'

# ---- 1. --n-jobs 3: trials overlap, the count is exact, numbers are unique ----
study_file par 9 1 ""
SLEEP=0.6 "$DIAL" tune --config par.yaml --n-jobs 3 > par.out 2> par.err; rc=$?
[ $rc -eq 0 ] && ok "tune --n-jobs 3 exits 0" || fail "tune --n-jobs 3 rc=$rc: $(cat par.err)"
trials_json par > par.json
check "exactly 9 trials, numbers 0..8, all COMPLETE" \
  "sorted(x['number'] for x in t) == list(range(9)) and all(x['state'] == 'COMPLETE' for x in t)" < par.json
check "several trials RUNNING at once (max concurrency 2..3)" "2 <= $MAX_CONCURRENT <= 3" < par.json
grep -q "9 trial(s)" par.out && ok "the pool prints a summary of 9 trials" || fail "summary: $(tail -1 par.out)"
# A second call adds exactly its --n-trials to the study.
SLEEP=0.1 "$DIAL" tune --config par.yaml --n-jobs 3 --n-trials 4 > /dev/null 2>&1 && \
  [ "$(trials_json par | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 13 ] \
  && ok "a second --n-jobs call adds exactly --n-trials" || fail "second call count"

# ---- 2. trainers that die by SIGKILL and SIGSEGV fail their own trials only ----
study_file crash 8 3 ""
SLEEP=0.2 KILL_AT=2 SEGV_AT=5 "$DIAL" tune --config crash.yaml > crash.out 2> crash.err; rc=$?
[ $rc -eq 0 ] && ok "a crashing trainer does not end the study" || fail "crash rc=$rc: $(cat crash.err)"
trials_json crash > crash.json
check "8 trials; 2 FAIL by SIGKILL, 5 FAIL by SIGSEGV, the rest COMPLETE" \
  "len(t) == 8 and all((x['state'] == 'FAIL') == (x['number'] in (2, 5)) for x in t) and
   'killed by signal 9 (SIGKILL)' in [x for x in t if x['number'] == 2][0]['system_attrs']['dial:fail_reason'] and
   'killed by signal 11 (SIGSEGV)' in [x for x in t if x['number'] == 5][0]['system_attrs']['dial:fail_reason']" < crash.json

# ---- 3. a worker process killed with SIGKILL: its trial FAIL with the signal, retried, the count still exact ----
study_file wdeath 6 2 "max_retries: 1"
SLEEP=1.5 "$DIAL" tune --config wdeath.yaml > wdeath.out 2> wdeath.err &
TUNE=$!
victim=""
for _ in $(seq 1 50); do  # wait until a worker has a trial running
  sleep 0.1
  victim=$(pgrep -P $TUNE | head -1)
  [ -n "$victim" ] && [ -n "$(pgrep -P "$victim")" ] && break
done
sleep 0.3
if [ -n "$victim" ]; then kill -KILL "$victim"; else fail "no worker process found under dial tune"; fi
wait $TUNE; rc=$?
[ $rc -eq 0 ] && ok "the pool survives a worker killed by SIGKILL" || fail "worker death rc=$rc: $(cat wdeath.err)"
grep -q "killed by signal 9 (SIGKILL); trial .* failed; starting a replacement" wdeath.out \
  && ok "the pool says which trial it failed" || fail "pool message: $(cat wdeath.out)"
trials_json wdeath > wdeath.json
check "7 trials: one FAIL by SIGKILL, its retry linked to it with the same x, 6 COMPLETE" \
  "len(t) == 7 and [$(reason) for x in t if x['state'] == 'FAIL'] == ['killed by signal 9 (SIGKILL)'] and
   sum(x['state'] == 'COMPLETE' for x in t) == 6 and
   [(x['system_attrs']['failed_trial'], x['system_attrs']['retry_history'], x['params']) for x in t
    if 'failed_trial' in x['system_attrs']] ==
   [(f['number'], [f['number']], f['params']) for f in t if f['state'] == 'FAIL']" < wdeath.json

# ---- 4. SIGTERM to dial tune (pool and sequential): non-zero exit, nothing left RUNNING ----
for jobs in 3 1; do
  study_file "term$jobs" 6 "$jobs" ""
  SLEEP=30 "$DIAL" tune --config "term$jobs.yaml" > "term$jobs.out" 2> "term$jobs.err" &
  TUNE=$!
  # Until every worker runs a trial (at most 20 s: the machine may be busy), then half a second more.
  for _ in $(seq 100); do
    running=$(trials_json "term$jobs" 2>/dev/null | $PY -c "import json,sys; print(sum(x['state'] == 'RUNNING' for x in json.load(sys.stdin)))" 2>/dev/null)
    [ "${running:-0}" -ge "$jobs" ] && break
    sleep 0.2
  done
  sleep 0.5
  start=$(date +%s.%N)
  kill -TERM $TUNE
  wait $TUNE; rc=$?
  took=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
  [ $rc -eq 130 ] && ok "SIGTERM (n_jobs $jobs): exit 130" || fail "SIGTERM (n_jobs $jobs) rc=$rc: $(cat term$jobs.err)"
  [ "$(grep -c '^dial: interrupted' "term$jobs.err")" -eq 1 ] && ok "one 'interrupted' line (n_jobs $jobs)" \
    || fail "stderr: $(cat term$jobs.err)"
  $PY -c "import sys; sys.exit(0 if float(sys.argv[1]) < 10 else 1)" "$took" && ok "stopped in $took s (n_jobs $jobs)" \
    || fail "stopping took $took s"
  trials_json "term$jobs" > "term$jobs.json"
  check "no RUNNING trial; $jobs running trial(s) FAIL interrupted (n_jobs $jobs)" \
    "not any(x['state'] == 'RUNNING' for x in t) and len(t) == $jobs and all($(reason) == 'interrupted' for x in t)" \
    < "term$jobs.json"
done

# ---- 5. a stale trial (RUNNING, heartbeat an hour old) is failed by a new worker, which runs its retry ----
cat > stale.yaml <<'EOF'
study: stale
storage: sqlite:///p.db
n_trials: 2
sampler: {name: random, seed: 1}
heartbeat_interval: 0.2
grace_period: 1
max_retries: 1
objective: {builtin: branin2}
EOF
"$DIAL" tune --config stale.yaml > /dev/null 2>&1 || fail "stale: tune"
$PY - <<'EOF' || fail "stale: could not plant the abandoned trial"
import sqlite3
db = sqlite3.connect("p.db")
sid = db.execute("SELECT study_id FROM studies WHERE study_name = 'stale'").fetchone()[0]
n = db.execute("SELECT COUNT(*) FROM trials WHERE study_id = ?", (sid,)).fetchone()[0]
tid = db.execute("INSERT INTO trials (number, study_id, state, datetime_start) VALUES "
                 "(?, ?, 'RUNNING', datetime('now', 'localtime', '-1 hour'))", (n, sid)).lastrowid
t0 = db.execute("SELECT trial_id FROM trials WHERE study_id = ? AND number = 0", (sid,)).fetchone()[0]
for name, value, dist in db.execute("SELECT param_name, param_value, distribution_json FROM trial_params "
                                    "WHERE trial_id = ?", (t0,)).fetchall():
    db.execute("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)",
               (tid, name, value, dist))
db.execute("INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, datetime('now', '-1 hour'))", (tid,))
db.commit()
EOF
"$DIAL" worker --storage sqlite:///p.db --study stale > stale.out 2> stale.err; rc=$?
[ $rc -eq 0 ] && ok "dial worker joins with the storage URL and the study name" || fail "worker rc=$rc: $(cat stale.err)"
grep -q "trial(s) 2 FAIL: heartbeat stale" stale.out && ok "the worker says it failed the stale trial" \
  || fail "worker output: $(cat stale.out)"
trials_json stale > stale.json
check "trial 2 FAIL 'heartbeat stale'; trial 3 its COMPLETE retry (failed_trial 2, same params); no more" \
  "len(t) == 4 and t[2]['state'] == 'FAIL' and t[2]['system_attrs']['dial:fail_reason'] == 'heartbeat stale' and
   t[3]['state'] == 'COMPLETE' and t[3]['system_attrs']['failed_trial'] == 2 and
   t[3]['system_attrs']['retry_history'] == [2] and t[3]['params'] == t[2]['params'] == t[0]['params']" < stale.json

# ---- 5b. a fleet: --create-only creates the study (no trial), workers given only URL and name share its budget ----
study_file fleet 6 1 ""
"$DIAL" tune --config fleet.yaml --create-only > fleet.out 2> fleet.err; rc=$?
[ $rc -eq 0 ] && grep -q "study 'fleet' created" fleet.out && [ "$(trials_json fleet)" = "[]" ] \
  && ok "tune --create-only creates the study and runs no trial" || fail "create-only rc=$rc: $(cat fleet.out fleet.err)"
"$DIAL" tune --config fleet.yaml --create-only > fleet2.out 2>&1 && grep -q "study 'fleet' exists" fleet2.out \
  && ok "a second --create-only finds the study" || fail "second create-only: $(cat fleet2.out)"
SLEEP=0.3 "$DIAL" worker --storage sqlite:///p.db --study fleet > w1.out 2>&1 &
w1=$!
SLEEP=0.3 "$DIAL" worker --storage sqlite:///p.db --study fleet > w2.out 2>&1; rc2=$?
wait $w1; rc1=$?
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && ok "two workers end when the study's budget is spent" || fail "workers rc=$rc1/$rc2"
trials_json fleet > fleet.json
check "the fleet ran exactly the study's 6 trials" \
  "sorted(x['number'] for x in t) == list(range(6)) and all(x['state'] == 'COMPLETE' for x in t)" < fleet.json

# ---- 6. bad input ----
"$DIAL" tune --config par.yaml --storage memory:// --n-jobs 2 > /dev/null 2> mem.err; rc=$?
[ $rc -eq 2 ] && grep -q "memory:// lives in one process only" mem.err && ok "--n-jobs on memory:// is bad input" \
  || fail "memory rc=$rc: $(cat mem.err)"
"$DIAL" worker --storage sqlite:///p.db --study nosuch > /dev/null 2> nosuch.err; rc=$?
[ $rc -eq 2 ] && grep -q "nosuch" nosuch.err && ok "worker on a missing study is bad input" || fail "nosuch rc=$rc"
printf 'objective: {builtin: branin2}\nheartbeat_interval: 5\ngrace_period: 5\n' > badgrace.yaml
"$DIAL" tune --config badgrace.yaml --storage sqlite:///bad.db > /dev/null 2> badgrace.err; rc=$?
[ $rc -eq 2 ] && grep -q "badgrace.yaml:3: grace_period: must be longer than heartbeat_interval" badgrace.err \
  && ok "grace_period <= heartbeat_interval is bad input" || fail "badgrace rc=$rc: $(cat badgrace.err)"

if [ $FAILED -ne 0 ]; then
  echo "$FAILED check(s) failed"
  exit 1
fi
echo "all parallel checks passed"
