#!/usr/bin/env bash
# Multi-host test (issue 7, docs/parallel.md "What the tests prove"): four network namespaces joined by veth links
# stand for four hosts. PostgreSQL runs in one; three `dial worker`s run in the three others, each reaching the
# server over its own link. Worker 3's first trial is held (its trainer waits for a file) and its link is cut
# (`ip link set DEV down`) in the middle of that trial. Checked: a live worker fails the cut worker's trial by its
# stale heartbeat and the retry runs; the link comes back and the cut worker's late result for that trial is refused
# (the trial stays FAIL, without a value); the study reaches exactly its trial count; no trial is lost or counted
# twice; every worker exits 0. Needs root and iproute2; exits 77 (ctest's skip) when network namespaces cannot be made.
# Usage: multihost_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
N_TRIALS=60

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: network namespaces need root (running as uid $(id -u))"
  exit 77
fi
command -v ip > /dev/null || { echo "SKIP: iproute2's ip is not installed"; exit 77; }

# Unique names, so that the test may run beside another copy of itself: veth names fit IFNAMSIZ (15 characters).
ID=$(printf '%04x' $((($$ * 7 + RANDOM) % 65536)))
NS_SRV="dialmh-$ID-srv"
NS=("" "dialmh-$ID-w1" "dialmh-$ID-w2" "dialmh-$ID-w3")
chmod 755 "$WORK"  # the postgres OS user must reach the cluster's folder
PGDIR="$WORK/pg"
PIDS=()
MADE_NS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ -d "$PGDIR" ] && bash "$HERE/postgres/pg-cluster" stop "$PGDIR" > /dev/null 2>&1
  # Deleting a namespace deletes the veth ends inside it (and so their peers).
  for ns in "${MADE_NS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$WORK"
}
on_exit cleanup
die() { echo "FAIL: $*"; exit 1; }

if ! ip netns add "$NS_SRV" 2> netns.err; then
  echo "SKIP: cannot make a network namespace: $(cat netns.err)"
  exit 77
fi
MADE_NS+=("$NS_SRV")
ip -n "$NS_SRV" link set lo up || die "lo up in $NS_SRV"
for i in 1 2 3; do
  ip netns add "${NS[$i]}" || die "ip netns add ${NS[$i]}"
  MADE_NS+=("${NS[$i]}")
  ip -n "${NS[$i]}" link set lo up || die "lo up in ${NS[$i]}"
  # One link per worker host: dm<ID>s<i> in the server's namespace, dm<ID>w<i> in the worker's.
  ip link add "dm${ID}s$i" netns "$NS_SRV" type veth peer name "dm${ID}w$i" netns "${NS[$i]}" \
    || die "ip link add veth pair $i"
  ip -n "$NS_SRV" addr add "10.77.$i.1/24" dev "dm${ID}s$i" || die "address 10.77.$i.1"
  ip -n "${NS[$i]}" addr add "10.77.$i.2/24" dev "dm${ID}w$i" || die "address 10.77.$i.2"
  ip -n "$NS_SRV" link set "dm${ID}s$i" up || die "link up dm${ID}s$i"
  ip -n "${NS[$i]}" link set "dm${ID}w$i" up || die "link up dm${ID}w$i"
done
ok "namespaces $NS_SRV, ${NS[1]}, ${NS[2]}, ${NS[3]} with three veth links"

# PostgreSQL inside the server's namespace (pg-cluster: loopback, a free port), then opened to the three links.
ip netns exec "$NS_SRV" bash "$HERE/postgres/pg-cluster" start "$PGDIR" > pg.out 2>&1 || die "pg-cluster: $(cat pg.out)"
URL0=$(cat "$PGDIR/url")
echo "listen_addresses = '127.0.0.1,10.77.1.1,10.77.2.1,10.77.3.1'" >> "$PGDIR/data/postgresql.auto.conf"
echo "host all all 10.77.0.0/16 scram-sha-256" >> "$PGDIR/data/pg_hba.conf"
ip netns exec "$NS_SRV" runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
  restart -m fast > pg_restart.out 2>&1 || die "restarting PostgreSQL on the links: $(cat pg_restart.out)"
# A worker's URL: the server's address on its link; libpq gives up on a dead link within seconds instead of TCP's
# minutes (tcp_user_timeout, keepalives), and a reconnection attempt within connect_timeout.
LIBPQ_OPTS="connect_timeout=3&keepalives_idle=1&keepalives_interval=1&keepalives_count=3&tcp_user_timeout=3000"
url_for() { echo "${URL0/127.0.0.1/10.77.$1.1}?$LIBPQ_OPTS"; }
trials_json() { ip netns exec "$NS_SRV" "$DIAL" trials --storage "$URL0" --study mh --format json; }

# Worker 3's first trial waits while $WORK/hold exists; the others are 0.3 s.
cat > trainer.sh <<'EOF'
#!/bin/bash
if [ -n "${HOLD:-}" ] && [ -e "$HOLD" ]; then
  echo "$DIAL_TRIAL_NUMBER" > "$HOLD.trial"
  while [ -e "$HOLD" ]; do sleep 0.1; done
fi
sleep 0.3
echo "{\"value\": $1}"
EOF
chmod +x trainer.sh
cat > mh.yaml <<EOF
study: mh
n_trials: $N_TRIALS
sampler: {name: random, seed: 5}
heartbeat_interval: 0.5
grace_period: 3
max_retries: 2
search_space:
  x: {type: float, low: 0.0, high: 1.0}
objective: {command: [$WORK/trainer.sh, "{x}"], kill_grace: 2}
EOF
ip netns exec "${NS[1]}" "$DIAL" tune --config mh.yaml --storage "$(url_for 1)" --create-only > create.out 2>&1 \
  || die "dial tune --create-only from ${NS[1]}: $(cat create.out)"
ok "the study is created from worker host 1 over its link"

touch hold
for i in 1 2 3; do
  hold=""
  [ $i -eq 3 ] && hold="$WORK/hold"
  HOLD=$hold ip netns exec "${NS[$i]}" "$DIAL" worker --storage "$(url_for $i)" --study mh > "w$i.out" 2> "w$i.err" &
  PIDS+=($!)
done
# Until worker 3's trainer holds its trial (bounded), and a beat or two more.
for _ in $(seq 600); do [ -s hold.trial ] && break; sleep 0.1; done
[ -s hold.trial ] || die "worker 3 never started a trial: $(cat w3.err)"
CUT_TRIAL=$(cat hold.trial)
sleep 1
ip -n "${NS[3]}" link set "dm${ID}w3" down || die "cutting worker 3's link"
ok "worker 3's link cut during its trial $CUT_TRIAL"

# A live worker fails the trial once its heartbeat is older than the grace period (3 s), and enqueues its retry. When
# the cut caught worker 3 inside its heartbeat's transaction, the trial's row stays locked until the server ends that
# session (dial's abandoned_transaction_timeout, 20 s): the bound leaves room for that, under load.
state=""
deadline=$(($(date +%s) + 120))
while [ "$(date +%s)" -lt "$deadline" ]; do
  state=$(trials_json 2> /dev/null | $PY -c "
import json, sys
t = {x['number']: x for x in json.load(sys.stdin)}
x = t.get($CUT_TRIAL, {})
print(x.get('state', ''), x.get('system_attrs', {}).get('dial:fail_reason', '').replace(' ', '_'))")
  [ "${state%% *}" = FAIL ] && break
  sleep 0.1
done
[ "$state" = "FAIL heartbeat_stale" ] && ok "trial $CUT_TRIAL failed by heartbeat while the link was down" \
  || fail "trial $CUT_TRIAL: state/reason '$state' (expected FAIL heartbeat stale)"
kill -0 "${PIDS[2]}" 2> /dev/null && ok "worker 3 is alive while cut off (it does not hang or die)" \
  || fail "worker 3 ended while its link was down: $(tail -3 w3.err)"

# The link comes back; then worker 3's trainer ends and the worker tries to tell its result for the failed trial.
ip -n "${NS[3]}" link set "dm${ID}w3" up || die "restoring worker 3's link"
sleep 1
rm -f hold

rcs=()
deadline=$(($(date +%s) + 120))
for i in 1 2 3; do
  p=${PIDS[$((i - 1))]}
  while kill -0 "$p" 2> /dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$p" 2> /dev/null; then
    fail "worker $i still running after 120 s"
    kill -KILL "$p"
  fi
  wait "$p"
  rcs+=($?)
done
[ "${rcs[*]}" = "0 0 0" ] && ok "the three workers exit 0" \
  || fail "worker exit codes ${rcs[*]}: $(tail -2 w1.err w2.err w3.err)"
grep -q "^trial $CUT_TRIAL COMPLETE" w3.out && fail "worker 3 reports trial $CUT_TRIAL COMPLETE: its late tell was taken"
grep -q "^trial [0-9]* COMPLETE" w3.out && ok "worker 3 ran trials again after its link came back" \
  || fail "worker 3 ran no trial after the link came back: $(tail -3 w3.out w3.err)"

trials_json > trials.json || die "dial trials"
$PY - "$N_TRIALS" "$CUT_TRIAL" "${PIDS[2]}" <<'EOF' || FAILED=$((FAILED + 1))
import collections, json, sys
n, cut, w3_pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
t = json.load(open("trials.json"))
by_number = {x["number"]: x for x in t}
bad = 0
def check(what, cond):
    global bad
    print(("ok: " if cond else "FAIL: ") + what)
    bad += 0 if cond else 1
states = collections.Counter(x["state"] for x in t)
check("states only COMPLETE and FAIL (%s)" % dict(states), set(states) <= {"COMPLETE", "FAIL"})
check("no trial number twice, numbers gap-free", sorted(by_number) == list(range(len(t))) and len(by_number) == len(t))
retries = [x for x in t if "failed_trial" in x["system_attrs"]]
check("budget count %d == %d and %d COMPLETE (%d trials, %d retries)"
      % (len(t) - len(retries), n, states.get("COMPLETE", 0), len(t), len(retries)),
      len(t) - len(retries) == n and states.get("COMPLETE", 0) == n)
x = by_number.get(cut, {})
check("trial %d (worker 3's) is FAIL 'heartbeat stale' without a value: the late tell was refused" % cut,
      x.get("state") == "FAIL" and x["system_attrs"].get("dial:fail_reason") == "heartbeat stale" and
      not x.get("values") and x["system_attrs"].get("dial:worker", {}).get("pid") == w3_pid)
check("the only FAIL is trial %d" % cut, [y["number"] for y in t if y["state"] == "FAIL"] == [cut])
check("its one retry is COMPLETE, linked (failed_trial, retry_history) with the same params",
      len(retries) == 1 and retries[0]["state"] == "COMPLETE" and retries[0]["system_attrs"]["failed_trial"] == cut
      and retries[0]["system_attrs"]["retry_history"] == [cut] and retries[0]["params"] == x.get("params"))
pids = collections.Counter(y["system_attrs"].get("dial:worker", {}).get("pid") for y in t)
check("all three workers ran trials (%d distinct pids)" % len(pids), len(pids) == 3)
sys.exit(1 if bad else 0)
EOF

if [ $FAILED -ne 0 ]; then
  echo "$FAILED check(s) failed"
  exit 1
fi
echo "all multi-host checks passed"
