"""course_lib: the tested library behind the Deep Generative Models course.

Start every notebook with::

    import course_lib
    settings = course_lib.setup(seed=0)   # device, run profile, seeds

Modules: ``data`` (embedded MNIST and helpers), ``profiles`` (training budgets),
``batches`` (fast mini-batches), ``training`` (the shared loop), ``cache`` (checkpoint
cache), ``errors``.
"""

from course_lib.errors import CourseError
from course_lib.profiles import Budget, Profile, get_profile
from course_lib.settings import Settings, setup

__version__ = "0.1.0"

__all__ = [
    "Budget",
    "CourseError",
    "Profile",
    "Settings",
    "__version__",
    "get_profile",
    "setup",
]
