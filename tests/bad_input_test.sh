#!/usr/bin/env bash
# The bad-input suite: every case must print exactly one error line on stderr naming the file/key/value, exit
# with status 2, and leave the database byte-for-byte unchanged. Usage: bad_input_test.sh path/to/dial
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
CASES=0

# A database with a study in it, so that "unchanged" means something: study `existing` (minimize) whose stored
# distribution for lr is log-uniform.
cat > base.yaml <<'EOF'
study: existing
storage: sqlite:///dial.db
n_trials: 3
search_space:
  x0: {type: float, low: -5, high: 10}
  x1: {type: float, low: 0, high: 15}
  lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}
objective: {builtin: branin2}
EOF
if ! "$DIAL" tune --config base.yaml > /dev/null 2> setup.err; then
  echo "FAIL: setup: $(cat setup.err)"
  exit 1
fi

snapshot() { (ls -a dial.db*; sha256sum dial.db*) 2> /dev/null; }

# expect NAME EXPECTED_SUBSTRING -- dial ARGS...   (the study file, when used, is case.yaml)
expect() {
  local name=$1 want=$2
  shift 3
  CASES=$((CASES + 1))
  local before after rc
  before=$(snapshot)
  "$DIAL" "$@" > case.out 2> case.err
  rc=$?
  after=$(snapshot)
  local problems=""
  [ $rc -eq 2 ] || problems+=" exit=$rc"
  [ "$(wc -l < case.err)" -eq 1 ] || problems+=" stderr has $(wc -l < case.err) lines"
  grep -qF -- "$want" case.err || problems+=" stderr lacks '$want'"
  [ "$before" = "$after" ] || problems+=" database changed"
  if [ -n "$problems" ]; then
    echo "FAIL: $name:$problems"
    sed 's/^/    stderr: /' case.err
    FAILED=$((FAILED + 1))
  else
    echo "ok: $name -> $(cat case.err)"
  fi
}

# tune_case NAME EXPECTED YAML: writes case.yaml and runs `dial tune --config case.yaml`.
tune_case() {
  printf '%s\n' "$3" > case.yaml
  expect "$1" "$2" -- tune --config case.yaml
}

BUILTIN='objective: {builtin: branin2}'
HEAD="study: fresh
fixed: {x0: 1.0, x1: 2.0}
$BUILTIN
search_space:"

tune_case "low > high" "case.yaml:5: search_space.lr:" "$HEAD
  lr: {type: float, low: 0.1, high: 0.01}"
tune_case "log with low <= 0" "case.yaml:5: search_space.lr:" "$HEAD
  lr: {type: float, low: 0.0, high: 0.1, log: true}"
tune_case "step does not divide the range" "case.yaml:5: search_space.dropout:" "$HEAD
  dropout: {type: float, low: 0.0, high: 0.5, step: 0.2}"
tune_case "int step does not divide the range" "case.yaml:5: search_space.layers:" "$HEAD
  layers: {type: int, low: 1, high: 10, step: 4}"
tune_case "empty choices" "case.yaml:5: search_space.optimizer: empty choices" "$HEAD
  optimizer: []"
tune_case "duplicate choices" "duplicate choice adam" "$HEAD
  optimizer: [adam, sgd, adam]"
tune_case "int bound that is not an integer" "search_space.layers.high: must be an integer, got \"2.5\"" "$HEAD
  layers: {type: int, low: 1, high: 2.5}"
# Parameter values are stored as doubles (Optuna's param_value), exact only up to 2^53: wider int bounds are refused
# up front (with --check too), rather than storing trials no reader can parse back (docs/study-file.md).
tune_case "int bound beyond 2^53" "case.yaml:5: search_space.k: low (0) and high (9223372036854775807) must lie within -2^53 .. 2^53" "$HEAD
  k: {type: int, low: 0, high: 9223372036854775807}"
tune_case "int range of the whole int64" "search_space.k: low (-9223372036854775808) and high (9223372036854775807)" "$HEAD
  k: {type: int, low: -9223372036854775808, high: 9223372036854775807}"
tune_case "int bound just beyond 2^53" "search_space.k: low (-9007199254740993) and high (0)" "$HEAD
  k: {type: int, low: -9007199254740993, high: 0}"
printf '%s\n' "$HEAD" "  k: {type: int, low: -4611686018427387904, high: 4611686018427387904}" > case.yaml
expect "int bounds beyond 2^53 under --check" "search_space.k: low (-4611686018427387904)" -- tune --check --config case.yaml
tune_case "unknown distribution type" "search_space.lr.type: must be float, int or categorical, got \"gaussian\"" "$HEAD
  lr: {type: gaussian, low: 0, high: 1}"
tune_case "parameter re-suggested with another distribution" \
  "case.yaml:6: search_space.lr: float [1e-05, 0.1] conflicts with the distribution" "study: existing
$BUILTIN
search_space:
  x0: {type: float, low: -5, high: 10}
  x1: {type: float, low: 0, high: 15}
  lr: {type: float, low: 1.0e-5, high: 1.0e-1}"
tune_case "study created with other directions" "differ from study 'existing'" "study: existing
direction: maximize
$BUILTIN"
tune_case "unknown sampler" "case.yaml:2: sampler: unknown sampler 'annealing'" "$BUILTIN
sampler: annealing"
tune_case "unknown pruner" "case.yaml:2: pruner: unknown pruner 'hyperbandit'" "$BUILTIN
pruner: {name: hyperbandit}"
tune_case "unknown sampler option" "unknown option 'temperature'" "$BUILTIN
sampler: {name: random, temperature: 0.5}"
tune_case "bad pruner option value" "n_startup_trials" "$BUILTIN
pruner: {name: median, n_startup_trials: lots}"
tune_case "malformed YAML" "case.yaml:4: malformed YAML" "$BUILTIN
search_space:
  lr: {type: float, low: 0.1
n_trials: 3"
tune_case "when names an unknown parameter" "search_space.momentum.when.optimizer: unknown parameter 'optimizer'" "$HEAD
  momentum: {type: float, low: 0.5, high: 0.99, when: {optimizer: sgd}}
  optimizer: [adam, sgd]"
tune_case "when names an impossible value" "lamb is not a possible value of optimizer" "$HEAD
  optimizer: [adam, sgd]
  momentum: {type: float, low: 0.5, high: 0.99, when: {optimizer: lamb}}"
tune_case "metrics count differs from directions" "case.yaml:3: metrics: 1 metric(s) [wer] for 2 direction(s)" "study: fresh
directions: [minimize, minimize]
metrics: [wer]
objective: {command: [/bin/true]}"
tune_case "a missing metric for several directions" "metrics: missing" "directions: [minimize, maximize]
objective: {command: [/bin/true]}"
tune_case "command that does not exist" "objective.command[0]: command train-that-does-not-exist: not found on PATH" \
  "objective: {command: [train-that-does-not-exist, --lr, 1]}"
tune_case "command path that does not exist" "command /opt/none/train.sh: no such file" \
  "objective: {command: [/opt/none/train.sh]}"
tune_case "command given as one string" "no shell is used" 'objective: {command: "python3 train.py --lr 0.1"}'
tune_case "unknown placeholder in argv" "objective.command[2]: unknown placeholder {lrate}" "search_space:
  lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}
objective: {command: [/bin/echo, --lr, \"{lrate}\"]}"
tune_case "unclosed placeholder" "unclosed '{'" "objective: {command: [/bin/echo, \"{lr\"]}"
tune_case "unknown top-level key" "case.yaml:2: n_trails: unknown key (did you mean 'n_trials'?)" "$BUILTIN
n_trails: 10"
tune_case "n_trials of the wrong type" "case.yaml:2: n_trials: must be an integer, got \"abc\"" "$BUILTIN
n_trials: abc"
tune_case "negative n_trials" "case.yaml:2: n_trials: must be a positive integer, got -4" "$BUILTIN
n_trials: -4"
tune_case "timeout of the wrong type" "case.yaml:2: timeout: must be a number, got \"soon\"" "$BUILTIN
timeout: soon"
tune_case "missing objective" "case.yaml:1: objective: missing" "study: fresh
n_trials: 3"
tune_case "unknown builtin" "objective.builtin: unknown benchmark function 'branin3'" "objective: {builtin: branin3}"
tune_case "negative command timeout" "objective.timeout: must be a positive number" \
  "objective: {command: [/bin/true], timeout: -1}"
tune_case "unknown key in a distribution" "search_space.lr.hihg: unknown key (did you mean 'high'?)" "$HEAD
  lr: {type: float, low: 0.1, hihg: 1.0}"
tune_case "storage URL with an unknown scheme (in the file)" "case.yaml: storage: unknown storage scheme 'postgress'" "storage: postgress://localhost/db
$BUILTIN"

echo "$BUILTIN" > ok.yaml
expect "storage in a missing folder" "/no/such/folder/x.db" -- tune --config ok.yaml --storage sqlite:////no/such/folder/x.db
[ -e /no/such/folder ] && { echo "FAIL: the missing folder was created"; FAILED=$((FAILED + 1)); }
expect "storage in an unwritable folder" "/proc/dial-test.db" -- tune --config ok.yaml --storage sqlite:////proc/dial-test.db
expect "storage URL with an unknown scheme" "mongodb://x" -- tune --config ok.yaml --storage mongodb://x
expect "study file that does not exist" "nosuch.yaml: no such study file" -- tune --config nosuch.yaml
expect "--n-trials that is not positive" "--n-trials: must be a positive integer, got 0" -- tune --config ok.yaml --n-trials 0
expect "--n-trials that is not a number" "--n-trials" -- tune --config ok.yaml --n-trials many
expect "--sampler that does not exist" "unknown sampler 'bogus'" -- tune --config ok.yaml --sampler bogus
expect "tune without --config" "--config is required" -- tune
expect "unknown subcommand" "unknown command 'frobnicate'" -- frobnicate
expect "trials of a study that does not exist" "no study named 'ghost'" -- trials --study ghost
expect "best of a study that does not exist" "no study named 'ghost'" -- best --study ghost
expect "delete-study of a study that does not exist" "no study named 'ghost'" -- delete-study --study ghost
expect "trials with an unknown --format" "--format: xml not in {table,csv,json}" -- trials --study existing --format xml
expect "trials in a database that does not exist" "no database at missing.db" -- trials --storage sqlite:///missing.db --study existing
[ -e missing.db ] && { echo "FAIL: reading created missing.db"; FAILED=$((FAILED + 1)); }

# Study files built to exhaust dial (issue 19), each refused at once: bounded by `timeout 10`, where the alias bombs
# used to abort with std::bad_alloc after ~20 s and the second document was silently dropped.
BOUNDED_DIAL=$DIAL
bounded_case() {
  local saved=$DIAL
  DIAL=timeout
  printf '%s\n' "$3" > case.yaml
  expect "$1" "$2" -- -k 2 10 "$BOUNDED_DIAL" tune --check --config case.yaml
  DIAL=$saved
}
# billion_laughs KEY NAME: `KEY: {name: NAME, l0: nine strings, l1: nine aliases of l0, ... l8}`, 10^9 nodes.
billion_laughs() {
  printf '%s\n%s:\n  name: %s\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n' "$BUILTIN" "$1" "$2"
  for level in 1 2 3 4 5 6 7 8; do
    local a="*l$((level - 1))"
    printf '  l%d: &l%d [%s, %s, %s, %s, %s, %s, %s, %s, %s]\n' $level $level $a $a $a $a $a $a $a $a $a
  done
}
bounded_case "alias bomb under sampler" "case.yaml:9: sampler.l5[0]: YAML aliases expand the file by more than" \
  "$(billion_laughs sampler random)"
bounded_case "alias bomb under pruner" "case.yaml:9: pruner.l5[0]: YAML aliases expand the file by more than" \
  "$(billion_laughs pruner median)"
bounded_case "second YAML document" "case.yaml:3: a second YAML document (after ---)" "$BUILTIN
n_trials: 5
---
n_trials: 500"

echo "$CASES cases, $FAILED failure(s)"
[ $FAILED -eq 0 ] && [ $CASES -ge 25 ]
