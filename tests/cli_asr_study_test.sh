#!/usr/bin/env bash
# The built-in `asr` objective in a multi-fidelity study, end to end on a tiny synthetic corpus: 3 configurations
# at 1 epoch, the best promoted to 3 epochs continuing from its parent's checkpoint (the levels differ only in
# epochs), learning curves stored per epoch, `dial best` printing fixed + level + tuned keys that `dial train`
# accepts, `dial correlate` running; then every examples/asr/*.yaml study file validates against the same corpus,
# and a study naming a missing corpus is refused before anything is written.
# Usage: cli_asr_study_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"

if ! "$DIAL" corpus synth --out corpus --hours 0.03 --seed 5 --speakers 6 --jobs 2 >synth.log 2>&1; then
  echo "FAIL corpus synth"; cat synth.log; exit 1
fi

cat > study.yaml <<'Y'
study: asr-mf
storage: sqlite:///asr.db
sampler: {name: random, seed: 2}
search_space:
  lr: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
  dropout: [0.0, 0.1]
fixed: {encoder: lstm, num_layers: 1, d_model: 32, n_mels: 23, batch_size: 8, num_threads: 1, warmup_steps: 2, num_time_masks: 0}
fidelity:
  levels:
    - {epochs: 1}
    - {epochs: 3}
  schedule: {name: successive_halving, start_trials: 3, keep: 0.34}
objective: {builtin: asr, data: corpus, metric: wer, trials_dir: trials}
Y
"$DIAL" tune --config study.yaml >tune.out 2>tune.err
rc=$?
check "tune exit 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { cat tune.out tune.err; }
"$DIAL" trials --storage sqlite:///asr.db --study asr-mf --format json > trials.json
check "3 trials at level 0 and 1 at level 1, all COMPLETE, the promoted one the best of level 0" $PY - trials.json <<'P'
import json, sys
t = json.load(open(sys.argv[1]))
lv = lambda x: x["system_attrs"].get("dial:fidelity:level", 0)
assert all(x["state"] == "COMPLETE" for x in t), [x["state"] for x in t]
l0 = [x for x in t if lv(x) == 0]; l1 = [x for x in t if lv(x) == 1]
assert len(l0) == 3 and len(l1) == 1, (len(l0), len(l1))
best0 = min(l0, key=lambda x: x["values"][0])
assert l1[0]["system_attrs"]["dial:fidelity:parent"] == best0["number"], l1[0]["system_attrs"]
assert l1[0]["params"] == best0["params"]
# Learning curves: one intermediate value per epoch trained: step 1 at level 0; steps 2 and 3 at level 1, which
# continued from its parent's epoch-1 checkpoint rather than training epoch 1 again.
assert all(sorted(x["intermediate_values"]) == ["1"] for x in l0), [x["intermediate_values"] for x in l0]
assert sorted(l1[0]["intermediate_values"]) == ["2", "3"], l1[0]["intermediate_values"]
# The extra fields of the final line are user attrs: test WER and the worst speaker's.
assert "test_wer" in l1[0]["user_attrs"] and "test_worst_speaker_wer" in l1[0]["user_attrs"], l1[0]["user_attrs"]
P
promoted=$($PY -c "import json; t=json.load(open('trials.json')); print([x['number'] for x in t if x['system_attrs'].get('dial:fidelity:level', 0) == 1][0])")
check "the promoted trial continued from its parent's checkpoint" \
  grep -q "resume: continuing from the checkpoint in" "trials/asr-mf/$promoted/stderr.log"
"$DIAL" best --storage sqlite:///asr.db --study asr-mf > best.yaml 2> best.err
check "dial best: level 1 chosen, fixed, level and tuned keys printed" \
  bash -c 'grep -q "at fidelity level 1" best.yaml && grep -q "^encoder: lstm" best.yaml && grep -q "^epochs: 3" best.yaml && grep -q "^lr: " best.yaml'
echo "data: corpus" >> best.yaml
"$DIAL" train --config best.yaml --out retrain --set test_set=none > retrain.out 2> retrain.err
check "dial train accepts dial best's block" test $? -eq 0
"$DIAL" correlate --storage sqlite:///asr.db --study asr-mf > correlate.out 2>&1
check "dial correlate runs on the study (and warns: 1 pair)" grep -qi "fewer than" correlate.out

# Every example study file validates against this corpus (the data path rewritten; `dial tune --check` runs nothing).
for f in "$HERE"/../examples/asr/*.yaml; do
  name=$(basename "$f" .yaml)
  sed -e "s|data: [^,}]*|data: corpus|" -e "s|trials_dir: [^,}]*|trials_dir: trials|" "$f" > "ex-$name.yaml"
  "$DIAL" tune --config "ex-$name.yaml" --check > "ex-$name.out" 2>&1
  rc=$?
  check "examples/asr/$name.yaml validates" test "$rc" -eq 0
  [ "$rc" -eq 0 ] || cat "ex-$name.out"
done

# A missing corpus: one message naming it, exit 2, no study written.
sed -e "s|data: corpus|data: no-such-corpus|" study.yaml > missing.yaml
"$DIAL" tune --config missing.yaml --storage sqlite:///missing.db > missing.out 2>&1
rc=$?
check "missing corpus: exit 2" test "$rc" -eq 2
check "missing corpus: the message names it" grep -q "no-such-corpus" missing.out
check "missing corpus: no study written" bash -c '! "$0" studies --storage sqlite:///missing.db 2>/dev/null | grep -q asr-mf' "$DIAL"

echo "$FAILED failure(s)"
[ "$FAILED" -eq 0 ]
