"""tools/time_lessons.py counts the models a lesson loaded from the checkpoint cache.

The page itself no longer says "(loaded from the cache)": a hit prints the same summary
line as training. The count comes from ``COURSE_CACHE_HITS`` instead; this test runs a
small notebook through ``time_lesson`` (a real kernel) twice with one cache: the first
run trains both models (0 hits), the second loads both (2 hits), and the variable is
removed again afterwards.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from time_lessons import models_loaded, time_lesson  # noqa: E402

NOTEBOOK = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

```{code-cell} ipython3
from torch import nn

from course_lib.cache import cached_training
from course_lib.training import History, summary_line


def train(model):
    history = History()
    history.log(loss=0.5)
    print(summary_line("toy", history))
    return history


for width in (2, 3):
    cached_training("toy", {"width": width}, nn.Linear(width, 1), train)
```
"""


def test_models_loaded_counts_the_lines_of_the_hits_file(tmp_path: Path) -> None:
    assert models_loaded(tmp_path / "absent.txt") == 0
    (tmp_path / "hits.txt").write_text("vae\ngan\n")
    assert models_loaded(tmp_path / "hits.txt") == 2


def test_a_second_run_loads_both_models_and_counts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("OMP_NUM_THREADS", "COURSE_PROFILE", "COURSE_CACHE", "COURSE_PROGRESS"):
        monkeypatch.setenv(key, os.environ.get(key, ""))  # restored after the test
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    path = tmp_path / "toy.md"
    path.write_text(NOTEBOOK)
    cache = str(tmp_path / "cache")
    _, first = time_lesson(path, "smoke", 120, cache)
    _, second = time_lesson(path, "smoke", 120, cache)
    assert (first, second) == (0, 2)
    assert "COURSE_CACHE_HITS" not in os.environ
