"""glue: tensors become plain numbers; no myst-nb means no error."""

from __future__ import annotations

import builtins
import sys

import torch

from course_lib.page import glue as glue_module


def test_tensor_values_are_glued_as_numbers(monkeypatch):
    recorded = {}

    def fake_glue(name, value, display=False):
        recorded[name] = (value, display)

    monkeypatch.setattr("myst_nb.glue", fake_glue)
    assert glue_module.glue("loss", torch.tensor(1.5)) is None
    assert recorded == {"loss": (1.5, False)} and type(recorded["loss"][0]) is float


def test_without_myst_nb_glue_does_nothing(monkeypatch):
    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError("not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "myst_nb", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    assert glue_module.glue("x", 3) is None
