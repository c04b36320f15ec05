#!/usr/bin/env bash
# The walls between the layers hold (docs/design.md, "Layers"):
#  1. a function that calls a layer above its own does not link: tests/layers/calls_up.cc (a core-layer probe that
#     calls dial_exec) linked with dial_core alone fails with an undefined reference, while the control probe
#     calls_down.cc (which calls dial_core) links with the same libraries;
#  2. no module includes another module's internal headers: a file of src/MODULE/ includes only its own
#     "MODULE/..." headers, the shared "util/..." ones and the public "dial/..." API; speech/ files include
#     "speech/...", "util/..." and "dial/...".
# Usage: check.sh BUILD_DIR SOURCE_DIR
set -u
BUILD=$1
SOURCE=$2
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

out=$(cmake --build "$BUILD" --target dial_layer_probe_down 2>&1)
[ $? -eq 0 ] || fail "the control probe (calls_down.cc, dial_core from above) did not link: $out"
out=$(cmake --build "$BUILD" --target dial_layer_probe_up 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
  fail "calls_up.cc (dial_core calling dial_exec) linked: a wrong-way call is not caught"
elif ! grep -q "undefined reference to \`dial::PlaceholderNames" <<<"$out"; then
  fail "calls_up.cc failed to build, but not with the expected undefined reference: $out"
else
  echo "ok: a wrong-way call (core -> exec) fails to link: $(grep -m1 -o "undefined reference to \`[^']*'" <<<"$out")"
fi

cd "$SOURCE" || exit 1
modules=$(ls -d src/*/ | xargs -n1 basename)
while IFS= read -r file; do
  case "$file" in *_test.cc | *_test_util.h | *test_util.h) continue ;; esac
  own=$(cut -d/ -f2 <<<"$file")
  while IFS= read -r inc; do
    dir=${inc%%/*}
    [ "$dir" = "$inc" ] && continue  # "foo.h": a header beside the file
    case "$dir" in dial | util | "$own") continue ;; esac
    for m in $modules; do
      [ "$dir" = "$m" ] && fail "$file includes \"$inc\", an internal header of src/$dir/"
    done
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find src -name '*.cc' -o -name '*.h' | sort)
while IFS= read -r file; do
  case "$file" in *_test.cc | *test_util.h) continue ;; esac
  while IFS= read -r inc; do
    dir=${inc%%/*}
    [ "$dir" = "$inc" ] && continue
    case "$dir" in dial | util | speech) continue ;; esac
    fail "$file includes \"$inc\": speech/ may include speech/, util/ and dial/ headers only"
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find speech -name '*.cc' -o -name '*.h' | sort)

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "1 passed, 0 failed: the walls hold"
