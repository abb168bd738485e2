"""``python -m benchmarks``: register every benchmark, then run the harness's
command."""

import sys

# importing loader and models registers their benchmarks
from benchmarks import loader, models  # noqa: F401
from benchmarks.harness import main

sys.exit(main())
