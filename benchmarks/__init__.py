"""The course's benchmarks: ``python -m benchmarks`` from a clone of the repository.

* :mod:`benchmarks.harness`: ``Result`` rows, the registry, the table and JSON output,
  the command;
* :mod:`benchmarks.loader`: on-device mini-batches against torchvision's ``DataLoader``;
* :mod:`benchmarks.models`: every model family trained through the lessons' recipes and
  scored;
* ``benchmarks/experiments/``: one-off measurements behind the notes (run as scripts);
* ``benchmarks/cpu/``: recorded results (see ``benchmarks/README.md``).

Not part of the installed ``course_lib`` wheel: students never need it.
"""
