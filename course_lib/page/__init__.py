"""What a lesson page needs at run time, kept apart from the models.

- ``colab``: the first cell of every notebook (installs course_lib in Google Colab
  only);
- ``glue``: numbers in the prose come from the run (a thin wrapper around myst-nb's
  ``glue``);
- ``source``: ``show_source(obj)`` shows the library's own code, highlighted, on the
  page;
- ``table``: ``show_table(rows, header)`` shows a results table without Markdown
  built by hand in the visible cell;
- ``timings``: the measured run time of each lesson.

Nothing here is needed to train or evaluate a model; the lessons import these modules,
the models never do.
"""
