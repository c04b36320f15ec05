#!/usr/bin/env bash
# Fault test (issue 7, docs/parallel.md "What the tests prove"): worker processes killed with SIGKILL while a study
# runs. (1) `dial tune --n-jobs 4` on a 200-trial study of a command objective (0.2-0.5 s a trial, max_retries)
# while a killer SIGKILLs a random `dial worker` of the pool every ~2 s: the pool fails the dead worker's trial and
# the retry runs. (2) standalone `dial worker`s (a fleet with no supervisor) killed with SIGKILL and replaced: the
# dead worker's trial is failed by another worker once its heartbeat is stale, and retried. Checked from the
# storage: nothing RUNNING or WAITING, no trial number twice, the budget count (StudyBudgetCount: failed trials that
# a retry replaces do not count) is exactly the study's n_trials and all of those are COMPLETE, every FAIL trial
# has its retry (failed_trial / retry_history) with the same parameters. Usage: cli_fault_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
KILLED_PIDS=()
cleanup() {
  for p in "${KILLED_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
on_exit cleanup
trials_json() { "$DIAL" trials --storage sqlite:///f.db --study "$1" --format json; }

# A trainer of 0.2-0.5 s (by trial number), printing a value.
cat > trainer.sh <<'EOF'
#!/bin/bash
sleep "0.$((2 + DIAL_TRIAL_NUMBER % 4))"
echo "{\"value\": $1}"
EOF
chmod +x trainer.sh
study_file() {  # NAME N_TRIALS
  cat > "$1.yaml" <<EOF
study: $1
storage: sqlite:///f.db
n_trials: $2
sampler: {name: random, seed: 11}
heartbeat_interval: 0.3
grace_period: 1.5
max_retries: 5
search_space:
  x: {type: float, low: 0.0, high: 1.0}
objective: {command: [./trainer.sh, "{x}"], kill_grace: 2}
EOF
}

# verify NAME N_TRIALS REASON_PREFIX MIN_FAILS: the checks from the storage, shared by both parts.
verify() {
  trials_json "$1" > "$1.json" || { fail "$1: dial trials"; return; }
  $PY - "$1" "$2" "$3" "$4" <<'EOF' || FAILED=$((FAILED + 1))
import collections, json, sys
name, n, reason, min_fails = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
t = json.load(open(name + ".json"))
bad = 0
def check(what, cond):
    global bad
    print(("ok: " if cond else "FAIL: ") + name + ": " + what)
    bad += 0 if cond else 1
states = collections.Counter(x["state"] for x in t)
numbers = [x["number"] for x in t]
check("states only COMPLETE and FAIL, nothing RUNNING or WAITING (%s)" % dict(states),
      set(states) <= {"COMPLETE", "FAIL"})
check("no trial number twice, numbers gap-free", sorted(numbers) == list(range(len(t))))
retries = [x for x in t if "failed_trial" in x["system_attrs"]]
budget = len(t) - len(retries)  # StudyBudgetCount
check("budget count %d == n_trials %d, all %d COMPLETE (%d trials, %d retries)"
      % (budget, n, n, len(t), len(retries)), budget == n and states.get("COMPLETE", 0) == n)
fails = [x for x in t if x["state"] == "FAIL"]
check("at least %d trial(s) failed by the kills (got %d)" % (min_fails, len(fails)), len(fails) >= min_fails)
reasons = collections.Counter(x["system_attrs"].get("dial:fail_reason", "") for x in fails)
check("every FAIL reason starts with %r (%s)" % (reason, dict(reasons)),
      all(r.startswith(reason) for r in reasons))
by_number = {x["number"]: x for x in t}
retry_of = collections.Counter(r["system_attrs"]["retry_history"][-1] for r in retries)
check("every FAIL trial has exactly one retry, every retry retries a FAIL trial",
      sorted(retry_of) == sorted(f["number"] for f in fails) and all(c == 1 for c in retry_of.values()))
check("each retry: failed_trial is its chain's first trial, same params, a later number",
      all(r["system_attrs"]["failed_trial"] == r["system_attrs"]["retry_history"][0] and
          by_number[r["system_attrs"]["retry_history"][-1]]["params"] == r["params"] and
          r["system_attrs"]["retry_history"][-1] < r["number"] for r in retries))
sys.exit(1 if bad else 0)
EOF
}

# ---- 1. dial tune --n-jobs 4, a random pool worker (one in a trial) SIGKILLed every ~2 s ----
study_file pool 200
"$DIAL" tune --config pool.yaml --n-jobs 4 > pool.out 2> pool.err &
TUNE=$!
KILLED_PIDS+=($TUNE)
kills=0
deadline=$(($(date +%s) + 180))  # ~25 s on an idle machine; generous for a loaded one
while kill -0 $TUNE 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
  sleep "1.$((6 + RANDOM % 4))"
  # The pool's children are its workers; a worker with a child (its trainer) is in a trial. Only those are killed:
  # a worker killed while it starts up proves nothing, and three such deaths in a row make the pool give up.
  workers=()
  for p in $(pgrep -P $TUNE); do [ -n "$(pgrep -P "$p")" ] && workers+=("$p"); done
  [ ${#workers[@]} -gt 0 ] || continue
  victim=${workers[$((RANDOM % ${#workers[@]}))]}
  kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1))
done
if kill -0 $TUNE 2>/dev/null; then
  fail "dial tune still running after 180 s"
  kill -KILL $TUNE
fi
wait $TUNE
rc=$?
[ $rc -eq 0 ] && ok "dial tune --n-jobs 4 exits 0 after $kills SIGKILLed workers" || fail "tune rc=$rc: $(tail -5 pool.err)"
[ $kills -ge 3 ] && ok "$kills workers killed (at least 3)" || fail "only $kills kills: the run was too short to test"
deaths=$(grep -c 'killed by signal 9 (SIGKILL)' pool.out)
[ "$deaths" -eq $kills ] && ok "the pool reported each of the $kills deaths" \
  || fail "the pool reported $deaths deaths for $kills kills: $(grep killed pool.out)"
verify pool 200 "killed by signal 9 (SIGKILL)" 1

# ---- 2. a fleet of standalone dial workers, one SIGKILLed every ~1.5 s and replaced; heartbeats fail its trial ----
study_file fleet 90
"$DIAL" tune --config fleet.yaml --create-only > /dev/null 2>&1 || fail "fleet: --create-only"
start_worker() {
  "$DIAL" worker --storage sqlite:///f.db --study fleet >> fleet.out 2>> fleet.err &
  FLEET+=($!)
  KILLED_PIDS+=($!)
}
FLEET=()
for _ in 1 2 3; do start_worker; done
fleet_kills=0
# Three kills, each of a worker that is running a trial, all within the first half of the budget, so that the live
# workers still have trials to take (and so look for stale trials) after the dead worker's heartbeat goes stale.
for _ in $(seq 60); do
  [ $fleet_kills -ge 3 ] && break
  sleep "1.$((RANDOM % 5))"
  done_now=$($PY -c "import sqlite3; print(sqlite3.connect('f.db', timeout=30).execute(
    'SELECT COUNT(*) FROM trials JOIN studies USING (study_id) WHERE study_name = ?', ('fleet',)).fetchone()[0])")
  [ "${done_now:-0}" -lt 45 ] || break
  alive=()
  for p in "${FLEET[@]}"; do [ -n "$(pgrep -P "$p")" ] && alive+=("$p"); done  # its trainer runs: a trial is on
  [ ${#alive[@]} -gt 0 ] || continue
  victim=${alive[$((RANDOM % ${#alive[@]}))]}
  kill -KILL "$victim" 2>/dev/null && fleet_kills=$((fleet_kills + 1))
  wait "$victim" 2>/dev/null
  rest=()
  for p in "${FLEET[@]}"; do [ "$p" = "$victim" ] || rest+=("$p"); done
  FLEET=("${rest[@]}")
  start_worker  # the fleet's manager (Kubernetes, Slurm) starts a replacement
done
[ $fleet_kills -ge 1 ] && ok "fleet: $fleet_kills standalone workers killed" || fail "fleet: no worker was killed"
fleet_rc=0
deadline=$(($(date +%s) + 120))
for p in "${FLEET[@]}"; do
  while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$p" 2>/dev/null; then
    fail "fleet: worker $p still running after 120 s"
    kill -KILL "$p"
  fi
  wait "$p" || fleet_rc=$?
done
[ $fleet_rc -eq 0 ] && ok "fleet: the surviving workers exit 0" || fail "fleet: a worker exited $fleet_rc: $(tail -3 fleet.err)"
grep -q "FAIL: heartbeat stale" fleet.out && ok "fleet: a live worker says it failed a stale trial" \
  || fail "fleet: no stale trial reported: $(tail -5 fleet.out)"
verify fleet 90 "heartbeat stale" 1

if [ $FAILED -ne 0 ]; then
  echo "$FAILED check(s) failed"
  exit 1
fi
echo "all fault checks passed"
