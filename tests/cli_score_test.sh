#!/usr/bin/env bash
# `dial score` end to end: a hand-worked WER (1 deletion, 1 insertion, 1 substitution over 11 words, with
# case folding and a <noise> tag dropped), the per-speaker table naming the worst speaker, CER, JSON, and
# bad input (a missing file) as one line with exit 2.
set -u
dial=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
check() {  # check NAME CONDITION-COMMAND...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}

cat > ref.txt <<'T'
spk1-utt1 the cat sat on the mat
spk1-utt2 hello world
spk2-utt1 yes no yes
T
cat > hyp.txt <<'T'
spk1-utt1 the cat sat on mat
spk1-utt2 hello there world
spk2-utt1 YES <noise> no no
T

out=$("$dial" score --ref ref.txt --hyp hyp.txt); rc=$?
check "exit 0" test "$rc" -eq 0
check "kaldi line" grep -qxF '%WER 27.27 [ 3 / 11, 1 ins, 1 del, 1 sub ]' <<<"$out"
check "per-speaker rows" grep -qE '^spk1 .*25\.00' <<<"$out"
check "worst speaker is spk2" grep -qiE 'worst.*spk2|spk2.*worst' <<<"$out"

json=$("$dial" score --ref ref.txt --hyp hyp.txt --format json)
check "json total" /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); t=d["total"]; assert (t["n_ref"],t["substitutions"],t["deletions"],t["insertions"])==(11,1,1,1), t; assert d["worst_group"]=="spk2"' "$json"

cer=$("$dial" score --ref ref.txt --hyp hyp.txt --cer)
check "cer line" grep -qE '^%CER [0-9]+\.[0-9]{2} \[ [0-9]+ / [0-9]+, ' <<<"$cer"

err=$("$dial" score --ref missing.txt --hyp hyp.txt 2>&1 >/dev/null); rc=$?
check "missing ref exits 2" test "$rc" -eq 2
check "missing ref names the file" grep -q 'missing.txt' <<<"$err"
check "one line" test "$(printf '%s\n' "$err" | wc -l)" -eq 1

echo "$((9 - failures)) passed, $failures failed"
exit $((failures > 0))
