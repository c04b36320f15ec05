#!/usr/bin/env bash
# `dial corpus check` end to end: a Kaldi directory with sox-written WAVs, one truncated, one empty, one without
# a transcript and one at 8 kHz, must list exactly those four problems and exit 2; the clean part exits 0;
# JSON output; a piped wav.scp entry needs --allow-piped; a dial corpus root (train/dev/test) is checked split
# by split; a missing directory is one error line with exit 2.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
total=0
check() {  # check NAME CONDITION-COMMAND...
  local name=$1; shift
  total=$((total + 1))
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; FAILED=$((FAILED + 1)); fi
}
command -v sox >/dev/null || { echo "FAIL: sox is not installed (scripts/install-deps installs it)"; exit 1; }

mkdir -p corpus/wav corpus/train
for i in 1 2 3; do sox -n -r 16000 -b 16 -c 1 "corpus/wav/spk1-u$i.wav" synth 0.$((i + 2)) sine $((300 * i)); done
sox -n -r 16000 -b 16 -c 1 corpus/wav/spk2-cut.wav synth 1.0 sine 440
head -c 12000 corpus/wav/spk2-cut.wav > cut.tmp && mv cut.tmp corpus/wav/spk2-cut.wav   # header says 1 s
: > corpus/wav/spk2-empty.wav
sox -n -r 16000 -b 16 -c 1 corpus/wav/spk2-notext.wav synth 0.5 sine 500
sox -n -r 8000 -b 16 -c 1 corpus/wav/spk3-narrow.wav synth 0.5 sine 700
cat > corpus/train/wav.scp <<'T'
spk1-u1 wav/spk1-u1.wav
spk1-u2 wav/spk1-u2.wav
spk1-u3 wav/spk1-u3.wav
spk2-cut wav/spk2-cut.wav
spk2-empty wav/spk2-empty.wav
spk2-notext wav/spk2-notext.wav
spk3-narrow wav/spk3-narrow.wav
T
cat > corpus/train/text <<'T'
spk1-u1 one
spk1-u2 two
spk1-u3 three
spk2-cut four
spk2-empty five
spk3-narrow six
T
awk '{split($1, a, "-"); print $1, a[1]}' corpus/train/wav.scp > corpus/train/utt2spk

out=$("$DIAL" corpus check corpus/train 2>&1); rc=$?
echo "$out"
check "problems exit 2" test "$rc" -eq 2
check "summary: 7 entries, 3 speakers" grep -qE '^corpus/train +kaldi +7 +3 ' <<<"$out"
check "four problems" grep -q '^4 problem(s):' <<<"$out"
check "truncated listed" grep -qE '^spk2-cut .*spk2-cut.wav +truncated: header says 16000 frames' <<<"$out"
check "empty listed" grep -qE '^spk2-empty .*spk2-empty.wav +empty' <<<"$out"
check "missing transcript listed" grep -qE '^spk2-notext .*missing transcript' <<<"$out"
check "8 kHz listed" grep -qE '^spk3-narrow .*rate mismatch: 8000 Hz, expected 16000 Hz' <<<"$out"
check "clean files not listed" bash -c '! grep -qE "^spk1-u" <<<"$1"' _ "$out"

out=$("$DIAL" corpus check corpus/train --sample-rate 0 2>&1); rc=$?
check "--sample-rate 0 accepts 8 kHz" bash -c '! grep -q "rate mismatch" <<<"$1"' _ "$out"
check "--sample-rate 0 still exit 2" test "$rc" -eq 2

json=$("$DIAL" corpus check corpus/train --format json); rc=$?
check "json exit 2" test "$rc" -eq 2
check "json content" /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.argv[1])
p = d["parts"][0]
assert d["n_problems"] == 4 and p["n_entries"] == 7 and p["n_speakers"] == 3, d
ids = sorted(q["utterance_id"] for q in p["problems"])
assert ids == ["spk2-cut", "spk2-empty", "spk2-notext", "spk3-narrow"], ids
# Readable entries: 0.3 + 0.4 + 0.5 (spk1) + 0.5 (notext) + 0.5 (narrow) seconds.
assert abs(p["hours"] * 3600 - 2.2) < 1e-6, p["hours"] * 3600
' "$json"

# A clean directory: only the good files.
mkdir -p clean
grep '^spk1-' corpus/train/wav.scp | sed "s|wav/|$WORK/corpus/wav/|" > clean/wav.scp
grep '^spk1-' corpus/train/text > clean/text
out=$("$DIAL" corpus check clean); rc=$?
check "clean exit 0" test "$rc" -eq 0
check "clean says so" grep -q 'no problems found' <<<"$out"

# A corpus root: train (with problems) and dev (clean) checked split by split.
mkdir -p corpus/dev && cp clean/wav.scp clean/text corpus/dev/
out=$("$DIAL" corpus check corpus 2>&1); rc=$?
check "root exit 2" test "$rc" -eq 2
check "root lists both splits" bash -c 'grep -qE "^dev +kaldi +3 " <<<"$1" && grep -qE "^train +kaldi +7 " <<<"$1"' _ "$out"
check "root problems name the split" grep -qE '^train +spk2-cut ' <<<"$out"

# Piped entries run only with --allow-piped.
mkdir -p piped
echo "p1 sox $WORK/corpus/wav/spk1-u1.wav -t wav - |" > piped/wav.scp
echo "p1 one" > piped/text
err=$("$DIAL" corpus check piped 2>&1 >/dev/null); rc=$?
check "piped refused exit 2" test "$rc" -eq 2
check "piped refusal names the flag" grep -q -- '--allow-piped' <<<"$err"
check "piped refusal is one line" test "$(printf '%s\n' "$err" | wc -l)" -eq 1
out=$("$DIAL" corpus check piped --allow-piped); rc=$?
check "piped allowed exit 0" test "$rc" -eq 0

# NeMo manifest: relative paths against the manifest's folder.
printf '{"audio_filepath": "wav/spk1-u1.wav", "duration": 0.3, "text": "one"}\n{"audio_filepath": "wav/spk3-narrow.wav", "duration": 0.5, "text": "six"}\n' > corpus/manifest.json
out=$("$DIAL" corpus check corpus/manifest.json); rc=$?
check "nemo exit 2 (8 kHz)" test "$rc" -eq 2
check "nemo format" grep -qE 'manifest.json +nemo +2 ' <<<"$out"

err=$("$DIAL" corpus check no-such-dir 2>&1 >/dev/null); rc=$?
check "missing dir exit 2" test "$rc" -eq 2
check "missing dir named" grep -q 'no-such-dir' <<<"$err"
err=$("$DIAL" corpus check corpus/train --format xml 2>&1 >/dev/null); rc=$?
check "bad format exit 2" test "$rc" -eq 2

echo "$((total - FAILED)) passed, $FAILED failed"
exit $((FAILED > 0))
