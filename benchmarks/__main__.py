"""``python -m benchmarks``: register every benchmark, then run the harness's
command."""

import sys

from benchmarks import loader, models  # noqa: F401 - importing them registers their benchmarks
from benchmarks.harness import main

sys.exit(main())
