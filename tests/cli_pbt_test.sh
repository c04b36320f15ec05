#!/usr/bin/env bash
# Population-based training end to end (docs/pbt.md) with a command trial that follows the PBT contract: it loads
# {step, weights} from $DIAL_CHECKPOINT_DIR, trains steps $DIAL_START_STEP+1..$DIAL_END_STEP with its current params
# and saves the checkpoint back. Shows that
#   1. every segment starts from the checkpoint it was given: after an exploit, the child's first step is the
#      donor's last step + 1 and its starting weights are exactly the donor's saved weights (file contents compared);
#      mutable params are perturbed from the donor's, the others are the donor's;
#   2. `dial trials` shows the lineage (member, generation, steps, exploited/continued, explored params);
#   3. a `dial tune` killed with SIGKILL mid-segment and started again continues the schedule to its planned count
#      (the killed segment is failed by its stale heartbeat and retried from the same checkpoint);
#   4. bad scheduler input is refused with one message naming the key, exit 2, nothing written.
# Usage: cli_pbt_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
TUNE=""
cleanup() {
  [ -n "$TUNE" ] && kill -KILL "$TUNE" 2>/dev/null
  [ -f "$WORK/slow.pid" ] && kill -KILL "$(cat "$WORK/slow.pid")" 2>/dev/null
  rm -rf "$WORK"
}
on_exit cleanup

# The trainer. Its "model" is one weight w moving towards 1 by lr·(1 − w) per step; the loss is (1 − w)². The trial
# of member $SLOW_MEMBER at generation $SLOW_GENERATION sleeps the first time it runs (so that the test can kill
# `dial tune` while it runs); its retry runs normally.
cat > trainer.py <<'T'
import json, os, sys, time
params = json.load(open(os.environ["DIAL_PARAMS_FILE"]))
ckpt_dir = os.environ["DIAL_CHECKPOINT_DIR"]
start, end = int(os.environ["DIAL_START_STEP"]), int(os.environ["DIAL_END_STEP"])
ckpt = os.path.join(ckpt_dir, "model.json")
if os.path.exists(ckpt):
    state = json.load(open(ckpt))
else:
    state = {"step": 0, "w": 0.0, "trial": None}
if state["step"] != start:
    sys.exit("checkpoint at step %d, segment starts at %d" % (state["step"], start))
# What this segment started from, for the test to compare with the donor's saved checkpoint.
json.dump(state, open(os.path.join(os.environ["DIAL_TRIAL_DIR"], "loaded.json"), "w"))
slow = os.environ.get("SLOW_MEMBER") == os.environ["DIAL_PBT_MEMBER"] and \
       os.environ.get("SLOW_GENERATION") == os.environ["DIAL_PBT_GENERATION"]
if slow and not os.path.exists(os.environ["SLOW_MARK"]):
    open(os.environ["SLOW_PID"], "w").write(str(os.getpid()))
    open(os.environ["SLOW_MARK"], "w").write(os.environ["DIAL_TRIAL_NUMBER"])
    time.sleep(60)
w = state["w"]
for step in range(start + 1, end + 1):
    w += params["lr"] * (1.0 - w)
    print(json.dumps({"step": step, "loss": (1.0 - w) ** 2 + 0.001 * params["x"] ** 2}), flush=True)
os.makedirs(ckpt_dir, exist_ok=True)
json.dump({"step": end, "w": w, "trial": int(os.environ["DIAL_TRIAL_NUMBER"])}, open(ckpt, "w"))
print(json.dumps({"loss": (1.0 - w) ** 2 + 0.001 * params["x"] ** 2}))
T

cat > pbt.yaml <<'Y'
study: pbt
direction: minimize
metrics: [loss]
sampler: {name: random, seed: 5}
heartbeat_interval: 0.5
grace_period: 1.5
max_retries: 1
search_space:
  lr: {type: float, low: 0.01, high: 0.5, log: true}
  x: {type: float, low: -1, high: 1}
scheduler:
  name: pbt
  population_size: 4
  perturbation_interval: 2
  max_steps: 6
  quantile_fraction: 0.25
  resample_probability: 0.25
  perturbation_factors: [0.8, 1.2]
  mutable: [lr]
objective: {command: [/usr/bin/python3, ../../../trainer.py], kill_grace: 1}
Y

check() {  # check DESCRIPTION PYTHON-ASSERTIONS (t: the trials as dial trials --format json)
  "$DIAL" trials --storage sqlite:///pbt.db --study pbt --format json > trials.json
  if $PY - "$2" <<'P'
import json, os, sys
t = json.load(open("trials.json"))
attr = lambda x, k: x["system_attrs"].get("dial:pbt:" + k)
by_number = {x["number"]: x for x in t}
def trial_dir(n): return os.path.join("dial-trials", "pbt", str(n))
def saved(n): return json.load(open(os.path.join(trial_dir(n), "checkpoint", "model.json")))
def loaded(n): return json.load(open(os.path.join(trial_dir(n), "loaded.json")))
exec(sys.argv[1])
P
  then ok "$1"; else fail "$1"; fi
}

# ---- 1 + 3: a study killed mid-segment with SIGKILL, then started again ----
export SLOW_MEMBER=2 SLOW_GENERATION=1 SLOW_MARK="$WORK/slow.mark" SLOW_PID="$WORK/slow.pid"
"$DIAL" tune --config pbt.yaml --storage sqlite:///pbt.db > tune1.out 2> tune1.err &
TUNE=$!
for _ in $(seq 1 600); do [ -f slow.mark ] && break; sleep 0.1; done
if [ -f slow.mark ]; then
  kill -KILL "$TUNE"
  wait "$TUNE" 2>/dev/null
  ok "dial tune killed with SIGKILL while trial $(cat slow.mark) (member 2, generation 1) ran"
else
  fail "the slow segment never started: $(cat tune1.err)"
fi
TUNE=""
grep -q "12 trial(s)" tune1.out && ok "dial tune plans 4 members × 3 generations = 12 trials" \
  || fail "header: $(head -1 tune1.out)"
[ -f slow.pid ] && kill -KILL "$(cat slow.pid)" 2>/dev/null
check "after the kill: the slow segment is left RUNNING, the schedule unfinished" \
  "killed = int(open('slow.mark').read()); assert by_number[killed]['state'] == 'RUNNING', by_number[killed]['state']
assert len([x for x in t if x['state'] == 'COMPLETE']) < 12"
sleep 2  # past the grace period: the killed segment's heartbeat is stale
"$DIAL" tune --config pbt.yaml --storage sqlite:///pbt.db > tune2.out 2> tune2.err; rc=$?
[ "$rc" -eq 0 ] && ok "the resumed dial tune exits 0" || fail "resumed tune rc=$rc: $(tail -3 tune2.err)"
check "the resumed study ran its schedule to the planned count: every (member, generation) COMPLETE once" \
  "done = sorted((attr(x, 'member'), attr(x, 'generation')) for x in t if x['state'] == 'COMPLETE')
assert done == [(m, g) for m in range(4) for g in range(3)], done
fails = [x for x in t if x['state'] == 'FAIL']
killed = int(open('slow.mark').read())
assert [x['number'] for x in fails] == [killed], [(x['number'], x['system_attrs'].get('dial:fail_reason')) for x in fails]
assert fails[0]['system_attrs']['dial:fail_reason'].startswith('heartbeat stale'), fails[0]['system_attrs']
retry = [x for x in t if x['system_attrs'].get('failed_trial') == killed]
assert len(retry) == 1 and retry[0]['state'] == 'COMPLETE', retry
assert attr(retry[0], 'checkpoint_from') == attr(by_number[killed], 'checkpoint_from')
assert retry[0]['params'] == by_number[killed]['params']
assert len(t) == 13, len(t)"
check "steps continue across segments: generation g reports 2g+1..2g+2" \
  "for x in t:
    if x['state'] != 'COMPLETE': continue
    g = attr(x, 'generation')
    assert sorted(int(s) for s in x['intermediate_values']) == [2 * g + 1, 2 * g + 2], (x['number'], x['intermediate_values'])
    assert (attr(x, 'start_step'), attr(x, 'end_step')) == (2 * g, 2 * g + 2)"
check "every later segment starts from exactly the checkpoint its source saved (step and weights)" \
  "n = 0
for x in t:
    if x['state'] != 'COMPLETE' or attr(x, 'generation') == 0: continue
    source = attr(x, 'checkpoint_from')
    got, given = loaded(x['number']), saved(source)
    assert got == given, (x['number'], got, given)
    assert got['step'] == attr(x, 'start_step') and got['trial'] == source, got
    n += 1
assert n == 8, n"
check "exploit: the worst member of each generation copies the best one's checkpoint and config, lr perturbed" \
  "exploited = [x for x in t if attr(x, 'exploited') is not None and x['state'] == 'COMPLETE']
assert len(exploited) == 2, [x['number'] for x in exploited]
for x in exploited:
    donor, parent = by_number[attr(x, 'exploited')], by_number[attr(x, 'parent')]
    g = attr(x, 'generation')
    assert attr(x, 'checkpoint_from') == donor['number']
    assert attr(donor, 'member') != attr(x, 'member') and attr(donor, 'generation') == g - 1
    same_gen = [y for y in t if y['state'] == 'COMPLETE' and attr(y, 'generation') == g - 1]
    assert donor['values'][0] == min(y['values'][0] for y in same_gen)
    assert parent['values'][0] == max(y['values'][0] for y in same_gen)
    assert loaded(x['number'])['w'] == saved(donor['number'])['w']
    assert x['params']['x'] == donor['params']['x']
    change = attr(x, 'explored')['lr']
    assert change['from'] == donor['params']['lr'] and change['to'] == x['params']['lr'], change
    if change['how'] != 'resample':
        f = float(change['how'][1:])
        assert f in (0.8, 1.2) and abs(x['params']['lr'] - min(0.5, max(0.01, f * donor['params']['lr']))) < 1e-12, change
continued = [x for x in t if x['state'] == 'COMPLETE' and attr(x, 'generation') > 0 and attr(x, 'exploited') is None]
assert len(continued) == 6
for x in continued:
    assert x['params'] == by_number[attr(x, 'parent')]['params'] and attr(x, 'checkpoint_from') == attr(x, 'parent')"

# ---- 2: the lineage in dial trials ----
"$DIAL" trials --storage sqlite:///pbt.db --study pbt > table.txt
head -1 table.txt | grep -q "member.*generation.*steps.*lineage.*explored" \
  && ok "dial trials has member, generation, steps, lineage and explored columns" || fail "header: $(head -1 table.txt)"
[ "$(grep -c "exploited #" table.txt)" = 2 ] && grep -q "lr .*→.* (" table.txt && grep -q "continued #" table.txt \
  && ok "dial trials shows who exploited whom and the explored lr" || fail "lineage not shown: $(cat table.txt)"
"$DIAL" trials --storage sqlite:///pbt.db --study pbt --format csv | head -1 | grep -q "pbt_member,pbt_generation" \
  && ok "csv has pbt_ columns" || fail "csv header"

# ---- 4: bad input ----
bad() {  # bad NAME EXPECTED-MESSAGE SED-EXPRESSION
  sed "$3" pbt.yaml > bad.yaml
  out=$("$DIAL" tune --config bad.yaml --storage sqlite:///bad.db 2>&1); rc=$?
  if [ "$rc" = 2 ] && grep -q -- "$2" <<<"$out" && [ ! -e bad.db ] && [ "$(grep -c . <<<"$out")" = 1 ]; then
    ok "refused: $1"
  else
    fail "$1: rc=$rc, nothing written: $([ -e bad.db ] && echo no || echo yes), out: $out"
  fi
  rm -f bad.db
}
bad "a mutable name not searched" "scheduler.mutable.lrr: not in search_space" 's/mutable: \[lr\]/mutable: [lrr]/'
bad "quantile_fraction above 0.5" "scheduler.quantile_fraction: must be in (0, 0.5]" \
  's/quantile_fraction: 0.25/quantile_fraction: 0.75/'
bad "a population of one" "scheduler.population_size: must be ≥ 2" 's/population_size: 4/population_size: 1/'
bad "a non-positive factor" "scheduler.perturbation_factors" 's/\[0.8, 1.2\]/[0.8, -1]/'
bad "an unknown scheduler" "unknown scheduler 'pbx'" 's/name: pbt/name: pbx/'
bad "an unknown key" "scheduler" 's/max_steps: 6/max_step: 6/'
bad "pbt with fidelity levels" "pbt cannot be combined with fidelity" \
  's/^scheduler:/fidelity: {levels: [{epochs: 1}, {epochs: 2}]}\nscheduler:/'

[ "$FAILED" -eq 0 ] && echo "all PBT checks passed" || echo "$FAILED check(s) failed"
exit $((FAILED > 0))
