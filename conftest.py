"""Let nbval execute the jupytext MyST-markdown notebooks in place.

nbval only collects ``.ipynb`` files. With ``--nbval-lax``, this hook also hands nbval
the ``.md`` notebooks in ``lessons/``, ``solutions/`` and ``exercises/`` (those with a
jupytext header), read through jupytext, so CI executes exactly the files the book is
built from. Text notebooks have no stored outputs: the assertions inside the notebooks
do the checking.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

NOTEBOOK_FOLDERS = ("lessons", "solutions", "exercises")


def is_text_notebook(path: Path) -> bool:
    """True for a ``.md`` file in a notebook folder whose front matter has a jupytext
    section."""
    if path.suffix != ".md" or path.parent.name not in NOTEBOOK_FOLDERS:
        return False
    head = path.read_text(encoding="utf-8")[:400]
    return head.startswith("---") and "jupytext:" in head


def _jupytext_reader():
    import jupytext
    import nbformat

    def read(path: str, as_version: int = 4):
        return jupytext.read(path, as_version=as_version)

    return SimpleNamespace(read=read, from_dict=nbformat.from_dict)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip the paired ``.ipynb`` copies (kept for Colab): their ``.md`` source is
    executed instead."""
    if (
        collection_path.suffix == ".ipynb"
        and collection_path.with_suffix(".md").is_file()
    ):
        return True
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    option = parent.config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return None
    if not is_text_notebook(file_path):
        return None
    from nbval import plugin

    class TextNotebook(plugin.IPyNbFile):
        """nbval's notebook collector, reading the file with jupytext instead of
        nbformat."""

        def collect(self):
            original = plugin.nbformat
            plugin.nbformat = _jupytext_reader()
            try:
                yield from super().collect()
            finally:
                plugin.nbformat = original

    return TextNotebook.from_parent(parent, path=file_path)
