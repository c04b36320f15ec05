# What every end-to-end shell test shares (tests/*_test.sh). A test starts with
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$1"
# where $1 is the dial binary, and gets:
#   DIAL     the dial binary, as an absolute path
#   PY       Debian's python3, which has optuna 3.1 (the python3 first on PATH may not)
#   HERE     the tests/ folder, absolute
#   WORK     a new temporary directory, made the working directory, removed when the test exits
#   FAILED   the number of failed checks so far (PASSED, the passed ones)
#   ok MESSAGE, fail MESSAGE     record one check's outcome
#   check NAME COMMAND...        run COMMAND: ok NAME when it succeeds, fail NAME otherwise
#   on_exit COMMAND              run COMMAND when the test exits, before WORK is removed (stop servers, unmount)
#   finish                       print "N passed, N failed" and exit 1 when a check failed, 0 otherwise
set -u
DIAL=$(realpath "$1")
PY=/usr/bin/python3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d)
FAILED=0
PASSED=0
DIAL_TEST_EXIT_HOOKS=()
dial_test_exit() {
  local hook
  for hook in "${DIAL_TEST_EXIT_HOOKS[@]}"; do eval "$hook"; done
  chmod -R u+w "$WORK" 2>/dev/null
  rm -rf "$WORK"
}
trap dial_test_exit EXIT
on_exit() { DIAL_TEST_EXIT_HOOKS+=("$*"); }
ok() { echo "ok: $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
check() {
  local name=$1
  shift
  if "$@"; then ok "$name"; else fail "$name"; fi
}
finish() {
  echo "$PASSED passed, $FAILED failed"
  exit $((FAILED > 0))
}
cd "$WORK" || exit 1
