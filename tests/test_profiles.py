"""Run profiles and setup(): names, automatic choice, clear errors, seeding, devices."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import course_lib
from course_lib.errors import DeviceError, ProfileError
from course_lib.profiles import PROFILES, get_profile
from course_lib.settings import pick_device


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    assert get_profile().name == "smoke"
    monkeypatch.setenv("COURSE_PROFILE", " GPU ")
    assert get_profile().name == "gpu"


def test_automatic_profile_follows_cuda(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert get_profile(cuda_available=True).name == "gpu"
    assert get_profile(cuda_available=False).name == "cpu"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    with pytest.raises(
        ProfileError, match="unknown run profile 'fast'.*smoke, cpu, gpu"
    ):
        get_profile()


def test_budgets_grow_from_smoke_to_gpu():
    for recipe in PROFILES["smoke"].budgets:
        smoke, cpu, gpu = (PROFILES[p].budget(recipe) for p in ("smoke", "cpu", "gpu"))
        assert smoke.epochs <= cpu.epochs <= gpu.epochs
        size = [
            b.n_train if b.n_train is not None else 60_000 for b in (smoke, cpu, gpu)
        ]
        assert size == sorted(size)
    with pytest.raises(ProfileError, match="no budget named 'transformer'"):
        PROFILES["cpu"].budget("transformer")


def test_setup_seeds_python_numpy_and_torch(capsys):
    course_lib.setup(seed=123, profile="smoke", device="cpu")
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    settings = course_lib.setup(seed=123, profile="smoke", device="cpu")
    second = (random.random(), np.random.rand(), torch.rand(1).item())
    assert first == second
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert (
        "device cpu" in line and "profile smoke" in line and torch.__version__ in line
    )
    assert settings.profile.name == "smoke" and settings.device.type == "cpu"


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the error on a machine without CUDA"
)
def test_asking_for_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(DeviceError, match="no CUDA GPU.*Unset COURSE_DEVICE"):
        pick_device()
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        pick_device("tpu")
