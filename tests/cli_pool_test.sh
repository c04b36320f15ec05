#!/usr/bin/env bash
# End-to-end tests of a `dial tune --n-jobs` pool's life (issue 19): (1) a pool killed with SIGKILL takes its workers
# and their trainers with it (nothing goes on creating trials; the trials they ran end FAIL "interrupted"); (2) two
# pools on one study each run their own --n-trials, and each summary counts its own; (3) Ctrl-C on a pool prints one
# clear "interrupted" line. Usage: cli_pool_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  # What a failing run left behind: the workers name this test's folder in their arguments.
  for p in $(pgrep -f "worker.*$WORK/"); do kill -KILL "$p" 2>/dev/null; done
  for f in "$WORK"/trainers/*; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
  rm -rf "$WORK"
}
on_exit cleanup

check() {  # NAME PYTHON_EXPR < json: the expression sees the trials (dial trials --format json) as `t`.
  local name=$1 expr=$2
  if $PY -c "import json,sys; t=json.load(sys.stdin); sys.exit(0 if ($expr) else 1)"; then ok "$name"; else fail "$name ($expr)"; fi
}
trials_json() { "$DIAL" trials --storage sqlite:///p.db --study "$1" --format json; }
count_trials() { trials_json "$1" 2>/dev/null | $PY -c "import json,sys; print(len(json.load(sys.stdin)))" 2>/dev/null; }
count_running() {
  trials_json "$1" 2>/dev/null | $PY -c "import json,sys; print(sum(x['state'] == 'RUNNING' for x in json.load(sys.stdin)))" 2>/dev/null
}
wait_running() {  # STUDY N: until N trials are RUNNING (at most 30 s: the machine may be busy)
  for _ in $(seq 150); do
    [ "$(count_running "$1")" -ge "$2" ] 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# A trainer: records its pid in $WORK/trainers/, sleeps $SLEEP s, prints the value.
mkdir trainers
cat > trainer.sh <<EOF
#!/bin/bash
echo \$\$ > "$WORK/trainers/\$\$"
sleep "\${SLEEP:-0.2}"
echo "{\"value\": \$1}"
EOF
chmod +x trainer.sh
study_file() {  # NAME N_TRIALS
  cat > "$1.yaml" <<EOF
study: $1
storage: sqlite:///p.db
n_trials: $2
sampler: {name: random, seed: 3}
heartbeat_interval: 0.2
grace_period: 1
search_space:
  x: {type: float, low: 0.0, high: 1.0}
objective: {command: ["$WORK/trainer.sh", "{x}"], kill_grace: 2}
EOF
}

# ---- 1. SIGKILL to a pool: its workers and their trainers end with it ----
study_file orphan 50
SLEEP=1 "$DIAL" tune --config orphan.yaml --n-jobs 2 > orphan.out 2> orphan.err &
POOL=$!
PIDS+=("$POOL")
if wait_running orphan 2; then
  kill -KILL "$POOL"
  wait "$POOL" 2>/dev/null
  sleep 3
  left=$(pgrep -f "worker.*$WORK/orphan.yaml" | tr '\n' ' ')
  [ -z "$left" ] && ok "no 'dial worker' of the killed pool is left" || fail "workers still running: $left ($(ps -o pid,args -p ${left// /,} 2>/dev/null))"
  alive=""
  for f in trainers/*; do kill -0 "$(cat "$f")" 2>/dev/null && alive+="$(cat "$f") "; done
  [ -z "$alive" ] && ok "no trainer of the killed pool is left" || fail "trainers still running: $alive"
  n1=$(count_trials orphan)
  sleep 2
  n2=$(count_trials orphan)
  [ "$n1" = "$n2" ] && ok "the trial count stays at $n1 after the pool's death" || fail "trials grew from $n1 to $n2"
  trials_json orphan > orphan.json
  check "nothing RUNNING; the trials the workers had running end FAIL interrupted" \
    "not any(x['state'] == 'RUNNING' for x in t) and sum(x['state'] == 'FAIL' for x in t) >= 1 and all(x['system_attrs'].get('dial:fail_reason') == 'interrupted' for x in t if x['state'] == 'FAIL')" \
    < orphan.json
else
  fail "the pool never ran 2 trials at once: $(cat orphan.err)"
fi

# ---- 2. two pools on one study at once: each runs its own --n-trials, each summary counts its own ----
study_file shared 40
"$DIAL" tune --config shared.yaml --create-only > /dev/null || fail "create-only"
SLEEP=0.3 "$DIAL" tune --config shared.yaml --n-jobs 2 --n-trials 10 > shared1.out 2> shared1.err &
P1=$!
SLEEP=0.3 "$DIAL" tune --config shared.yaml --n-jobs 2 --n-trials 10 > shared2.out 2> shared2.err &
P2=$!
PIDS+=("$P1" "$P2")
wait "$P1"; rc1=$?
wait "$P2"; rc2=$?
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && ok "both pools exit 0" || fail "rc $rc1 $rc2: $(cat shared1.err shared2.err)"
trials_json shared > shared.json
check "the study holds 20 trials, all COMPLETE" "len(t) == 20 and all(x['state'] == 'COMPLETE' for x in t)" < shared.json
for k in 1 2; do
  grep -q "^study 'shared': 10 trial(s) in .* (10 COMPLETE)" "shared$k.out" && ok "pool $k's summary counts its own 10" \
    || fail "pool $k's summary: $(grep "^study 'shared'" "shared$k.out")"
done

# ---- 3. Ctrl-C (SIGINT) on a pool: one clear line ----
study_file intr 20
SLEEP=30 "$DIAL" tune --config intr.yaml --n-jobs 2 > intr.out 2> intr.err &
POOL=$!
PIDS+=("$POOL")
if wait_running intr 2; then
  kill -INT "$POOL"
  wait "$POOL"; rc=$?
  [ $rc -eq 130 ] && ok "SIGINT: exit 130" || fail "SIGINT rc=$rc: $(cat intr.err)"
  [ "$(grep -c '^dial: interrupted' intr.err)" -eq 1 ] && ok "one 'dial: interrupted' line" || fail "stderr: $(cat intr.err)"
  grep -q "interrupted: interrupted" intr.err && fail "the word is doubled: $(grep interrupted intr.err)" \
    || ok "'interrupted' is said once: $(grep '^dial: interrupted' intr.err)"
else
  fail "the pool never ran 2 trials at once: $(cat intr.err)"
fi

echo "$FAILED failure(s)"
[ "$FAILED" -eq 0 ]
