#!/usr/bin/env bash
# The test command: lint (ruff), types (mypy over course_lib), generated-file checks, unit tests, and
# every notebook executed with nbval under the `smoke` profile. Usage: bash tools/run_tests.sh [extra pytest arguments]
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"

export COURSE_PROFILE="${COURSE_PROFILE:-smoke}"
export COURSE_PROGRESS=plain
export COURSE_STATIC_WIDGETS=1
# Two pytest workers on two cores: one thread each, or torch's threads fight over the cores.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# A fresh checkpoint cache, so cached models from earlier runs cannot hide a broken recipe.
COURSE_CACHE="$(mktemp -d)"
export COURSE_CACHE
trap 'rm -rf "$COURSE_CACHE"' EXIT

echo "== ruff"
ruff check .
ruff format --check .

echo "== mypy (course_lib; settings in pyproject.toml)"
mypy

for check in tools/check_generated.sh; do
  if [ -f "$check" ]; then echo "== $check"; bash "$check"; fi
done

echo "== pytest: tests/ and every notebook (nbval, profile $COURSE_PROFILE)"
set +e
python -m pytest -n 2 --dist loadfile --nbval-lax --nbval-current-env -p no:cacheprovider \
  tests lessons solutions exercises "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests; the test folders or the nbval hook in conftest.py are broken" >&2
  exit 1
fi
exit "$status"
