#!/usr/bin/env bash
# `dial score` end to end: a hand-worked WER (1 deletion, 1 insertion, 1 substitution over 11 words, with
# case folding and a <noise> tag dropped), the per-speaker table naming the worst speaker, CER, JSON, bad input
# (a missing file) as one line with exit 2, a byte order mark and CR/CRLF line endings, and a 30,000-word
# utterance in bounded memory.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"

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

out=$("$DIAL" score --ref ref.txt --hyp hyp.txt); rc=$?
check "exit 0" test "$rc" -eq 0
check "kaldi line" grep -qxF '%WER 27.27 [ 3 / 11, 1 ins, 1 del, 1 sub ]' <<<"$out"
check "per-speaker rows" grep -qE '^spk1 .*25\.00' <<<"$out"
check "worst speaker is spk2" grep -qiE 'worst.*spk2|spk2.*worst' <<<"$out"

json=$("$DIAL" score --ref ref.txt --hyp hyp.txt --format json)
check "json total" /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); t=d["total"]; assert (t["n_ref"],t["substitutions"],t["deletions"],t["insertions"])==(11,1,1,1), t; assert d["worst_group"]=="spk2"' "$json"

cer=$("$DIAL" score --ref ref.txt --hyp hyp.txt --cer)
check "cer line" grep -qE '^%CER [0-9]+\.[0-9]{2} \[ [0-9]+ / [0-9]+, ' <<<"$cer"

err=$("$DIAL" score --ref missing.txt --hyp hyp.txt 2>&1 >/dev/null); rc=$?
check "missing ref exits 2" test "$rc" -eq 2
check "missing ref names the file" grep -q 'missing.txt' <<<"$err"
check "one line" test "$(printf '%s\n' "$err" | wc -l)" -eq 1

# A UTF-8 byte order mark (Windows editors) and CR or CRLF line endings: the same figures as the plain files. The
# mark used to become part of the first id (and speaker), and a CR-only file used to be one utterance.
printf '\xEF\xBB\xBF' > bom_ref.txt; cat ref.txt >> bom_ref.txt
tr '\n' '\r' < hyp.txt > cr_hyp.txt
sed 's/$/\r/' hyp.txt > crlf_hyp.txt
for h in cr_hyp.txt crlf_hyp.txt; do
  out=$("$DIAL" score --ref bom_ref.txt --hyp "$h"); rc=$?
  check "BOM ref, $h: exit 0" test "$rc" -eq 0
  check "BOM ref, $h: kaldi line" grep -qxF '%WER 27.27 [ 3 / 11, 1 ins, 1 del, 1 sub ]' <<<"$out"
  check "BOM ref, $h: speaker spk1 without the mark" grep -qE '^spk1 .*25\.00' <<<"$out"
done

# One 30,000-word utterance under a 512 MB address-space limit: the alignment's memory grows with about m·√n, not
# n·m (the whole cost matrix took 3.6 GB here and died with std::bad_alloc). A vocabulary of 5,000 words and a
# substitution every 10th word make the alignment unique: 3,000 substitutions.
/usr/bin/python3 - <<'P'
import random
random.seed(7)
ref = ["w%d" % random.randrange(5000) for _ in range(30000)]
hyp = ["zzz" if k % 10 == 0 else w for k, w in enumerate(ref)]
open("long_ref.txt", "w").write("spk-long " + " ".join(ref) + "\n")
open("long_hyp.txt", "w").write("spk-long " + " ".join(hyp) + "\n")
P
out=$(ulimit -v 524288; "$DIAL" score --ref long_ref.txt --hyp long_hyp.txt 2>&1); rc=$?
check "30,000 words in 512 MB: exit 0" test "$rc" -eq 0
check "30,000 words: 3,000 substitutions" grep -qxF '%WER 10.00 [ 3000 / 30000, 0 ins, 0 del, 3000 sub ]' <<<"$out"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | head -5

echo "$((17 - FAILED)) passed, $FAILED failed"
exit $((FAILED > 0))
