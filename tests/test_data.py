"""The embedded MNIST: exact counts and statistics, checksum, helpers, offline
torchvision errors."""

from __future__ import annotations

import shutil
import socket

import pytest
import torch

from course_lib import data
from course_lib.errors import CourseInputError, DataError

OFFICIAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
OFFICIAL_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_train_split_is_the_official_mnist():
    images, labels = data.load_mnist("train")
    assert images.shape == (60_000, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (60_000,) and labels.dtype == torch.int64
    assert torch.bincount(labels, minlength=10).tolist() == OFFICIAL_TRAIN_COUNTS
    assert images.min() == 0.0 and images.max() == 1.0
    # The well-known normalisation constants of MNIST (torchvision's
    # Normalize((0.1307,), (0.3081,))).
    assert images.mean().item() == pytest.approx(0.1307, abs=5e-5)
    assert images.std().item() == pytest.approx(0.3081, abs=5e-5)
    # Official order: the first training labels are 5, 0, 4, 1, 9, 2, 1, 3, 1, 4.
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    # Pixels are bytes / 255 exactly.
    bytes_back = images * 255
    assert torch.equal(bytes_back, bytes_back.round())


def test_test_split_is_the_official_mnist():
    images, labels = data.load_mnist("test")
    assert images.shape == (10_000, 1, 28, 28)
    assert torch.bincount(labels, minlength=10).tolist() == OFFICIAL_TEST_COUNTS
    # The first test labels of the official file are 7, 2, 1, 0, 4.
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_unknown_split_is_a_clear_error():
    with pytest.raises(CourseInputError, match="'train' or 'test'"):
        data.load_mnist("valid")


def test_corrupted_file_fails_with_a_clear_message(tmp_path):
    broken = tmp_path / "mnist.npz"
    shutil.copy(data.MNIST_PATH, broken)
    raw = bytearray(broken.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    broken.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="corrupted.*git checkout"):
        data.load_mnist("train", path=broken)


def test_missing_file_fails_with_a_clear_message(tmp_path):
    with pytest.raises(DataError, match="missing"):
        data.load_mnist("test", path=tmp_path / "absent.npz")


def test_scaling_round_trip_and_ranges():
    x = torch.tensor([0.0, 0.25, 1.0])
    assert torch.equal(data.to_signed(x), torch.tensor([-1.0, -0.5, 1.0]))
    assert torch.equal(data.to_unit(data.to_signed(x)), x)
    with pytest.raises(CourseInputError, match=r"\[0, 1\]"):
        data.to_signed(torch.tensor([-1.0, 0.5]))
    with pytest.raises(CourseInputError, match="to_signed"):
        data.to_unit(torch.tensor([0.0, 2.0]))


def test_dynamic_binarisation_is_bernoulli_with_pixel_probability():
    x = torch.full((200_000,), 0.3)
    b = data.binarise(x, generator=torch.Generator().manual_seed(0))
    assert set(b.unique().tolist()) == {0.0, 1.0}
    # Mean of 200 000 Bernoulli(0.3) draws: standard error 0.001.
    assert b.mean().item() == pytest.approx(0.3, abs=0.005)


def test_stratified_subset_balances_classes_and_keeps_order():
    images, labels = data.load_mnist("test")
    sub_x, sub_y = data.stratified_subset(images, labels, 103, seed=1)
    counts = torch.bincount(sub_y, minlength=10).tolist()
    assert sum(counts) == 103 and max(counts) - min(counts) <= 1
    again_x, again_y = data.stratified_subset(images, labels, 103, seed=1)
    assert torch.equal(sub_y, again_y) and torch.equal(sub_x, again_x)
    # Each chosen image is an image of the original set with its own label.
    index = [
        int((images.flatten(1) == row).all(1).nonzero()[0])
        for row in sub_x[:5].flatten(1)
    ]
    assert labels[index].tolist() == sub_y[:5].tolist() and index == sorted(index)
    with pytest.raises(CourseInputError, match="between 1 and"):
        data.stratified_subset(images, labels, 0)


def test_torchvision_dataset_offline_gives_one_clear_message(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network disabled for this test")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(DataError, match="could not be downloaded.*load_mnist"):
        data.load_torchvision_dataset("FashionMNIST", "test", root=tmp_path)
    with pytest.raises(CourseInputError, match="unknown dataset"):
        data.load_torchvision_dataset("ImageNet")
