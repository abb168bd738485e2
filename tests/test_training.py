"""The shared training loop: per-epoch averages, callbacks, NaN guard, determinism."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.batches import TensorBatches
from course_lib.errors import TrainingDiverged
from course_lib.settings import seed_everything
from course_lib.training import History, ImageSnapshot, train


def test_epoch_value_is_the_batch_size_weighted_mean():
    x = torch.arange(10).float()
    batches = TensorBatches(x, batch_size=4, shuffle=False)  # batches of 4, 4, 2
    history = train(lambda batch: {"value": batch[0].mean()}, batches, epochs=2)
    # The weighted mean of per-batch means is the mean over all examples: 4.5.
    assert history["value"] == pytest.approx([4.5, 4.5])
    assert len(history["seconds"]) == 2 and history.epochs == 2


def _fit_linear_regression(seed: int) -> list[float]:
    seed_everything(seed)
    x = torch.randn(256, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(256)
    model = nn.Linear(3, 1)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(batch):
        inputs, targets = batch
        loss = ((model(inputs).squeeze(1) - targets) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        return {"loss": loss}

    return train(step, TensorBatches(x, y, batch_size=32), epochs=5)["loss"]


def test_training_learns_and_two_runs_with_one_seed_are_identical():
    first, second = _fit_linear_regression(0), _fit_linear_regression(0)
    assert first == second
    assert first[-1] < 0.05 < first[0]
    assert _fit_linear_regression(1) != first


def test_nan_guard_names_the_loss_and_the_epoch():
    calls = {"n": 0}

    def step(batch):
        calls["n"] += 1
        return {
            "recon": torch.tensor(float("nan"))
            if calls["n"] == 5
            else torch.tensor(1.0)
        }

    # 4 batches per epoch
    batches = TensorBatches(torch.zeros(12), batch_size=3, shuffle=False)
    with pytest.raises(
        TrainingDiverged, match=r"'recon' became nan at epoch 2, batch 1"
    ):
        train(step, batches, epochs=3)


def test_callbacks_run_after_every_epoch_and_snapshots_are_stored():
    seen = []
    snapshot = ImageSnapshot(lambda: torch.ones(2, 1, 4, 4))
    history = train(
        lambda b: {"loss": 0.0},
        TensorBatches(torch.zeros(4), batch_size=2),
        epochs=3,
        callbacks=[lambda epoch, h: seen.append(epoch), snapshot],
    )
    assert seen == [1, 2, 3]
    assert len(history.snapshots) == 3 and history.snapshots[0].shape == (2, 1, 4, 4)


def test_history_round_trips_through_a_plain_dict():
    history = History()
    history.log(loss=1.5, kl=0.25)
    history.snapshots.append(torch.zeros(1, 1, 2, 2))
    again = History.from_dict(history.to_dict())
    assert (
        again["loss"] == [1.5] and again["kl"] == [0.25] and len(again.snapshots) == 1
    )
    with pytest.raises(KeyError, match="has no 'accuracy'"):
        again["accuracy"]


def test_history_mean_is_the_average_over_epochs():
    history = History()
    for value in (1.0, 2.0, 6.0):
        history.log(examples_per_second=value)
    assert history.mean("examples_per_second") == 3.0
    with pytest.raises(KeyError, match="has no 'loss'"):
        history.mean("loss")
