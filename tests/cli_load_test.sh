#!/usr/bin/env bash
# Load test of many `dial worker` processes on one study (issue 7, docs/parallel.md "What the tests prove"): N
# worker processes share a study of a cheap built-in objective (hartmann6, random sampler) whose budget is TRIALS,
# on SQLite (a file here) or PostgreSQL (a fresh database on the server whose URL is in URL_FILE). Checked from
# the storage: exactly TRIALS trials numbered 0..TRIALS-1, every one COMPLETE with a value (no lost tell, none
# RUNNING), each trial told by exactly one worker (from the workers' own lines), no worker stderr mentioning a lock
# or busy error, every worker exited 0. Prints the throughput (trials/s).
#   cli_load_test.sh DIAL sqlite [WORKERS [TRIALS]]
#   cli_load_test.sh DIAL postgres URL_FILE [WORKERS [TRIALS]]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
KIND=$2
shift 2
URL_FILE=""
if [ "$KIND" = postgres ]; then
  URL_FILE=$1
  shift
fi
WORKERS=${1:-16}
TRIALS=${2:-5000}
# Generous: the run takes ~10-30 s on an idle 2-core machine; CI's is loaded.
WAIT_BOUND_S=${DIAL_LOAD_WAIT_BOUND_S:-240}
DB=""
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  if [ -n "$DB" ]; then
    $PY - "$(cat "$URL_FILE")" "$DB" <<'EOF' || echo "warning: could not drop database $DB"
import sys, psycopg2
conn = psycopg2.connect(sys.argv[1]); conn.autocommit = True
conn.cursor().execute('DROP DATABASE IF EXISTS "%s"' % sys.argv[2])
EOF
  fi
  rm -rf "$WORK"
}
on_exit cleanup

case "$KIND" in
  sqlite) URL="sqlite:///$WORK/load.db" ;;
  postgres)
    [ -s "$URL_FILE" ] || { echo "FAIL: no PostgreSQL URL in $URL_FILE (the postgres fixture starts the server)"; exit 1; }
    DB="dial_cli_load_$$_$RANDOM"
    URL=$($PY - "$(cat "$URL_FILE")" "$DB" <<'EOF'
import sys, psycopg2
base, db = sys.argv[1], sys.argv[2]
conn = psycopg2.connect(base); conn.autocommit = True
conn.cursor().execute('CREATE DATABASE "%s"' % db)
head, _, _ = base.rpartition("/")
print(head + "/" + db)
EOF
    ) || { echo "FAIL: could not create database $DB"; exit 1; }
    ;;
  *) echo "usage: cli_load_test.sh DIAL sqlite|postgres [URL_FILE] [WORKERS [TRIALS]]"; exit 2 ;;
esac

cat > load.yaml <<EOF
study: load
n_trials: $TRIALS
sampler: {name: random, seed: 7}
objective: {builtin: hartmann6}
EOF
"$DIAL" tune --config load.yaml --storage "$URL" --create-only > create.out 2>&1 \
  || { echo "FAIL: tune --create-only: $(cat create.out)"; exit 1; }

start=$(date +%s.%N)
for i in $(seq 1 "$WORKERS"); do
  "$DIAL" worker --storage "$URL" --study load > "w$i.out" 2> "w$i.err" &
  PIDS+=($!)
done
# Wait for every worker, within the bound; a worker still alive then is killed and counted as a failure.
deadline=$(($(date +%s) + WAIT_BOUND_S))
while [ "$(date +%s)" -lt "$deadline" ]; do
  alive=0
  for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive -eq 0 ] && break
  sleep 0.1
done
end=$(date +%s.%N)
bad_exit=0
for i in $(seq 1 "$WORKERS"); do
  p=${PIDS[$((i - 1))]}
  if kill -0 "$p" 2>/dev/null; then
    kill -KILL "$p"
    fail "worker $i still running after ${WAIT_BOUND_S} s"
    bad_exit=1
  fi
  wait "$p"
  rc=$?
  [ $rc -eq 0 ] || { fail "worker $i exited $rc: $(tail -3 "w$i.err")"; bad_exit=1; }
done
[ $bad_exit -eq 0 ] && ok "all $WORKERS workers exited 0"
PIDS=()

if grep -il 'lock\|busy' w*.err > /dev/null; then
  fail "worker stderr mentions lock/busy errors: $(grep -ih 'lock\|busy' w*.err | head -3)"
else
  ok "no worker stderr mentions a lock or busy error"
fi

"$DIAL" trials --storage "$URL" --study load --format json > trials.json 2> trials.err \
  || { fail "dial trials: $(cat trials.err)"; }
cat w*.out > workers.out
$PY - "$TRIALS" "$WORKERS" "$start" "$end" <<'EOF' || FAILED=$((FAILED + 1))
import collections, json, re, sys
n, workers, start, end = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
t = json.load(open("trials.json"))
failed = 0
def check(name, cond):
    global failed
    print(("ok: " if cond else "FAIL: ") + name)
    failed += 0 if cond else 1
numbers = [x["number"] for x in t]
check("exactly %d trials in storage (got %d)" % (n, len(t)), len(t) == n)
dups = [k for k, c in collections.Counter(numbers).items() if c > 1]
check("no duplicate trial number (duplicates: %s)" % dups[:5], not dups)
check("numbers 0..%d without a gap" % (n - 1), sorted(numbers) == list(range(n)))
states = collections.Counter(x["state"] for x in t)
check("every trial COMPLETE (states: %s)" % dict(states), states == {"COMPLETE": n})
check("every trial has a finite value",
      all(x["values"] and len(x["values"]) == 1 and x["values"][0] is not None for x in t))
# Each trial told by exactly one worker: the workers' per-trial lines name every stored trial once.
told = [int(m.group(1)) for m in re.finditer(r"^trial (\d+) COMPLETE", open("workers.out").read(), re.M)]
dup_told = [k for k, c in collections.Counter(told).items() if c > 1]
check("the workers told %d trials, each once, the same set as stored (told %d, twice: %s)"
      % (n, len(told), dup_told[:5]), sorted(told) == sorted(numbers) and not dup_told)
pids = {x["system_attrs"].get("dial:worker", {}).get("pid") for x in t}
check("trials ran in %d worker processes (at most %d)" % (len(pids), workers), 1 < len(pids) <= workers)
wall = end - start
print("throughput: %d trials in %.2f s with %d workers = %.1f trials/s (from starting the workers to their exit)"
      % (len(t), wall, workers, len(t) / wall))
sys.exit(1 if failed else 0)
EOF

if [ $FAILED -ne 0 ]; then
  echo "$FAILED check(s) failed"
  exit 1
fi
echo "all load checks passed ($KIND, $WORKERS workers, $TRIALS trials)"
