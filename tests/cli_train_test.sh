#!/usr/bin/env bash
# `dial train` end to end on a tiny synthetic corpus (`dial corpus synth`): trial mode's JSON lines (one per
# epoch, then the final line with test figures), the checkpoint and its resumption, human mode's Kaldi %WER line
# and per-speaker table, a bad key (one line naming it, exit 2), a diverging run (lr 1e6: exit 1 with the
# reason) and SIGTERM (stops at the next batch, exit 130).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"

if ! "$DIAL" corpus synth --out corpus --hours 0.03 --seed 3 --speakers 6 --jobs 2 >synth.log 2>&1; then
  echo "FAIL corpus synth"; cat synth.log; exit 1
fi

# A tiny LSTM, as `dial best` would print it (flat keys) plus a fixed: block.
cat > train.yaml <<'Y'
data: corpus
encoder: lstm
num_layers: 1
d_model: 32
n_mels: 23
batch_size: 8
num_threads: 1
fixed:
  dropout: 0.0
  warmup_steps: 2
  num_time_masks: 0
Y
echo '{"epochs": 2, "lr": 0.005}' > params.json

DIAL_PARAMS_FILE=$PWD/params.json DIAL_TRIAL_DIR=$PWD/trial "$DIAL" train --config train.yaml >trial.out 2>trial.err
rc=$?
check "trial exit 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || cat trial.err
check "trial JSON lines" $PY - trial.out <<'P'
import json, math, sys
def each_key_once(pairs):  # the metric ("wer") was written twice in every line
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), ("a key repeated", keys)
    return dict(pairs)
lines = [json.loads(l, object_pairs_hook=each_key_once) for l in open(sys.argv[1]) if l.startswith("{")]
steps = [l for l in lines if "step" in l]
assert [s["step"] for s in steps] == [1, 2], steps
for s in steps:
    for k in ("wer", "cer", "worst_speaker_wer", "lr"):
        assert isinstance(s[k], float) and math.isfinite(s[k]), (k, s)
final = lines[-1]
assert "step" not in final, final
for k in ("wer", "cer", "worst_speaker_wer", "test_wer", "test_cer", "test_worst_speaker_wer", "rtf",
          "train_seconds", "num_parameters", "peak_lr"):
    assert k in final, (k, final)
assert final["wer"] == steps[-1]["wer"], (final, steps)
assert abs(final["peak_lr"] - 0.005) < 1e-12, final
P
check "checkpoint written" test -s trial/checkpoint.pt -a -s trial/checkpoint.json -a -s trial/units.txt
check "human logs on stderr" grep -q "epoch 2/2" trial.err

# Resume: 3 epochs in the same directory train only the third.
echo '{"epochs": 3, "lr": 0.005}' > params.json
DIAL_PARAMS_FILE=$PWD/params.json DIAL_TRIAL_DIR=$PWD/trial "$DIAL" train --config train.yaml >resume.out 2>resume.err
check "resume exit 0" test $? -eq 0
check "resume trains epoch 3 only" $PY -c '
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1]) if l.startswith("{\"step\"")]
assert steps == [3], steps' resume.out
check "resume logged" grep -q "resume: from epoch 2" resume.err

# Human mode: per-epoch lines, the Kaldi line and the per-speaker table of test.
"$DIAL" train --config train.yaml --set epochs=1 --set lr=0.005 --out human >human.out 2>human.err
check "human exit 0" test $? -eq 0
check "epoch line" grep -qE '^epoch 1/1  loss [0-9.]+  dev WER [0-9.]+' human.out
check "kaldi line" grep -qE '^test: %WER [0-9]+\.[0-9]{2} \[ [0-9]+ / [0-9]+, [0-9]+ ins, [0-9]+ del, [0-9]+ sub \]' human.out
check "worst speaker" grep -qi 'worst' human.out

# A bad key: one line naming it, exit 2.
"$DIAL" train --config train.yaml --set n_mel=40 --out bad >bad.out 2>bad.err
rc=$?
check "bad key exit 2" test "$rc" -eq 2
check "bad key named" grep -q 'n_mel: unknown key (did you mean n_mels?)' bad.err
check "bad key one line" test "$(wc -l <bad.err)" -eq 1
"$DIAL" train --config train.yaml --set batch_size=0 --out bad >/dev/null 2>bad2.err
check "bad value exit 2" test $? -eq 2
check "bad value named" grep -q 'batch_size (0) must be >= 1' bad2.err
# A rule between keys (the model's) is checked when the keys are read, before any data: exit 2, nothing written.
"$DIAL" train --config train.yaml --set conv_kernel_size=4 --out badk >/dev/null 2>badk.err
check "model rule exit 2" test $? -eq 2
check "model rule named" grep -q 'conv_kernel_size (4) must be odd' badk.err
check "model rule wrote nothing" test ! -e badk

# The keys, printed from their one definition: --keys and --help list every key with its default.
"$DIAL" train --keys >keys.out 2>keys.err
check "--keys exit 0" test $? -eq 0
"$DIAL" train --help >help.out 2>&1
for key in data n_mels encoder subsampling_channels d_model ctc_weight lr batch_size num_time_masks metric; do
  check "--keys lists $key" grep -q "^  $key = " keys.out
  check "--help lists $key" grep -q "^  $key = " help.out
done
check "--keys shows a default" grep -q '^  d_model = 144  (≥ 2)' keys.out

# lr 1e6 diverges: exit 1, the reason on stderr.
"$DIAL" train --config train.yaml --set lr=1e6 --set scheduler=constant --set grad_clip=0 --out nan >nan.out 2>nan.err
rc=$?
check "divergence exit 1" test "$rc" -eq 1
check "divergence reason" grep -q 'dial: error: diverged: ' nan.err

# SIGTERM stops at the next batch: exit 130.
"$DIAL" train --config train.yaml --set epochs=50 --out term >term.out 2>term.err &
pid=$!
for _ in $(seq 1 600); do grep -q '^epoch 1/' term.out 2>/dev/null && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
rc=$?
check "SIGTERM exit 130" test "$rc" -eq 130
check "SIGTERM kept checkpoint" test -s term/checkpoint.json

if [ "$FAILED" -ne 0 ]; then
  echo "$FAILED check(s) failed"; for f in trial.err human.err nan.err term.err; do echo "== $f"; tail -5 "$f"; done
  exit 1
fi
echo "all checks passed"
