# Sourced by tools/build_book.sh and tools/run_tests.sh: create or reuse a virtual environment
# and install the course (editable) with the book and development tools.
#
#   COURSE_VENV   where the environment lives (default: .venv in the repository)
#   PYTHON        the interpreter that creates it (default: python3; needs 3.10+)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${COURSE_VENV:-$repo_root/.venv}"
python_bin="${PYTHON:-python3}"

if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  echo "error: $python_bin is missing or older than Python 3.10; install Python 3.11 and run again (or set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating the virtual environment $venv"
  "$python_bin" -m venv "$venv"
fi
# shellcheck disable=SC1091
source "$venv/bin/activate"
stamp="$venv/.course-installed"
inputs_hash="$(cat "$repo_root/pyproject.toml" "$repo_root/tools/constraints.txt" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$inputs_hash" ]; then
  echo "setup: installing course_lib with its book and development tools (first time: a few minutes)"
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet -c "$repo_root/tools/constraints.txt" -e "$repo_root[dev]"
  echo "$inputs_hash" > "$stamp"
else
  # Already installed with these requirements: only make sure this checkout is the one installed.
  python -m pip install --quiet --no-deps -e "$repo_root"
fi
cd "$repo_root"
