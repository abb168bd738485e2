"""The shared vocabulary of the grading tools: an :class:`Exercise` is a function name
plus test cases.

A :class:`Case` calls the student's function on fixed inputs and raises
:class:`CaseFailed` with a message that says *what* is wrong (a shape, a NaN, a property
that does not hold) but never the expected values. :func:`run_case` turns any outcome
(pass, failure, an exception, an unimplemented stub) into a :class:`CaseResult` that
students (:func:`course_lib.grading.check`) and the instructor grader (``course-grade``)
both print.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

MESSAGE_LIMIT = 300


class CaseFailed(AssertionError):
    """A test case found wrong behaviour; the message says what is wrong, never the
    right answer."""


class CaseStopped(Exception):
    """The function could not finish the case (a time limit, or its sandbox ended); the
    message says which.

    Raised by the instructor's grader, whose stand-in for the student's function runs it
    in a sandbox.
    """


@dataclass(frozen=True)
class Case:
    """One behavioural test of a student function.

    Attributes:
        description: what the case tries, in words ("zero mean and unit variance give
            zero KL").
        run: calls the student's function (its only argument) and raises
            :class:`CaseFailed`.
        hint: printed when the case fails (a nudge, never the answer).
    """

    description: str
    run: Callable[[Callable[..., Any]], None]
    hint: str = ""


@dataclass(frozen=True)
class Exercise:
    """An exercise: the name students pass to ``check``, the function it grades, and its
    cases.

    Attributes:
        name: the key (``"vae_kl"``), used by ``check(name, fn)`` and as the
            ``grades.csv`` column.
        lesson: the lesson number (0-7).
        function: the name the submission must define (``"gaussian_kl"``).
        title: one line describing the task.
        public: cases that ``check`` runs in the notebook (also graded).
        instructor: further cases only the grader runs.
        points: marks for passing every case; partial credit is proportional to cases
            passed.
    """

    name: str
    lesson: int
    function: str
    title: str
    public: tuple[Case, ...]
    instructor: tuple[Case, ...] = field(default=())
    points: float = 1.0

    def all_cases(self) -> tuple[Case, ...]:
        """Public cases first, then the instructor's."""
        return self.public + self.instructor


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: ``passed``, and otherwise a ``message`` safe to show
    students."""

    description: str
    passed: bool
    message: str = ""
    hint: str = ""
    not_implemented: bool = False


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def run_case(case: Case, fn: Callable[..., Any]) -> CaseResult:
    """Run one case on ``fn`` and describe the outcome without revealing expected
    values.

    Exceptions raised by the student's code are reported by type and (truncated)
    message; ``NotImplementedError`` is reported as "not implemented yet".
    ``KeyboardInterrupt`` and other ``BaseException`` s that are not ``SystemExit``
    propagate (so a time limit can stop a case).
    """
    try:
        case.run(fn)
    except (CaseFailed, CaseStopped) as failure:
        return CaseResult(case.description, False, _short(str(failure)), case.hint)
    except NotImplementedError as stub:
        detail = f" ({_short(str(stub))})" if str(stub) else ""
        return CaseResult(
            case.description, False, f"not implemented yet{detail}", case.hint, True
        )
    except SystemExit as stop:
        return CaseResult(
            case.description,
            False,
            f"the function called sys.exit({stop.code!r})",
            case.hint,
        )
    except Exception as error:  # the student's own exception: show it, it is their code
        return CaseResult(
            case.description,
            False,
            f"raised {type(error).__name__}: {_short(str(error))}",
            case.hint,
        )
    return CaseResult(case.description, True)


# --------------------------------------------------------------------------------------
# Assertions for cases. Each raises CaseFailed with a message that names the property,
# not values.
# --------------------------------------------------------------------------------------


def _shape_text(shape: Sequence[int]) -> str:
    return (
        "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    )


def expect_tensor(
    out: object, shape: Sequence[int] | None = None, what: str = "the return value"
) -> torch.Tensor:
    """Require a finite floating tensor of ``shape`` (the shape is part of the task, so
    it may be named)."""
    if isinstance(out, tuple) and len(out) == 1 and isinstance(out[0], torch.Tensor):
        raise CaseFailed(
            f"{what} is a 1-tuple holding a tensor; return the tensor itself (check "
            "for a stray comma)"
        )
    if not isinstance(out, torch.Tensor):
        raise CaseFailed(f"{what} should be a torch.Tensor, got {type(out).__name__}")
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise CaseFailed(
            f"{what} has shape {_shape_text(tuple(out.shape))}, the task asks for "
            f"{_shape_text(shape)}"
        )
    if out.is_floating_point() and not bool(torch.isfinite(out).all()):
        raise CaseFailed(f"{what} contains NaN or infinite values")
    return out


def expect_close(
    out: torch.Tensor,
    reference: torch.Tensor,
    what: str = "the values",
    *,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> None:
    """Require ``out`` to match ``reference``; the message never prints
    ``reference``."""
    expect_tensor(out, tuple(reference.shape))
    if not torch.allclose(
        out.detach().double(), reference.detach().double(), rtol=rtol, atol=atol
    ):
        raise CaseFailed(f"{what} are not correct")


def expect_scalar(out: object, what: str = "the return value") -> float:
    """Require a 0-dimensional tensor (or a Python number) that is finite; return it as
    a float."""
    if isinstance(out, torch.Tensor):
        if out.dim() != 0:
            raise CaseFailed(
                f"{what} should be a scalar (0-dim tensor), got shape "
                f"{_shape_text(tuple(out.shape))}; "
                "did you forget to reduce over the batch?"
            )
        value = float(out.detach())
    elif isinstance(out, (int, float)) and not isinstance(out, bool):
        value = float(out)
    else:
        raise CaseFailed(f"{what} should be a scalar tensor, got {type(out).__name__}")
    if not math.isfinite(value):
        raise CaseFailed(f"{what} is NaN or infinite")
    return value


def expect_true(condition: bool, message: str) -> None:
    """Raise :class:`CaseFailed` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CaseFailed(message)


def seeded(seed: int) -> torch.Generator:
    """A CPU generator with a fixed seed, so every case uses the same inputs every
    run."""
    return torch.Generator().manual_seed(seed)


def unchanged_inputs(*tensors: torch.Tensor) -> Callable[[], None]:
    """Snapshot tensors; calling the result raises :class:`CaseFailed` if any was
    modified in place."""
    copies = [t.detach().clone() for t in tensors]

    def verify() -> None:
        for original, copy in zip(tensors, copies):
            if not torch.equal(original.detach(), copy):
                raise CaseFailed(
                    "the function modified its input tensor in place; work on a copy "
                    "instead"
                )

    return verify
