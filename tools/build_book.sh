#!/usr/bin/env bash
# The main job: set up the environment and build the HTML book into _build/html.
# Every lesson is executed under the run profile (COURSE_PROFILE: smoke | cpu | gpu; automatic
# when unset: gpu with CUDA, cpu otherwise). Usage: bash tools/build_book.sh [extra jupyter-book args]
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"

export COURSE_PROGRESS=plain        # one summary line per training run in the book, not progress bars
export COURSE_STATIC_WIDGETS=1      # widgets render as self-contained HTML that works without a kernel
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"  # torch's threads, as in tools/time_lessons.py

if [ -f tools/vendor_js.py ]; then
  python tools/vendor_js.py          # MathJax and friends, served from the book itself (works offline)
fi
started=$(date +%s)
jupyter-book build . -W -n --keep-going "$@"
echo "book: built in $(( $(date +%s) - started )) s; open _build/html/index.html"
