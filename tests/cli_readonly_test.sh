#!/usr/bin/env bash
# The commands that only read (studies, trials, best, importance, report, correlate, dashboard) leave the storage
# exactly as it was: an Optuna-created SQLite file keeps its bytes and its rollback journal (no switch to WAL, no
# index added); a zero-byte, missing or foreign file is bad input (exit 2) and stays as it was; and studies on
# read-only media (a tmpfs remounted read-only: chmod does not stop root) are readable, Optuna's and dial's (WAL).
# Usage: cli_readonly_test.sh path/to/dial      (exit 77, skipped, only when no tmpfs can be mounted here)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
MNT="$WORK/media"
DASH_PID=""
cleanup() {
  [ -n "$DASH_PID" ] && kill "$DASH_PID" 2> /dev/null && wait "$DASH_PID" 2> /dev/null
  mountpoint -q "$MNT" 2> /dev/null && umount -l "$MNT"
  rm -rf "$WORK"
}
on_exit cleanup

# ---- an Optuna study: rollback journal, Optuna's own schema (without dial's index on trials) ----
"$PY" - << 'EOF' || { echo "FAIL: optuna could not create the study"; exit 1; }
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(study_name="optuna", storage="sqlite:///optuna.db", sampler=optuna.samplers.RandomSampler(seed=1))
study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2 + 0.1 * t.suggest_int("k", 0, 9), n_trials=12)
EOF
# The journal mode as the file's header records it (bytes 18-19: 1 rollback journal, 2 WAL), read without SQLite,
# which would need a -shm to open a WAL file on read-only media.
journal_mode() { "$PY" -c 'import sys; print({b"\x01\x01": "rollback", b"\x02\x02": "wal"}.get(open(sys.argv[1], "rb").read(20)[18:20], "?"))' "$1"; }
# The file's bytes, its journal mode and the files beside it (a -wal, -shm or -journal left behind is a change).
state_of() { (cd "$(dirname "$1")" && sha256sum "$(basename "$1")" && ls -d -- "$(basename "$1")"* && journal_mode "$(basename "$1")"); }
[ "$(journal_mode optuna.db)" = rollback ] || fail "setup: optuna.db is not in rollback-journal mode"
BEFORE=$(state_of optuna.db)
URL="sqlite:///$WORK/optuna.db"

# reads NAME -- dial ARGS...: exit 0 and the database unchanged.
reads() {
  local name=$1
  shift 2
  "$DIAL" "$@" > out.txt 2> err.txt
  local rc=$?
  local after
  after=$(state_of optuna.db)
  if [ $rc -ne 0 ]; then
    fail "$name: exit $rc: $(head -c 300 err.txt)"
  elif [ "$after" != "$BEFORE" ]; then
    fail "$name changed the Optuna file: $(diff <(echo "$BEFORE") <(echo "$after") | tr '\n' ' ')"
  else
    ok "$name read it and left it unchanged"
  fi
}
reads "dial studies" -- studies --storage "$URL"
grep -q optuna out.txt || fail "dial studies does not list the study"
reads "dial trials" -- trials --storage "$URL" --study optuna
[ "$(grep -c COMPLETE out.txt)" -eq 12 ] || fail "dial trials does not show 12 COMPLETE trials"
reads "dial best" -- best --storage "$URL" --study optuna
reads "dial importance" -- importance --storage "$URL" --study optuna
reads "dial report" -- report --storage "$URL" --study optuna --output "$WORK/report.html"
[ -s report.html ] || fail "dial report wrote no report"
# correlate needs a study with fidelity levels: this one has none, which is bad input (2), still without a write.
"$DIAL" correlate --storage "$URL" --study optuna > out.txt 2> err.txt
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 2 ] || fail "dial correlate: exit $rc: $(cat err.txt)"
[ "$(state_of optuna.db)" = "$BEFORE" ] && ok "dial correlate left it unchanged" || fail "dial correlate changed the Optuna file"

# dashboard URL_OF_STORAGE LOG: starts the dashboard on a free loopback port, fetches the page and the studies, stops it.
dashboard() {
  "$DIAL" dashboard --storage "$1" --port 0 > "$2" 2>&1 &
  DASH_PID=$!
  local url=""
  for _ in $(seq 1 100); do
    url=$(grep -o 'http://[^ ]*' "$2" 2> /dev/null | head -1)
    [ -n "$url" ] && break
    kill -0 "$DASH_PID" 2> /dev/null || break
    sleep 0.1
  done
  local served=1
  if [ -n "$url" ] && curl -sf "$url" > page.html && curl -sf "${url%/}/api/studies" > studies.json &&
    grep -q '"optuna"\|"ro"' studies.json; then
    served=0
  fi
  kill "$DASH_PID" 2> /dev/null
  wait "$DASH_PID" 2> /dev/null
  DASH_PID=""
  return $served
}
if dashboard "$URL" dash.log; then
  [ "$(state_of optuna.db)" = "$BEFORE" ] && ok "dial dashboard served the study and left it unchanged" ||
    fail "dial dashboard changed the Optuna file"
else
  fail "dial dashboard did not serve the study: $(head -c 300 dash.log)"
fi
[ "$(journal_mode optuna.db)" = rollback ] || fail "optuna.db is no longer in rollback-journal mode (now $(journal_mode optuna.db))"

# ---- zero-byte, missing and foreign files: exit 2, one line, nothing created or changed ----
: > empty.db
for cmd in "studies" "trials --study x" "best --study x" "dashboard --port 0"; do
  # shellcheck disable=SC2086
  timeout 20 "$DIAL" $cmd --storage "sqlite:///$WORK/empty.db" > out.txt 2> err.txt
  rc=$?
  if [ $rc -ne 2 ] || [ "$(wc -l < err.txt)" -ne 1 ] || ! grep -q empty.db err.txt; then
    fail "dial $cmd on a zero-byte file: exit $rc: $(cat err.txt)"
  elif [ -s empty.db ] || [ -e empty.db-wal ] || [ -e empty.db-journal ]; then
    fail "dial $cmd wrote into the zero-byte file ($(stat -c %s empty.db) bytes)"
  else
    ok "dial $cmd on a zero-byte file: $(cat err.txt)"
  fi
done
"$DIAL" trials --storage "sqlite:///$WORK/missing.db" --study x > out.txt 2> err.txt
rc=$?
[ $rc -eq 2 ] && [ ! -e missing.db ] && ok "missing file: $(cat err.txt)" || fail "missing file: exit $rc, created: $(ls missing.db* 2> /dev/null)"
"$PY" -c 'import sqlite3; c = sqlite3.connect("songs.db"); c.execute("CREATE TABLE songs (id INTEGER)"); c.commit()'
SONGS=$(state_of songs.db)
"$DIAL" studies --storage "sqlite:///$WORK/songs.db" > out.txt 2> err.txt
rc=$?
[ $rc -eq 2 ] && [ "$(state_of songs.db)" = "$SONGS" ] && ok "foreign SQLite file: $(cat err.txt)" ||
  fail "foreign SQLite file: exit $rc or changed: $(cat err.txt)"

# ---- read-only media: a tmpfs remounted read-only, with Optuna's file and a dial (WAL-mode) study on it ----
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=16m tmpfs "$MNT" 2> mount.err; then
  echo "SKIP: cannot mount a tmpfs here ($(cat mount.err)): the read-only media cases did not run"
  [ $FAILED -eq 0 ] && exit 77
  exit 1
fi
cp optuna.db "$MNT/optuna.db"
cat > ro.yaml << EOF
study: ro
storage: sqlite:///$MNT/dial.db
n_trials: 4
seed: 3
search_space:
  x0: {type: float, low: -5, high: 10}
  x1: {type: float, low: 0, high: 15}
objective: {builtin: branin2}
EOF
"$DIAL" tune --config ro.yaml > /dev/null 2> tune.err || fail "setup: dial tune on the tmpfs: $(cat tune.err)"
[ "$(journal_mode "$MNT/dial.db")" = wal ] || fail "setup: dial's file is not in WAL mode"
mount -o remount,ro "$MNT" || { fail "cannot remount the tmpfs read-only"; exit 1; }
touch "$MNT/probe" 2> /dev/null && fail "the read-only tmpfs accepts writes"
MEDIA_BEFORE=$(state_of "$MNT/optuna.db"; state_of "$MNT/dial.db")
for db in optuna dial; do
  study=$db
  [ $db = dial ] && study=ro
  for cmd in "studies" "trials --study $study" "best --study $study" "importance --study $study"; do
    # shellcheck disable=SC2086
    "$DIAL" $cmd --storage "sqlite:///$MNT/$db.db" > out.txt 2> err.txt
    rc=$?
    [ $rc -eq 0 ] && ok "read-only media, $db.db: dial $cmd" ||
      fail "read-only media, $db.db: dial $cmd: exit $rc: $(head -c 300 err.txt)"
  done
  dashboard "sqlite:///$MNT/$db.db" "dash_$db.log" && ok "read-only media, $db.db: dial dashboard" ||
    fail "read-only media, $db.db: dial dashboard: $(head -c 300 "dash_$db.log")"
done
[ "$(state_of "$MNT/optuna.db"; state_of "$MNT/dial.db")" = "$MEDIA_BEFORE" ] || fail "the read-only media changed"

echo "$FAILED failure(s)"
[ $FAILED -eq 0 ]
