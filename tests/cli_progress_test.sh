#!/usr/bin/env bash
# The progress of `dial tune` (docs/parallel.md, "What dial tune prints"): on a terminal (a pseudo-terminal made by
# util-linux `script`) both the pool (--n-jobs 2) and the in-process loop redraw one status line
# `[done/total] bar % | running | pruned | failed | best | elapsed, ETA`, never wider than the terminal, and end
# with the summary line; without a terminal the output has no carriage return or escape sequence, and with two
# workers every trial marked "(best so far)" is strictly better than every COMPLETE trial that finished before it.
# Usage: cli_progress_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"

if ! command -v script > /dev/null; then
  echo "FAIL: util-linux 'script' is needed to run dial under a pseudo-terminal"
  exit 1
fi

# A trainer of ~0.3 s: one intermediate value (x itself, which the threshold pruner prunes above 0.75), then
# FAIL for x < 0.15, else the final loss (x - 0.4)^2. With seed 7 the first 12 trials hold a FAIL and PRUNED ones.
cat > obj.py <<'PYEOF'
import json, os, sys, time
x = float(os.environ["DIAL_PARAM_X"])
time.sleep(0.15)
print(json.dumps({"step": 1, "loss": x}), flush=True)
time.sleep(0.15)
if x < 0.15:
    sys.exit("diverged")
print(json.dumps({"loss": (x - 0.4) ** 2}))
PYEOF
study_file() {  # NAME N_TRIALS
  cat > "$1.yaml" <<YAMLEOF
study: $1
storage: sqlite:///p.db
metrics: [loss]
n_trials: $2
sampler: {name: random, seed: 7}
pruner: {name: threshold, upper: 0.75}
search_space:
  x: {type: float, low: 0.0, high: 1.0}
objective: {command: [$PY, $WORK/obj.py], kill_grace: 1}
YAMLEOF
}
# on_tty COLUMNS LOCALE OUT ARGS...: dial tune under a pseudo-terminal COLUMNS wide, everything it wrote in OUT.
on_tty() {
  local columns=$1 locale=$2 out=$3
  shift 3
  script -qfec "stty cols $columns rows 40; exec env LC_ALL=$locale $DIAL tune $*" /dev/null < /dev/null > "$out" 2>&1
}
trials_json() { "$DIAL" trials --storage sqlite:///p.db --study "$1" --format json; }

# check_tty NAME OUT COLUMNS BAR: the status lines drawn in OUT (what follows each "\r\033[K" up to the next
# control character) are redrawn, at most COLUMNS - 1 wide; one shows every field with an ETA and a bar (BAR utf8:
# of blocks, ascii: of '#' and '-'); the last one agrees with the trials in the storage (done, pruned, failed,
# best); the summary follows it.
check_on_tty() {
  local name=$1 out=$2 columns=$3 bar=$4
  trials_json "$name" > "$name.json"
  if $PY - "$out" "$name.json" "$columns" "$bar" "$name" <<'PYEOF'; then ok "$name: status line"; else fail "$name: status line (output in $out: $(head -c 3000 "$out" | cat -v))"; fi
import json, re, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8")
trials = json.load(open(sys.argv[2]))
columns, name = int(sys.argv[3]), sys.argv[5]
glyphs = {"utf8": "\u2588\u2591", "ascii": "#-"}[sys.argv[4]]
draws = [re.split(r"[\r\n\x1b]", part, 1)[0] for part in raw.split("\r\x1b[K")[1:]]
status = [d for d in draws if re.match(r"\[\d+/\d+\]", d)]
assert len(status) >= 3, ("not redrawn", status)
wide = [d for d in status if len(d) > columns - 1]
assert not wide, ("wider than the terminal", columns, wide)
field = r"\[(\d+)/12\] (\S+) (\d+)% \| running (\d+) \| pruned (\d+) \| failed (\d+) \| best (\S+) \(trial (\d+)\)"
full = [d for d in status if re.match(field + r" \| \S+, ETA \S+$", d)]
assert full, ("no status line with every field and an ETA", status)
assert all(set(re.match(field, d).group(2)) <= set(glyphs) for d in full), (glyphs, full)
assert any(glyphs[0] in re.match(field, d).group(2) for d in full), (glyphs, full)
m = re.match(field + r" \| \S+$", status[-1])
assert m, ("last status line", status[-1])
done, _, percent, running, pruned, failed, best, best_number = m.groups()
states = [t["state"] for t in trials]
assert (int(done), int(percent), int(running)) == (12, 100, 0), status[-1]
assert int(pruned) == states.count("PRUNED") > 0 and int(failed) == states.count("FAIL") > 0, (status[-1], states)
complete = [t for t in trials if t["state"] == "COMPLETE"]
assert int(best_number) == min(complete, key=lambda t: t["values"][0])["number"], (status[-1], complete)
after = raw[raw.rindex(status[-1]) + len(status[-1]):]
assert re.match(r"\s*study '%s': 12 trial\(s\) in .*; best value %s \(trial %s\)" % (name, re.escape(best), best_number),
                after), ("no summary after the last status line", after)
PYEOF
}

# ---- a. the pool (--n-jobs 2) on a terminal, UTF-8: a bar of blocks ----
study_file pool 12
on_tty 200 C.UTF-8 pool.out --config pool.yaml --n-jobs 2; rc=$?
[ $rc -eq 0 ] && ok "pool on a terminal exits 0" || fail "pool on a terminal: rc=$rc: $(cat -v pool.out)"
check_tty pool pool.out 200 utf8
grep -q "trial [0-9]* PRUNED" pool.out && ok "pool: the workers' lines are printed above the status line" \
  || fail "pool: no worker line in $(cat -v pool.out)"

# ---- b. in-process on a terminal, ASCII locale: a bar of '#' and '-', 100 columns ----
study_file seq 12
on_tty 100 C seq.out --config seq.yaml; rc=$?
[ $rc -eq 0 ] && ok "in-process on a terminal exits 0" || fail "in-process on a terminal: rc=$rc: $(cat -v seq.out)"
check_tty seq seq.out 100 ascii
grep -q "FAIL: command exited with status 1: diverged" seq.out && ok "in-process: the failure is printed above" \
  || fail "in-process: no FAIL line in $(cat -v seq.out)"

# ---- the same on a narrow terminal: the line is cut, never wrapped ----
study_file narrow 3
on_tty 40 C.UTF-8 narrow.out --config narrow.yaml; rc=$?
if [ $rc -eq 0 ] && $PY - narrow.out <<'PYEOF'; then ok "40 columns: every status line fits in 39"; else fail "40 columns: $(cat -v narrow.out)"; fi
import re, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8")
draws = [re.split(r"[\r\n\x1b]", part, 1)[0] for part in raw.split("\r\x1b[K")[1:]]
status = [d for d in draws if d.startswith("[")]
assert len(status) >= 2 and all(0 < len(d) <= 39 for d in status), status
PYEOF

# ---- c. no terminal (a pipe): plain lines, and "(best so far)" decided by the study ----
study_file plain 24
"$DIAL" tune --config plain.yaml --n-jobs 2 2> plain.err | cat > plain.out; rc=${PIPESTATUS[0]}
[ $rc -eq 0 ] && ok "pool through a pipe exits 0" || fail "pool through a pipe: rc=$rc: $(cat plain.err)"
if LC_ALL=C grep -q $'[\r\033]' plain.out plain.err; then fail "a carriage return or escape without a terminal: $(cat -v plain.out)"; else ok "no carriage return or escape sequence without a terminal"; fi
grep -q "^study 'plain': 24 trial(s) in " plain.out && ok "the summary line" || fail "no summary: $(cat plain.out)"
trials_json plain > plain.json
if $PY - plain.out plain.json <<'PYEOF'; then ok "every '(best so far)' beats every COMPLETE trial finished before it; the best is marked"; else fail "'(best so far)' marks: $(cat plain.out)"; fi
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
trials = {t["number"]: t for t in json.load(open(sys.argv[2]))}
complete = [t for t in trials.values() if t["state"] == "COMPLETE"]
marked = [int(re.match(r"trial (\d+) COMPLETE", l).group(1)) for l in lines if l.endswith("(best so far)")]
assert marked, "no trial marked"
for n in marked:
    t = trials[n]
    before = [c for c in complete if c["datetime_complete"] < t["datetime_complete"]]
    worse = [c["number"] for c in before if not t["values"][0] < c["values"][0]]
    assert not worse, ("trial %d is marked but not better than trial(s) %s finished before it" % (n, worse))
best = min(complete, key=lambda t: t["values"][0])["number"]
assert best in marked, ("the study's best trial %d is not marked" % best, marked)
PYEOF

echo "$FAILED failure(s)"
exit $((FAILED > 0))
