#!/usr/bin/env bash
# End-to-end test of `dial dashboard`: started the way users start it, on a SQLite storage that a `dial tune` is still
# writing to; checked over HTTP with curl (only GET, loopback Host names, the token for a network bind, bad input) and
# in headless Chromium driven by playwright-core (tests/browser/dashboard_check.js: every plot drew data, the page
# redraws by itself, a click opens a trial). Screenshots go to OUT_DIR.
# Usage: cli_dashboard_test.sh path/to/dial OUT_DIR BROWSER_NODE_MODULES
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
OUT=$(mkdir -p "$2" && realpath "$2")
NODE_MODULES=$3
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; done
  wait 2> /dev/null
  rm -rf "$WORK"
}
on_exit cleanup
DB="sqlite:///$WORK/dash.db"

# Waits up to $2 seconds for `dial dashboard`'s first line in file $1 and prints the URL it serves.
dashboard_url() {
  for _ in $(seq 1 $(($2 * 10))); do
    url=$(grep -o 'http://[^ ]*' "$1" 2> /dev/null | head -1)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.1
  done
  return 1
}
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- three studies in one storage: pruned learning curves, two objectives, and one still running ----
cat > curve.py << 'PYEOF'
import json, os, sys, time
x = float(os.environ["DIAL_PARAM_X"]); lr = float(os.environ["DIAL_PARAM_LR"])
pause = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
final = (x - 0.3) ** 2 + 0.05 * abs(lr - 0.01)
for step in range(1, int(os.environ.get("DIAL_PARAM_EPOCHS", "6")) + 1):
    time.sleep(pause)
    print(json.dumps({"step": step, "loss": final + 1.0 / step}), flush=True)
print(json.dumps({"loss": final}))
PYEOF
study_file() {  # name pause pruner [more YAML]
  cat << YAMLEOF
study: $1
storage: $DB
metrics: [loss]
sampler: {name: random, seed: 5}
pruner: $3
search_space:
  x: {type: float, low: 0, high: 1}
  lr: {type: float, low: 0.0001, high: 0.1, log: true}
objective: {command: [$PY, $WORK/curve.py, "$2"]}
${4:-}
YAMLEOF
}
# A pruned multi-fidelity study: 24 configurations for 3 epochs, the best quarter promoted to 6 (24 → 6).
study_file curves 0 "{name: median, n_startup_trials: 4, n_warmup_steps: 1}" \
  "fidelity: {levels: [{epochs: 3}, {epochs: 6}], schedule: {name: successive_halving, start_trials: 24, keep: 0.25}}" \
  > curves.yaml
study_file live 0.4 nop "n_trials: 60" > live.yaml
cat > mo.py << 'PYEOF'
import json, os
x = float(os.environ["DIAL_PARAM_X"]); y = float(os.environ["DIAL_PARAM_Y"])
print(json.dumps({"wer": x + 0.1 * y, "latency_ms": 100 * (1 - x) ** 2 + 10 * y}))
PYEOF
cat > mo.yaml << YAMLEOF
study: tradeoff
storage: $DB
directions: [minimize, minimize]
metrics: [wer, latency_ms]
n_trials: 25
sampler: {name: random, seed: 6}
search_space:
  x: {type: float, low: 0, high: 1}
  y: {type: float, low: 0, high: 1}
objective: {command: [$PY, $WORK/mo.py]}
YAMLEOF
"$DIAL" tune --config curves.yaml > curves.out 2>&1 || fail "tune curves: $(tail -3 curves.out)"
"$DIAL" tune --config mo.yaml > mo.out 2>&1 || fail "tune mo: $(tail -3 mo.out)"
"$DIAL" tune --config live.yaml > live.out 2>&1 &
TUNE_PID=$!
PIDS+=("$TUNE_PID")

# ---- bad input: one clear message, exit 2, no server ----
"$DIAL" dashboard --storage "$DB" --host 0.0.0.0 --port 0 > bad1.out 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q -- "--host 0.0.0.0" bad1.out && grep -q -- "--token" bad1.out \
  && ok "a network bind without a token is refused: $(head -1 bad1.out)" || fail "0.0.0.0 without token: rc=$rc $(cat bad1.out)"
"$DIAL" dashboard --storage "$DB" --host 0.0.0.0 --port 0 --token short > bad2.out 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "16" bad2.out && ok "a short token is refused" || fail "short token: rc=$rc $(cat bad2.out)"
"$DIAL" dashboard --storage "sqlite:///$WORK/missing.db" --port 0 > bad3.out 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "missing.db" bad3.out && [ ! -e "$WORK/missing.db" ] \
  && ok "a missing database is named and not created" || fail "missing db: rc=$rc $(cat bad3.out)"

# ---- the dashboard on loopback ----
"$DIAL" dashboard --storage "$DB" --port 0 --refresh 1 > dash.out 2> dash.err &
DASH_PID=$!
PIDS+=("$DASH_PID")
URL=$(dashboard_url dash.out 20) || { fail "the dashboard did not start: $(cat dash.out dash.err)"; URL=""; }
if [ -n "$URL" ]; then
  ok "dashboard serving at $URL"
  PORT=$(echo "$URL" | sed -E 's#.*:([0-9]+)/.*#\1#')
  [ "$(status_of "$URL")" = 200 ] && ok "GET / answers 200" || fail "GET / status $(status_of "$URL")"
  for method in POST PUT DELETE PATCH; do
    code=$(status_of -X $method "${URL}api/studies")
    [ "$code" = 405 ] && ok "$method is refused (405)" || fail "$method answered $code"
  done
  code=$(status_of -I "${URL}")
  [ "$code" = 405 ] && ok "HEAD is refused (405)" || fail "HEAD answered $code"
  allow=$(curl -s -D - -o /dev/null -X POST "${URL}" | tr -d '\r' | grep -i '^allow:')
  [ "$allow" = "Allow: GET" ] && ok "405 says Allow: GET" || fail "Allow header: '$allow'"
  code=$(status_of -H "Host: attacker.example:$PORT" "$URL")
  [ "$code" = 403 ] && ok "a foreign Host name is refused (DNS rebinding)" || fail "foreign Host answered $code"
  [ "$(status_of "${URL}no/such/page")" = 404 ] && ok "an unknown path is 404" || fail "unknown path"
  curl -s "${URL}api/studies" > studies.json
  $PY - studies.json << 'PYEOF' && ok "api/studies lists the three studies with their states" || fail "api/studies: $(head -c 300 studies.json)"
import json, sys
doc = json.load(open(sys.argv[1]))
names = {s["name"]: s for s in doc["studies"]}
assert set(names) == {"curves", "tradeoff", "live"}, names.keys()
assert names["curves"]["states"].get("PRUNED", 0) > 0, names["curves"]
assert names["tradeoff"]["best"]["pareto_front"] > 0, names["tradeoff"]
PYEOF
  curl -s "${URL}api/trial?study=curves&number=29" > promoted.json
  $PY - promoted.json << 'PYEOF' && ok "a promoted trial's level and parent are served" || fail "promoted trial: $(head -c 400 promoted.json)"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["system_attrs"]["dial:fidelity:level"] == 1 and "x" in t["params"], t
assert isinstance(t["system_attrs"]["dial:fidelity:parent"], int), t
PYEOF
  code=$(status_of "${URL}api/study?name=nope")
  [ "$code" = 404 ] && ok "an unknown study is 404" || fail "unknown study answered $code"

  # The browser session needs a few finished trials of the running study, and the study still running.
  for _ in $(seq 1 120); do
    n=$("$DIAL" trials --config live.yaml --format json 2> /dev/null |
      $PY -c "import json,sys; print(sum(t['state']=='COMPLETE' for t in json.load(sys.stdin)))" 2> /dev/null)
    [ "${n:-0}" -ge 4 ] && break
    sleep 0.5
  done
  [ "${n:-0}" -ge 4 ] && ok "the live study has $n finished trials and is still running" || fail "live study: ${n:-0} COMPLETE"
  if [ ! -d "$NODE_MODULES/playwright-core" ]; then
    fail "playwright-core is missing from $NODE_MODULES (npm fetches it at build time; see tests/browser/package.json)"
  elif ! command -v chromium > /dev/null; then
    fail "chromium not found (scripts/install-deps installs it)"
  else
    # The report files of the pruned multi-fidelity study and of the two-objective study, checked in the same session.
    "$DIAL" report --storage "$DB" --study curves -o "$WORK/report_curves.html" > /dev/null || fail "report curves"
    "$DIAL" report --storage "$DB" --study tradeoff -o "$WORK/report_tradeoff.html" > /dev/null || fail "report tradeoff"
    NODE_PATH="$NODE_MODULES" timeout 300 node "$HERE/browser/dashboard_check.js" "$URL" "$OUT" live curves tradeoff \
      "$WORK/report_curves.html" "$WORK/report_tradeoff.html" > browser.out 2>&1
    rc=$?
    sed 's/^/  browser: /' browser.out
    [ $rc -eq 0 ] && ok "the browser session passed (screenshots in $OUT)" || fail "the browser session failed (rc=$rc)"
  fi

  # A second dashboard on the same port: the port is named.
  "$DIAL" dashboard --storage "$DB" --port "$PORT" > busy.out 2>&1; rc=$?
  [ $rc -ne 0 ] && grep -q "$PORT" busy.out && ok "a port in use is named: $(head -1 busy.out)" || fail "port in use: rc=$rc"

  kill -TERM "$DASH_PID"
  wait "$DASH_PID"; rc=$?
  [ $rc -eq 0 ] && grep -q "stopped" dash.out && ok "SIGTERM stops the dashboard (exit 0)" || fail "dashboard stop rc=$rc"
fi

# ---- a network bind with a token ----
TOKEN=dial-test-token-0123456789
"$DIAL" dashboard --storage "$DB" --host 0.0.0.0 --port 0 --token "$TOKEN" > tok.out 2> tok.err &
TOK_PID=$!
PIDS+=("$TOK_PID")
TURL=$(dashboard_url tok.out 20) || { fail "the token dashboard did not start: $(cat tok.out tok.err)"; TURL=""; }
if [ -n "$TURL" ]; then
  TPORT=$(echo "$TURL" | sed -E 's#.*:([0-9]+)/.*#\1#')
  BASE="http://127.0.0.1:$TPORT/"
  echo "$TURL" | grep -q "token=$TOKEN" && ok "the printed URL carries the token" || fail "printed URL: $TURL"
  [ "$(status_of "${BASE}api/studies")" = 401 ] && ok "no token: 401" || fail "no token answered $(status_of "${BASE}api/studies")"
  [ "$(status_of "${BASE}api/studies?token=wrong-wrong-wrong-wrong")" = 401 ] && ok "a wrong token: 401" || fail "wrong token"
  cookie=$(curl -s -D - -o /dev/null "${BASE}?token=$TOKEN" | tr -d '\r' | grep -i '^set-cookie:')
  echo "$cookie" | grep -q "dial_token=$TOKEN; Path=/; HttpOnly; SameSite=Strict" && ok "the token becomes an HttpOnly cookie" \
    || fail "cookie: '$cookie'"
  [ "$(status_of -H "Cookie: dial_token=$TOKEN" "${BASE}api/studies")" = 200 ] && ok "the cookie is accepted" || fail "cookie refused"
  [ "$(status_of -H "Authorization: Bearer $TOKEN" "${BASE}api/studies")" = 200 ] && ok "a bearer token is accepted" \
    || fail "bearer refused"
  [ "$(status_of -X POST -H "Authorization: Bearer $TOKEN" "${BASE}api/studies")" = 405 ] && ok "with a token still only GET" \
    || fail "POST with token"
  kill -TERM "$TOK_PID"
  wait "$TOK_PID"
fi

# The running study is stopped the way a user would; nothing of it is left RUNNING.
kill -INT "$TUNE_PID" 2> /dev/null
wait "$TUNE_PID"
left=$("$DIAL" trials --config live.yaml --format json |
  $PY -c "import json,sys; print(sum(t['state']=='RUNNING' for t in json.load(sys.stdin)))")
[ "$left" = 0 ] && ok "no trial left RUNNING" || fail "$left trial(s) left RUNNING"

echo "$PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ]
