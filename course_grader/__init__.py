"""The instructor's grader for the course: not part of the student package
``course_lib``.

Run it from the repository checkout:
``python -m course_grader SUBMISSIONS --out GRADES`` (see
``book/instructors/guide.md``). The modules, one job each:

* :mod:`course_grader.cli` -- the command line, the batch and its summary;
* :mod:`course_grader.discover` -- every submission in a folder, sub-folders, links and
  odd names included;
* :mod:`course_grader.grade` -- one submission: its sandbox, its cells, its cases,
  restarts after a hang;
* :mod:`course_grader.remote` -- the stand-in for a student's function that calls it in
  the sandbox;
* :mod:`course_grader.sandbox` and :mod:`course_grader.limits` -- bubblewrap, rlimits,
  cgroups;
* :mod:`course_grader.report` -- ``grades.csv`` (row by row, resumable) and the feedback
  files;
* :mod:`course_grader.cases` -- the instructor's cases (hidden from students);
* :mod:`course_grader.worker` -- the only code that runs inside the sandbox (no cases in
  it);
* :mod:`course_grader.markers` -- generates ``exercises/`` from ``solutions/``.
"""
