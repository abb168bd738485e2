"""``setup()``: seed everything, pick the device and the run profile, say what was
chosen."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.errors import DeviceError
from course_lib.profiles import Profile, get_profile


@dataclass(frozen=True)
class Settings:
    """What :func:`setup` chose.

    Attributes:
        device: where models and data go (``cuda``, ``mps`` or ``cpu``).
        profile: the run profile with every training budget.
        seed: the seed given to Python, NumPy and torch.
        torch_version: ``torch.__version__``.
    """

    device: torch.device
    profile: Profile
    seed: int
    torch_version: str

    def describe(self) -> str:
        """One line: device, profile, torch version and seed."""
        name = self.device.type
        if self.device.type == "cuda":
            name = f"cuda ({torch.cuda.get_device_name(self.device)})"
        return (
            f"course_lib: device {name}, profile {self.profile.name}, torch "
            f"{self.torch_version}, seed {self.seed}"
        )


def pick_device(name: str | None = None) -> torch.device:
    """Return the device: ``name`` or ``COURSE_DEVICE`` if given, else cuda, then mps,
    then cpu.

    Raises:
        DeviceError: when the named device is not available here, saying what to do
            instead.
    """
    name = (name or os.environ.get("COURSE_DEVICE", "")).strip().lower() or None
    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if (
            getattr(torch.backends, "mps", None) is not None
            and torch.backends.mps.is_available()
        ):
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(
            f"device {name!r} was asked for, but this machine has no CUDA GPU (or "
            "this torch build has no CUDA). "
            "Unset COURSE_DEVICE to run on the CPU, or in Colab choose Runtime > "
            "Change runtime type > GPU."
        )
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise DeviceError(
            "device 'mps' was asked for, but Apple's Metal backend is not available; "
            "unset COURSE_DEVICE"
        )
    if not (name == "cpu" or name == "mps" or name.startswith("cuda")):
        raise DeviceError(f"unknown device {name!r}; use cpu, cuda, cuda:N or mps")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(
    seed: int = 0,
    *,
    profile: str | None = None,
    device: str | None = None,
    quiet: bool = False,
) -> Settings:
    """Seed everything, pick device and run profile, print one line, and return the
    :class:`Settings`.

    Args:
        seed: seed for Python, NumPy and torch.
        profile: ``smoke``, ``cpu`` or ``gpu``; default from ``COURSE_PROFILE`` or
            automatic.
        device: ``cpu``, ``cuda`` or ``mps``; default from ``COURSE_DEVICE`` or
            automatic.
        quiet: do not print the summary line.
    """
    chosen_device = pick_device(device)
    chosen_profile = get_profile(profile, cuda_available=chosen_device.type == "cuda")
    seed_everything(seed)
    settings = Settings(chosen_device, chosen_profile, seed, torch.__version__)
    if not quiet:
        print(settings.describe())
    return settings
