#!/usr/bin/env bash
# Fail when a generated file is out of date with its source (called by tools/run_tests.sh):
#  - exercises/ must be what `python -m course_grader.markers` makes from solutions/
#    (and a malformed solution marker fails loudly here, before any solution could ship);
#  - every notebook's Colab cell, its paired .ipynb and _toc.yml must match `python tools/sync_notebooks.py`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python -m course_grader.markers --check \
  || { echo "error: exercises/ is out of date: run 'python -m course_grader.markers' and commit" >&2; exit 1; }
python tools/sync_notebooks.py --check \
  || { echo "error: notebooks out of date: run 'python tools/sync_notebooks.py' and commit" >&2; exit 1; }
echo "generated files are up to date"
