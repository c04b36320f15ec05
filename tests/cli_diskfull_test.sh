#!/usr/bin/env bash
# A full disk under the SQLite file (issue 19): `dial tune` ends with one message that names the database file and
# exit 1; once space is freed, a later run leaves no trial of the failed run RUNNING (the trial is failed, by the
# failing run itself when the storage still takes that write, else by the next run once grace_period has passed since
# it started without a heartbeat), each with a reason. In-process and with --n-jobs 2. Needs root to mount a small
# tmpfs; skipped (exit 77) where it cannot. Usage: cli_diskfull_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
FULL=$WORK/full
mkdir "$FULL"
cleanup() {
  umount "$FULL" 2>/dev/null
  rm -rf "$WORK"
}
on_exit cleanup
if ! mount -t tmpfs -o size=2m tmpfs "$FULL" 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs at $FULL (needs root): the full-disk test is skipped"
  exit 77
fi

check() {  # NAME PYTHON_EXPR < json: the expression sees the trials (dial trials --format json) as `t`.
  local name=$1 expr=$2
  if $PY -c "import json,sys; t=json.load(sys.stdin); sys.exit(0 if ($expr) else 1)"; then ok "$name"; else fail "$name ($expr)"; fi
}

cat > trainer.sh <<'EOF'
#!/bin/bash
sleep 0.05
echo "{\"value\": $1}"
EOF
chmod +x trainer.sh

for jobs in 1 2; do
  DB=$FULL/study$jobs.db
  cat > "full$jobs.yaml" <<EOF
study: full$jobs
storage: sqlite:///$DB
n_trials: 2000
sampler: {name: random, seed: 3}
heartbeat_interval: 0.2
grace_period: 1
search_space:
  x: {type: float, low: 0.0, high: 1.0}
objective: {command: [./trainer.sh, "{x}"], kill_grace: 2}
EOF
  rm -f "$FULL"/*
  "$DIAL" tune --config "full$jobs.yaml" --create-only > /dev/null || fail "create-only (n_jobs $jobs)"
  # Fill the file system but for 96 kB, so the study's file (its write-ahead log) can grow for a few trials only.
  # (Left with less, a run may fail before its first trial, which proves less.)
  dd if=/dev/zero of="$FULL/filler" bs=4k 2>/dev/null
  truncate -s -96k "$FULL/filler"
  timeout 120 "$DIAL" tune --config "full$jobs.yaml" --n-jobs "$jobs" > "full$jobs.out" 2> "full$jobs.err"; rc=$?
  [ $rc -eq 1 ] && ok "a full disk: exit 1 (n_jobs $jobs)" || fail "rc=$rc (n_jobs $jobs): $(tail -3 "full$jobs.err")"
  grep -q "full" "full$jobs.err" && grep -q "$DB" "full$jobs.err" && ok "the message names the full file (n_jobs $jobs): $(grep -m1 full "full$jobs.err")" \
    || fail "the message does not name $DB (n_jobs $jobs): $(cat "full$jobs.err")"
  rm -f "$FULL/filler"
  sleep 1.5  # past grace_period, so that a trial that never beat counts as stale
  "$DIAL" tune --config "full$jobs.yaml" --n-jobs "$jobs" --n-trials 2 > "again$jobs.out" 2> "again$jobs.err"; rc=$?
  [ $rc -eq 0 ] && ok "with space again, a new run exits 0 (n_jobs $jobs)" || fail "rc=$rc: $(cat "again$jobs.err")"
  "$DIAL" trials --storage "sqlite:///$DB" --study "full$jobs" --format json > "full$jobs.json"
  $PY -c "import json,sys; [print('  trial %d FAIL: %s' % (x['number'], x['system_attrs'].get('dial:fail_reason'))) for x in json.load(sys.stdin) if x['state'] == 'FAIL']" < "full$jobs.json"
  check "no trial is left RUNNING; every FAIL trial has a reason (n_jobs $jobs)" \
    "len(t) > 2 and not any(x['state'] in ('RUNNING', 'WAITING') for x in t) and all(x['system_attrs'].get('dial:fail_reason') for x in t if x['state'] == 'FAIL')" \
    < "full$jobs.json"
done

echo "$FAILED failure(s)"
[ "$FAILED" -eq 0 ]
