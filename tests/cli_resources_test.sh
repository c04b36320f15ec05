#!/usr/bin/env bash
# End-to-end tests of resources_per_trial (docs/parallel.md, "Resources per trial") with a fake inventory, so no GPU
# is needed: GPU shares handed out through CUDA_VISIBLE_DEVICES (two 0.5 trials per GPU, never more), CPUs gating
# concurrency and setting OMP_NUM_THREADS, a memory limit that fails the trial over it with "out of memory" while its
# siblings complete, two independent `dial worker`s sharing one GPU through the ledger, and bad input refused before
# anything is written. Usage: cli_resources_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
# Our own ledger, so that concurrent test runs (and real studies of this user) never meet.
export DIAL_RESOURCE_DIR="$WORK/ledger"
unset DIAL_GPUS DIAL_CPUS DIAL_MEMORY_GB

# check NAME PYTHON_EXPR < json: the expression sees the JSON read from stdin as `t`.
check() {
  local name=$1 expr=$2
  if $PY -c "import json,sys; t=json.load(sys.stdin); sys.exit(0 if ($expr) else 1)"; then ok "$name"; else fail "$name ($expr)"; fi
}
trials_json() { "$DIAL" trials --storage sqlite:///r.db --study "$1" --format json; }
# The events that the trainer wrote for study $1, as one JSON list.
events_json() { $PY -c "import json,sys; print(json.dumps([json.loads(l) for l in open('$1.events')]))"; }

# A trainer that records what it was given (CUDA_VISIBLE_DEVICES, OMP_NUM_THREADS) and when it ran, sleeps $SLEEP s
# and prints the value; trial $HOG_AT first takes 600 MB and holds it.
cat > trainer.py <<'PYEOF'
#!/usr/bin/python3
import json, os, sys, time
start = time.time()
n = int(os.environ["DIAL_TRIAL_NUMBER"])
if n == int(os.environ.get("HOG_AT", "-1")):
    hog = b"\x01" * (600 * 1000 * 1000)
    time.sleep(60)
time.sleep(float(os.environ.get("SLEEP", "0.5")))
event = {"n": n, "gpu": os.environ.get("CUDA_VISIBLE_DEVICES"), "omp": os.environ.get("OMP_NUM_THREADS"),
         "dial_threads": os.environ.get("DIAL_NUM_THREADS"), "start": start, "end": time.time()}
with open(os.environ["EVENTS"], "a") as f:
    f.write(json.dumps(event) + "\n")
print(json.dumps({"value": float(sys.argv[1])}))
PYEOF
chmod +x trainer.py
study_file() {  # NAME N_TRIALS RESOURCES [extra yaml lines]
  cat > "$1.yaml" <<YAML
study: $1
storage: sqlite:///r.db
n_trials: $2
sampler: {name: random, seed: 5}
resources_per_trial: $3
search_space:
  x: {type: float, low: 0.0, high: 1.0}
objective: {command: [./trainer.py, "{x}"], kill_grace: 2}
${4:-}
YAML
}
# The most trials running at one time among the events `e` (optionally only those with gpu == G).
MAX_OVERLAP='max(sum(1 for y in e if y["start"] <= x["start"] < y["end"]) for x in e)'

# ---- 1. gpus: 0.5 on a fake 2-GPU host, --n-jobs 4: at most 2 trials per GPU, up to 4 at once ----
study_file half 8 "{gpus: 0.5}"
EVENTS=$WORK/half.events SLEEP=2.5 "$DIAL" tune --config half.yaml --n-jobs 4 --gpus 0,1 > half.out 2> half.err; rc=$?
[ $rc -eq 0 ] && ok "tune --n-jobs 4 --gpus 0,1 exits 0" || fail "half rc=$rc: $(cat half.err)"
events_json half > half.events.json
check "8 trials ran, each on GPU 0 or 1 alone" "len(t) == 8 and all(x['gpu'] in ('0', '1') for x in t)" < half.events.json
check "never more than 2 trials on one GPU at once" \
  "all((lambda e: $MAX_OVERLAP)([x for x in t if x['gpu'] == g]) <= 2 for g in ('0', '1') if any(x['gpu'] == g for x in t))" \
  < half.events.json
check "more than 2 trials at once overall (both GPUs used together), never more than 4" \
  "(lambda e: 3 <= $MAX_OVERLAP <= 4)(t)" < half.events.json
trials_json half > half.json
check "every trial COMPLETE, dial:resources records its GPU share as its CUDA_VISIBLE_DEVICES" \
  "len(t) == 8 and all(x['state'] == 'COMPLETE' and x['system_attrs']['dial:resources']['gpus'][0]['share'] == 0.5 for x in t) and
   {x['number']: x['system_attrs']['dial:resources']['gpus'][0]['id'] for x in t} ==
   {y['n']: y['gpu'] for y in json.load(open('half.events.json'))}" < half.json
check "the ledger is empty afterwards" "t['entries'] == []" < ledger/ledger.json

# ---- 2. cpus: 2 on a fake 2-CPU host with --n-jobs 3: trials never overlap; threads = 2; no GPU for CPU trials ----
study_file cpu 4 "{cpus: 2}"
EVENTS=$WORK/cpu.events SLEEP=0.7 "$DIAL" tune --config cpu.yaml --n-jobs 3 --cpus 2 --gpus 0,1 > cpu.out 2> cpu.err
rc=$?
[ $rc -eq 0 ] && ok "tune --n-jobs 3 --cpus 2 exits 0" || fail "cpu rc=$rc: $(cat cpu.err)"
events_json cpu > cpu.events.json
check "4 trials, never two at once" "len(t) == 4 and (lambda e: $MAX_OVERLAP)(t) == 1" < cpu.events.json
check "OMP_NUM_THREADS = DIAL_NUM_THREADS = 2, CUDA_VISIBLE_DEVICES empty (a CPU trial on a GPU host)" \
  "all(x['omp'] == '2' and x['dial_threads'] == '2' and x['gpu'] == '' for x in t)" < cpu.events.json
trials_json cpu > cpu.json
check "dial:resources = {cpus: 2, gpus: []}" \
  "all(x['system_attrs']['dial:resources'] == {'cpus': 2.0, 'gpus': []} for x in t)" < cpu.json

# ---- 3. a memory limit: the trial over it FAIL "out of memory", its siblings COMPLETE, nothing RUNNING ----
study_file mem 5 "{memory_gb: 0.3}"
EVENTS=$WORK/mem.events SLEEP=0.3 HOG_AT=1 timeout 120 "$DIAL" tune --config mem.yaml --n-jobs 3 --memory-gb 4 \
  > mem.out 2> mem.err; rc=$?
[ $rc -eq 0 ] && ok "a trial over its memory limit does not end the study" || fail "mem rc=$rc: $(cat mem.err)"
trials_json mem > mem.json
check "trial 1 FAIL 'out of memory ...', the 4 others COMPLETE, none RUNNING" \
  "len(t) == 5 and all((x['state'] == 'FAIL') == (x['number'] == 1) for x in t) and
   all(x['state'] in ('COMPLETE', 'FAIL') for x in t) and
   [x for x in t if x['number'] == 1][0]['system_attrs']['dial:fail_reason'].startswith('out of memory')" < mem.json
grep -q "out of memory: the trial's processes used" mem.out && ok "the pool prints the out-of-memory reason" \
  || fail "no out-of-memory line in: $(cat mem.out)"

# ---- 4. two independent `dial worker`s (not a pool) with gpus: 1 on one fake GPU never run trials together ----
study_file solo 4 "{gpus: 1}"
"$DIAL" tune --config solo.yaml --create-only > /dev/null 2>&1 || fail "solo --create-only"
for k in 1 2; do
  EVENTS=$WORK/solo.events SLEEP=0.6 DIAL_GPUS=0 "$DIAL" worker --storage sqlite:///r.db --study solo \
    > "solo$k.out" 2> "solo$k.err" &
done
wait
events_json solo > solo.events.json
check "4 trials on GPU 0, one at a time, across two worker processes" \
  "len(t) == 4 and all(x['gpu'] == '0' for x in t) and (lambda e: $MAX_OVERLAP)(t) == 1" < solo.events.json

# ---- 5. bad input: exit 2 naming the key, no study created ----
bad() {  # NAME RESOURCES EXPECTED_TEXT [dial tune flags...]
  local name=$1 resources=$2 expected=$3
  shift 3
  study_file "$name" 2 "$resources"
  sed -i "s|sqlite:///r.db|sqlite:///$name.db|" "$name.yaml"
  "$DIAL" tune --config "$name.yaml" "$@" > "$name.out" 2> "$name.err"; local rc=$?
  if [ $rc -eq 2 ] && grep -qF -- "$expected" "$name.err" && [ ! -e "$name.db" ]; then
    ok "$name: exit 2, '$expected', nothing written"
  else
    fail "$name: rc=$rc, stderr: $(cat "$name.err"), db exists: $([ -e "$name.db" ] && echo yes || echo no)"
  fi
}
bad bad_gpus "{gpus: 1.5}" "bad_gpus.yaml:5: resources_per_trial.gpus: must be 0, a share of one GPU"
bad bad_cpus "{cpus: 0}" "bad_cpus.yaml:5: resources_per_trial.cpus: must be a positive number of CPUs, got 0"
bad bad_memory "{memory_gb: -2}" "resources_per_trial.memory_gb: must be a positive number of GB, got -2"
bad bad_type "{cpus: two}" "resources_per_trial.cpus: must be a number"
bad bad_key "{gpu: 1}" "resources_per_trial.gpu: unknown key"
bad bad_shape "4" "resources_per_trial: must be a mapping"
bad too_many_gpus "{gpus: 3}" "resources_per_trial.gpus: a trial needs 3 GPU(s), more than this host has: 2 (0,1) (from --gpus" --gpus 0,1
bad no_gpu "{gpus: 0.5}" "more than this host has: none (from --gpus" --gpus none
bad too_many_cpus "{cpus: 8}" "resources_per_trial.cpus: a trial needs 8 CPU(s), more than this host has: 2 (from --cpus)" --cpus 2
bad too_much_memory "{memory_gb: 64}" "a trial needs 64 GB, more than this host has: 8 GB (from --memory-gb)" --memory-gb 8
bad bad_flag "{gpus: 1}" "--gpus: GPU ids separated by commas" --gpus "0,,1"
DIAL_CPUS=2 bad too_many_cpus_env "{cpus: 8}" "resources_per_trial.cpus: a trial needs 8 CPU(s), more than this host has: 2 (from \$DIAL_CPUS)"

if [ $FAILED -ne 0 ]; then
  echo "$FAILED check(s) failed"
  exit 1
fi
echo "all resource checks passed"
