"""The frozen evaluator: checksum, loading, accuracy, input checks, the training
recipe."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from course_lib.data import load_mnist, to_signed
from course_lib.errors import CourseInputError, DataError
from course_lib.evaluator import (
    EVALUATOR_PATH,
    EVALUATOR_SHA256,
    Evaluator,
    MnistClassifier,
    file_sha256,
    load_evaluator,
    train_evaluator,
)
from course_lib.metrics import (
    coverage_report,
    frechet_distance_images,
    inception_score,
    real_data_floor,
)
from course_lib.profiles import Budget
from course_lib.settings import seed_everything


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return load_evaluator("cpu")


@pytest.fixture(scope="module")
def test_slice() -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_mnist("test")
    return images[:1000], labels[:1000]


def test_shipped_weights_match_their_checksum_and_are_small() -> None:
    assert file_sha256(EVALUATOR_PATH) == EVALUATOR_SHA256
    assert EVALUATOR_PATH.stat().st_size < 1_000_000


def test_a_corrupted_copy_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    copy = tmp_path / "evaluator.pt"
    shutil.copy(EVALUATOR_PATH, copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupted.*git checkout"):
        load_evaluator(path=copy)


def test_a_missing_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing.*--train"):
        load_evaluator(path=tmp_path / "nothing.pt")


def test_accuracy_on_1000_test_images_is_at_least_98_5_percent(
    evaluator, test_slice
) -> None:
    images, labels = test_slice
    assert evaluator.accuracy(images, labels) >= 0.985


def test_output_shapes_and_ranges(evaluator, test_slice) -> None:
    images = test_slice[0][:37]
    probs = evaluator.probs(images)
    assert probs.shape == (37, 10)
    assert torch.allclose(probs.sum(1), torch.ones(37), atol=1e-5)
    features = evaluator.features(images)
    assert features.shape == (37, 128) and bool((features >= 0).all())
    assert evaluator.predict(images).dtype == torch.int64


def test_signed_images_are_rejected_unless_declared(evaluator, test_slice) -> None:
    images = test_slice[0][:20]
    with pytest.raises(CourseInputError, match="to_unit"):
        evaluator.probs(to_signed(images))
    assert torch.allclose(
        evaluator.logits(to_signed(images), signed=True),
        evaluator.logits(images),
        atol=1e-5,
    )


def test_wrong_shape_is_rejected(evaluator) -> None:
    with pytest.raises(CourseInputError, match="shape"):
        evaluator.probs(torch.rand(5, 784))


def test_real_test_images_cover_every_class_and_score_high(
    evaluator, test_slice
) -> None:
    images, _ = test_slice
    report = coverage_report(images, evaluator)
    assert report.covered == 10 and report.kl_uniform < 0.02
    assert inception_score(evaluator.probs(images)) > 9.3


def test_real_data_floor_is_far_below_noise(evaluator, test_slice) -> None:
    floor = real_data_floor(evaluator, n=500)
    noise = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert (
        0 < floor < 0.1 * frechet_distance_images(noise, test_slice[0][:500], evaluator)
    )


def test_training_recipe_is_reproducible_and_updates_the_weights() -> None:
    budget = Budget(epochs=1, n_train=200, batch_size=50)
    first, history = train_evaluator(budget, seed=3)
    second, _ = train_evaluator(budget, seed=3)
    seed_everything(3)
    # the initial weights train_evaluator(seed=3) starts from
    untrained = MnistClassifier()
    for name, weight in first.state_dict().items():
        assert torch.equal(weight, second.state_dict()[name]), name
        assert not torch.equal(weight, untrained.state_dict()[name]), name
    assert history.epochs == 1 and 0 < history.last("loss") < 2.5


def test_floor_reference_is_the_floors_random_draw_not_the_first_images() -> None:
    """The reference shares the floor's draw (same seed, same images) and is a random
    sample of the test set, not its first images."""
    from course_lib.data import load_mnist
    from course_lib.metrics import floor_reference

    test_images, _ = load_mnist("test")
    reference = floor_reference(500, seed=0)
    assert reference.shape == (500, 1, 28, 28)
    assert torch.equal(reference, floor_reference(500, seed=0))
    assert not torch.equal(reference, test_images[:500])
    # every reference image is a test image
    flat = test_images.flatten(1)
    for image in reference[:5]:
        assert (flat == image.flatten()).all(dim=1).any()
    with pytest.raises(CourseInputError, match="between 2 and 10 000"):
        floor_reference(1)
