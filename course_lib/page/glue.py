"""Numbers in the prose come from the run: a thin wrapper around myst-nb's ``glue``.

In a lesson::

    from course_lib.page.glue import glue
    glue("vae_test_nll", nll)          # then write {glue:text}`vae_test_nll:.1f` in the
    prose

In the book build the value is stored in the notebook and substituted into the text.
Where myst-nb is not installed (e.g. a plain Colab runtime) nothing is stored and the
value is simply skipped, so the notebook still runs.
"""

from __future__ import annotations

from typing import Any


def glue(name: str, value: Any, *, display: bool = False) -> None:
    """Record ``value`` under ``name`` for ``{glue:text}`` / ``{glue:}`` roles.

    Returns nothing, so a ``glue(...)`` call at the end of a cell adds no stray output.

    Args:
        name: the key used in the prose (letters, digits and underscores).
        value: a number, string, or a figure/object to display (with ``display=True``).
        display: also show the value in the notebook's output.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    # a 0-d tensor or NumPy scalar: glue the number
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    myst_glue(name, value, display=display)
