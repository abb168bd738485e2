"""The checkpoint cache: a hit loads identical weights, any config change misses, files
are safe."""

from __future__ import annotations

import torch
from torch import nn

from course_lib.cache import cache_dir, cached_training
from course_lib.training import History, summary_line


def _trainer(calls: list[int]):
    def train_fn(model: nn.Module) -> History:
        calls.append(1)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        history = History()
        history.log(loss=0.5)
        return history

    return train_fn


def test_hit_miss_and_invalidation(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    calls: list[int] = []
    config = {"hidden": 8, "lr": 1e-3, "profile": "smoke"}

    torch.manual_seed(0)
    first, history, hit = cached_training(
        "toy", config, nn.Linear(4, 8), _trainer(calls)
    )
    assert not hit and len(calls) == 1 and history["loss"] == [0.5]

    # a differently initialised model: a hit must replace its weights
    torch.manual_seed(1)
    second, history2, hit2 = cached_training(
        "toy", config, nn.Linear(4, 8), _trainer(calls)
    )
    assert hit2 and len(calls) == 1 and history2["loss"] == [0.5]
    assert torch.equal(first.weight, second.weight)

    changed = dict(config, lr=2e-3)
    _, _, hit3 = cached_training("toy", changed, nn.Linear(4, 8), _trainer(calls))
    assert not hit3 and len(calls) == 2
    _, _, hit4 = cached_training(
        "toy-other-name", config, nn.Linear(4, 8), _trainer(calls)
    )
    assert not hit4 and len(calls) == 3


def test_a_hit_prints_the_training_line_and_is_logged_only_in_the_hits_file(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_PROGRESS", "plain")
    hits = tmp_path / "hits.txt"
    monkeypatch.setenv("COURSE_CACHE_HITS", str(hits))

    def train_fn(model: nn.Module) -> History:
        history = History()
        history.log(loss=0.25, kl=3.0)
        print(summary_line("toy", history))
        return history

    cached_training("toy", {"a": 1}, nn.Linear(2, 2), train_fn)
    trained = capsys.readouterr().out
    assert trained == "toy: 1 epoch, loss 0.25, kl 3\n" and not hits.exists()
    cached_training("toy", {"a": 1}, nn.Linear(2, 2), train_fn)
    cached_training("toy", {"a": 1}, nn.Linear(2, 2), train_fn)
    assert capsys.readouterr().out == 2 * trained
    assert hits.read_text() == "toy\ntoy\n"


def test_files_load_with_weights_only(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    cached_training("toy", {"a": (1, 2)}, nn.Linear(2, 2), _trainer([]))
    (path,) = tmp_path.glob("toy-*.pt")
    stored = torch.load(path, weights_only=True)
    assert set(stored) == {"state_dict", "history", "config"} and stored["config"] == {
        "a": [1, 2]
    }


def test_a_broken_file_is_retrained_and_cache_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    calls: list[int] = []
    cached_training("toy", {}, nn.Linear(2, 2), _trainer(calls))
    (path,) = tmp_path.glob("toy-*.pt")
    path.write_bytes(b"not a checkpoint")
    _, _, hit = cached_training("toy", {}, nn.Linear(2, 2), _trainer(calls))
    assert not hit and len(calls) == 2

    monkeypatch.setenv("COURSE_CACHE", "off")
    _, _, hit = cached_training("toy", {}, nn.Linear(2, 2), _trainer(calls))
    assert not hit and len(calls) == 3


def test_describe_data_tells_different_data_apart():
    from course_lib.cache import describe_data

    x = torch.zeros(1000, 4)
    y = x.clone()
    y[999, 3] = 1.0  # one value changed: the sum differs
    z = torch.zeros(2000, 2)  # same values, other shape
    described = [describe_data(t) for t in (x, y, z)]
    assert described[0] == describe_data(x.clone())
    assert len({str(d) for d in described}) == 3
    assert described[0]["shape"] == [1000, 4]
