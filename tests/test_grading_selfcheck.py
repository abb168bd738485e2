"""Solutions earn full marks, stubs earn zero, the bug-hunts' bugs are caught, and
check() never leaks answers."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from course_grader.cases import BY_NAME, EXERCISES
from course_grader.trusted import execute_cells, grade_namespace
from course_grader.worker.cells import extract_cells
from course_lib.errors import CourseInputError
from course_lib.grading import check

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted({e.lesson for e in EXERCISES})


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Run the notebooks on one thread (as the grader does): small SVDs crawl when 2
    threads fight for a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.cache
def _namespace(folder: str, lesson: int) -> tuple[dict[str, Any], tuple[str, ...]]:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    problems = execute_cells(
        extract_cells(ROOT / folder / f"lesson{lesson}_exercises.md"), namespace
    )
    return namespace, tuple(problems)


def test_every_lesson_has_at_least_three_exercises_with_public_and_instructor_cases():
    assert LESSONS == list(range(8))
    for lesson in LESSONS:
        exercises = [e for e in EXERCISES if e.lesson == lesson]
        assert len(exercises) >= 3
        assert all(e.public and e.instructor for e in exercises)
    assert len({e.function for e in EXERCISES}) == len(EXERCISES)


@pytest.mark.parametrize("lesson", LESSONS)
def test_solutions_run_cleanly_and_earn_full_marks(lesson: int) -> None:
    namespace, problems = _namespace("solutions", lesson)
    assert problems == ()
    results = grade_namespace(namespace, [e for e in EXERCISES if e.lesson == lesson])
    assert [
        (r["name"], r["reason"]) for r in results if r["points"] != r["points_max"]
    ] == []


@pytest.mark.parametrize("lesson", LESSONS)
def test_unmodified_exercises_earn_zero_and_report_not_implemented(lesson: int) -> None:
    namespace, problems = _namespace("exercises", lesson)
    assert all("NotImplementedError" in p for p in problems)
    results = grade_namespace(namespace, [e for e in EXERCISES if e.lesson == lesson])
    assert all(r["points"] == 0 and r["reason"] == "not implemented" for r in results)


# The bugs of the bug-hunt exercises, as the notebooks show them: each must lose marks.
def _dropout_mask(
    x: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    return F.dropout(x, p)


def _rand_reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: Any = None
) -> torch.Tensor:
    std = torch.exp(0.5 * logvar)
    return mu + torch.rand(std.shape, generator=generator) * std


def _mean_vae_loss(
    logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
) -> torch.Tensor:
    recon = F.binary_cross_entropy_with_logits(logits, x)
    return recon + beta * -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def _sign_elbo(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    log_px = (
        -F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        .flatten(1)
        .sum(1)
    )
    return log_px - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def _log_sigmoid_d_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    return (
        -torch.log(torch.sigmoid(real_logits)).mean()
        - torch.log(1 - torch.sigmoid(fake_logits)).mean()
    )


def _plain_bce(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (
        F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        .flatten(1)
        .sum(1)
    )


def _positive_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


BUGS = {
    "dae_mask": _dropout_mask,
    "vae_reparam": _rand_reparameterize,
    "vae_loss": _mean_vae_loss,
    "vae_elbo": _sign_elbo,
    "gan_d_loss": _log_sigmoid_d_loss,
    "vae_grey": _plain_bce,
    "vae_kl": _positive_kl,
}


@pytest.mark.parametrize("name", list(BUGS))
def test_each_bug_hunt_bug_fails_the_public_check(
    name: str, capsys: pytest.CaptureFixture
) -> None:
    assert _checked(name, BUGS[name]) is False
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.parametrize("lesson", LESSONS)
def test_check_passes_every_solution(
    lesson: int, capsys: pytest.CaptureFixture
) -> None:
    namespace, _ = _namespace("solutions", lesson)
    for exercise in (e for e in EXERCISES if e.lesson == lesson):
        assert _checked(exercise.name, namespace[exercise.function]) is True, (
            exercise.name
        )
    assert "FAIL" not in capsys.readouterr().out


def test_check_reports_an_unimplemented_stub_without_raising(
    capsys: pytest.CaptureFixture,
) -> None:
    namespace, _ = _namespace("exercises", 3)
    assert _checked("vae_kl", namespace["gaussian_kl"]) is False
    assert "not attempted yet" in capsys.readouterr().out


def _checked(name: str, fn: Any) -> bool:
    """Run check() as a notebook cell does (it prints its report and returns None);
    return its verdict."""
    assert check(name, fn) is None
    return check(name, fn, verbose=False)


def _numbers(value: float) -> list[str]:
    return [f"{value:.{k}f}" for k in (1, 2, 3, 4)] + [f"{value:g}", repr(value)]


@pytest.mark.parametrize(
    ("name", "wrong", "answers"),
    [
        (
            "pixel_loglik",
            lambda x, p: torch.zeros(x.shape[0]),
            [784 * math.log(0.5), 784 * math.log(0.9)],
        ),
        ("gan_d_loss", lambda real, fake: (real * 0).mean() + 0.5, [2 * math.log(2.0)]),
        ("vae_kl", lambda mu, logvar: mu.sum(1) * 0 + 0.25, [1.0, 0.0]),
        (
            "vae_loss",
            lambda logits, x, mu, logvar, beta=1.0: logits.mean(),
            [784 * math.log(2.0)],
        ),
    ],
)
def test_failure_messages_name_the_case_and_a_hint_but_never_the_expected_values(
    name: str, wrong: Any, answers: list[float], capsys: pytest.CaptureFixture
) -> None:
    assert _checked(name, wrong) is False
    out = capsys.readouterr().out
    assert "FAIL" in out and "hint:" in out
    for value in answers:
        for text in _numbers(value):
            # "1.0" or "0.0" could appear in prose ("0/2 passed") legitimately
            if len(text) > 3:
                assert text not in out


def test_check_explains_wrong_shapes_and_nans(capsys: pytest.CaptureFixture) -> None:
    assert _checked("vae_kl", lambda mu, logvar: mu) is False
    # wrapped
    assert "shape (4, 3), the task asks for (4,)" in " ".join(
        capsys.readouterr().out.split()
    )
    assert _checked("vae_kl", lambda mu, logvar: mu.sum(1) * float("nan")) is False
    assert "NaN" in capsys.readouterr().out


def test_check_rejects_an_unknown_name_and_a_non_callable() -> None:
    with pytest.raises(CourseInputError, match="did you mean 'vae_kl'"):
        check("vae_kll", print)
    with pytest.raises(CourseInputError, match="pass the function itself"):
        check("vae_kl", 3.0)


def test_registry_names_are_the_keys() -> None:
    assert all(BY_NAME[e.name] is e for e in EXERCISES)


def test_the_exercise_swiss_roll_is_the_lessons_swiss_roll() -> None:
    """An independent implementation, lesson 6's prior sampler, passes every swiss-roll
    case."""
    priors = pytest.importorskip("course_lib.priors")
    results = grade_namespace(
        {
            "sample_swiss_roll": lambda n, generator=None: priors.swiss_roll_prior(
                n, generator=generator
            )[0]
        },
        [BY_NAME["aae_swiss"]],
    )
    assert results[0]["points"] == 1.0, results[0]["reason"]


def test_grades_do_not_depend_on_the_random_state_left_by_the_notebook() -> None:
    def coin_flip_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        right = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
        return right if float(torch.rand(())) < 0.5 else right * 0

    points = []
    for seed in range(6):
        # whatever the submission's cells did to the global generator
        torch.manual_seed(seed)
        points.append(
            grade_namespace({"gaussian_kl": coin_flip_kl}, [BY_NAME["vae_kl"]])[0][
                "points"
            ]
        )
    assert len(set(points)) == 1


@pytest.mark.parametrize(
    ("exercise", "module", "attribute"),
    [
        ("vae_kl", "course_lib.objectives", "kl_standard_normal"),
        ("gan_d_loss", "course_lib.gan_objectives", "discriminator_loss"),
        ("gan_hinge", "course_lib.gan_objectives", "hinge_discriminator_loss"),
        ("vae_loglik", "course_lib.objectives", "bernoulli_log_likelihood"),
        ("gan_mbd", "course_lib.gan", "MinibatchDiscrimination"),
        ("dcgan_init", "course_lib.gan", "init_dcgan_weights"),
    ],
)
def test_the_course_library_passes_the_exercise_it_teaches(
    exercise: str, module: str, attribute: str
) -> None:
    """Independent implementations (the lessons' own) earn full marks: the cases test
    the spec, not my solution."""
    function = getattr(pytest.importorskip(module), attribute)
    result = grade_namespace(
        {BY_NAME[exercise].function: function}, [BY_NAME[exercise]]
    )[0]
    assert result["points"] == 1.0, result["reason"]
