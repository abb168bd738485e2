"""The training loop shared by every model family.

A recipe (``fit_vae``, ``fit_gan``, ...) writes a *step function* that takes one
mini-batch, does the optimiser step(s) and returns its losses as a dict of scalars.
:func:`train` runs it over the epochs, averages each loss over the epoch (weighted by
batch size), guards against NaN/inf, shows
progress, and calls the callbacks at the end of every epoch::

    def step(batch):
        (x,) = batch
        loss = ((model(x) - x) ** 2).mean()
        optimiser.zero_grad(); loss.backward(); optimiser.step()
        return {"loss": loss}

    history = train(step, TensorBatches(images, batch_size=128), epochs=5, name="ae")
    history["loss"]   # one value per epoch

Progress display (``COURSE_PROGRESS``): ``bar`` (tqdm, a widget in Jupyter/Colab),
``plain`` (one summary line per run: the default when not interactive, and what CI and
the book build set) or ``off``; see :func:`progress_mode`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch

from course_lib.errors import CourseInputError, TrainingDiverged

StepFn = Callable[[tuple[torch.Tensor, ...]], Mapping[str, "float | torch.Tensor"]]


class History:
    """Per-epoch values of every loss and metric, plus optional image snapshots.

    Attributes:
        values: name -> list with one float per epoch (``history["loss"]`` reads it).
        snapshots: tensors saved by callbacks, e.g. one fixed-noise sample grid per
            epoch, each ``(n, C, H, W)`` on the CPU.
    """

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}
        self.snapshots: list[torch.Tensor] = []

    def log(self, **values: float) -> None:
        """Append one value per name (call once per epoch per name)."""
        for key, value in values.items():
            self.values.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.values:
            known = ", ".join(self.values) or "nothing yet"
            raise KeyError(f"history has no {key!r}; it has: {known}")
        return self.values[key]

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def keys(self) -> list[str]:
        """Names of the recorded series."""
        return list(self.values)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded (length of the longest series)."""
        return max((len(v) for v in self.values.values()), default=0)

    def last(self, key: str) -> float:
        """The value of ``key`` at the last epoch."""
        return self[key][-1]

    def mean(self, key: str) -> float:
        """The mean of ``key`` over the recorded epochs, e.g.
        ``history.mean("examples_per_second")``."""
        values = self[key]
        return sum(values) / len(values)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of lists and tensors (safe for
        ``torch.load(weights_only=True)``)."""
        return {
            "values": {k: list(v) for k, v in self.values.items()},
            "snapshots": list(self.snapshots),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Inverse of :meth:`to_dict`."""
        history = cls()
        history.values = {k: [float(x) for x in v] for k, v in data["values"].items()}
        history.snapshots = list(data.get("snapshots", []))
        return history

    def __repr__(self) -> str:
        series = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.values.items() if v)
        return f"History({self.epochs} epochs: {series})"


Callback = Callable[[int, History], None]


class ImageSnapshot:
    """Callback that stores ``make_images()`` in ``history.snapshots`` after every
    epoch.

    Args:
        make_images: returns a ``(n, C, H, W)`` tensor, e.g. the generator applied to
            fixed noise. It is called under ``torch.no_grad()``; put models in eval mode
            inside it if needed.
    """

    def __init__(self, make_images: Callable[[], torch.Tensor]) -> None:
        self.make_images = make_images

    def __call__(self, epoch: int, history: History) -> None:
        with torch.no_grad():
            history.snapshots.append(self.make_images().detach().cpu())


def progress_mode() -> str:
    """``bar``, ``plain`` or ``off``, from ``COURSE_PROGRESS`` or from whether the
    session is interactive.

    * ``bar``: a tqdm progress bar (a widget in Jupyter and Colab), the default in a
      live session;
    * ``plain``: one summary line per training run (:func:`summary_line`), the default
      elsewhere and what the book build, nbval and CI set, so a page shows no per-epoch
      lines and no timings;
    * ``off``: nothing.
    """
    mode = os.environ.get("COURSE_PROGRESS", "").strip().lower()
    if mode:
        if mode not in ("bar", "plain", "off"):
            raise CourseInputError(
                f"COURSE_PROGRESS must be bar, plain or off, got {mode!r}"
            )
        return mode
    if os.environ.get("CI"):
        return "plain"
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    return "bar" if interactive else "plain"


TIMING_KEYS = ("seconds", "examples_per_second")


def summary_line(name: str, history: History) -> str:
    """One line for a finished run: ``"vae: 10 epochs, loss 103.9, kl 25.1"`` (last
    epoch's values).

    It is computed from the stored history only, so a model trained now and the same
    model loaded from the checkpoint cache print the same line. Timings are left out
    (they differ from run to run and machine to machine).
    """
    shown = ", ".join(
        f"{k} {v[-1]:.4g}"
        for k, v in history.values.items()
        if v and k not in TIMING_KEYS
    )
    epochs = f"{history.epochs} epoch" + ("" if history.epochs == 1 else "s")
    return f"{name}: {epochs}" + (f", {shown}" if shown else "")


class _EpochLosses:
    """The losses of one epoch, kept where the step returned them and read once, at the
    end.

    Reading a GPU tensor (``float(loss)``) waits for the device to finish; doing it once
    per epoch instead of once per batch keeps the device busy.
    """

    def __init__(self) -> None:
        self.tensors: dict[str, list[torch.Tensor]] = {}
        self.numbers: dict[str, list[float]] = {}
        self.sizes: list[int] = []

    def add(self, losses: Mapping[str, float | torch.Tensor], n: int) -> None:
        for key, value in losses.items():
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    raise CourseInputError(
                        f"the step function returned {key!r} with shape "
                        f"{tuple(value.shape)}; "
                        "return a scalar (e.g. loss.mean())"
                    )
                self.tensors.setdefault(key, []).append(value.detach().reshape(()))
            else:
                self.numbers.setdefault(key, []).append(float(value))
        self.sizes.append(n)

    def read(self) -> dict[str, list[float]]:
        """Per-batch values of every loss: one device-to-host copy for all tensor-valued
        losses."""
        values = {key: list(v) for key, v in self.numbers.items()}
        if self.tensors:
            keys = list(self.tensors)
            try:
                table = torch.stack(
                    [torch.stack(self.tensors[k]).float() for k in keys]
                ).tolist()
            # losses on different devices, or missing in some batches
            except RuntimeError:
                table = [torch.stack(self.tensors[k]).float().tolist() for k in keys]
            values.update(zip(keys, table))
        return values


def train(
    step: StepFn,
    batches: Iterable[tuple[torch.Tensor, ...]],
    epochs: int,
    *,
    name: str = "training",
    callbacks: Sequence[Callback] = (),
    history: History | None = None,
) -> History:
    """Run ``step`` over every batch for ``epochs`` epochs and return the per-epoch
    history.

    The losses stay on the device during an epoch and are read once at its end (no
    ``float()`` per batch); the NaN guard then names the first bad batch.

    Args:
        step: takes one batch (a tuple of tensors) and returns ``{loss_name: scalar}``.
        batches: re-iterable batches, e.g. :class:`course_lib.batches.TensorBatches`.
        epochs: number of passes (at least 1).
        name: shown in progress output and error messages.
        callbacks: called as ``callback(epoch, history)`` after each epoch (epoch counts
            from 1).
        history: continue an existing history instead of starting a new one.

    Returns:
        The :class:`History`: each loss averaged over the epoch (weighted by batch
        size), and ``seconds`` (wall time of the epoch) and ``examples_per_second``.

    Raises:
        TrainingDiverged: at the end of an epoch in which a loss was NaN or infinite,
            naming the loss, the epoch and the first bad batch.
    """
    if epochs < 1:
        raise CourseInputError(f"epochs must be at least 1, got {epochs}")
    history = history if history is not None else History()
    mode = progress_mode()
    bar = None
    if mode == "bar":
        from tqdm.auto import tqdm

        sized = hasattr(batches, "__len__")
        total = epochs * len(batches) if sized else None  # type: ignore[arg-type]
        bar = tqdm(total=total, desc=name, leave=True)
    start_epoch = history.epochs
    try:
        for epoch in range(start_epoch + 1, start_epoch + epochs + 1):
            started = time.perf_counter()
            losses = _EpochLosses()
            for batch in batches:
                losses.add(step(batch), len(batch[0]))
                if bar is not None:
                    bar.update(1)
            seen = sum(losses.sizes)
            if seen == 0:
                raise CourseInputError(
                    f"{name}: the batches are empty; check the dataset size and "
                    "batch_size"
                )
            means = {}
            for key, values in losses.read().items():
                bad = next(
                    (i for i, v in enumerate(values, start=1) if not math.isfinite(v)),
                    None,
                )
                if bad is not None:
                    raise TrainingDiverged(
                        f"{name}: loss {key!r} became {values[bad - 1]} at epoch "
                        f"{epoch}, batch {bad}. "
                        "Lower the learning rate, check the input value range, or "
                        "clip gradients."
                    )
                means[key] = (
                    math.fsum(v * n for v, n in zip(values, losses.sizes)) / seen
                )
            seconds = time.perf_counter() - started
            history.log(**means, seconds=seconds, examples_per_second=seen / seconds)
            for callback in callbacks:
                callback(epoch, history)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4g}" for k, v in means.items()})
    finally:
        if bar is not None:
            bar.close()
    if mode == "plain":
        print(summary_line(name, history), flush=True)
    return history
