"""``python -m course_grader SUBMISSIONS --out GRADES``: see
:mod:`course_grader.cli`."""

import sys

from course_grader.cli import main

sys.exit(main())
