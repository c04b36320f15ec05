#!/usr/bin/env bash
# `dial corpus synth` end to end: a tiny corpus builds, reads back through `dial corpus check`, has held-out
# speakers and 16 kHz 16-bit mono WAVs, is the same byte for byte with another --jobs; bad options, an existing
# directory and a missing synthesiser each give one error line, exit 2, and leave nothing behind.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
if ! command -v espeak-ng >/dev/null || ! command -v flite >/dev/null; then
  echo "skip: espeak-ng or flite not installed"; exit 0
fi

out=$("$DIAL" corpus synth --out c1 --hours 0.005 --seed 3 --jobs 2 2>err.txt); rc=$?
check "synth exits 0" test "$rc" -eq 0
check "one summary line" test "$(wc -l <<<"$out")" -eq 1
check "summary names the splits" grep -qE '^wrote c1: train [0-9]+ utts / [0-9]+ spk .*dev .*test .*h of audio per minute' <<<"$out"
check "no progress on a non-terminal" test ! -s err.txt
for split in train dev test; do
  for f in wav.scp text utt2spk spk2utt; do check "$split/$f" test -s "c1/$split/$f"; done
done
check "corpus.json" /usr/bin/python3 -c 'import json; d=json.load(open("c1/corpus.json")); assert d["seed"]==3 and d["sample_rate"]==16000'
check "corpus check passes" "$DIAL" corpus check c1/train --sample-rate 16000
check "held-out speakers" bash -c '
  for a in train dev test; do cut -d" " -f2 c1/$a/utt2spk | sort -u > spk.$a; done
  test -z "$(comm -12 spk.train spk.dev)" && test -z "$(comm -12 spk.train spk.test)" && test -z "$(comm -12 spk.dev spk.test)"'
check "wavs are 16 kHz 16-bit mono" /usr/bin/python3 -c '
import glob, wave
files = glob.glob("c1/wav/*.wav"); assert files
for f in files:
    w = wave.open(f); assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (16000, 2, 1), f'

"$DIAL" corpus synth --out c2 --hours 0.005 --seed 3 --jobs 1 >/dev/null 2>&1
check "same seed, other --jobs: identical bytes" diff -r c1 c2

err=$("$DIAL" corpus synth --out c1 --hours 0.005 --seed 3 2>&1 >/dev/null); rc=$?
check "existing --out exits 2" test "$rc" -eq 2
check "existing --out: one line" test "$(wc -l <<<"$err")" -eq 1

err=$("$DIAL" corpus synth --out bad --hours 0 2>&1 >/dev/null); rc=$?
check "--hours 0 exits 2" test "$rc" -eq 2
check "--hours 0 names the option" grep -q -- '--hours' <<<"$err"

err=$("$DIAL" corpus synth --out bad --hours 0.01 --voices espeak:klingon,flite:slt,en-us 2>&1 >/dev/null); rc=$?
check "unknown voice exits 2" test "$rc" -eq 2
check "unknown voice is named" grep -q 'klingon' <<<"$err"

err=$(PATH=/nonexistent "$DIAL" corpus synth --out bad --hours 0.01 2>&1 >/dev/null); rc=$?
check "missing espeak-ng exits 2" test "$rc" -eq 2
check "missing espeak-ng names the package" grep -q 'apt-get install espeak-ng' <<<"$err"
check "missing program: one line" test "$(wc -l <<<"$err")" -eq 1

check "nothing left behind" test -z "$(ls -d bad* *.tmp-* 2>/dev/null)"

if [ "$FAILED" -ne 0 ]; then echo "$FAILED check(s) failed"; exit 1; fi
echo "all checks passed"
