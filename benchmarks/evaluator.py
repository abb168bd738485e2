"""The frozen evaluator's maintenance command (a clone of the repository only, not the
student package).

Usage::

    python -m benchmarks.evaluator --train    # retrain the weights, write them, print
    the new SHA-256 python -m benchmarks.evaluator --report   # the shipped weights'
    test accuracy and real-data figures
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from course_lib.data import load_mnist
from course_lib.evaluator import (
    EVALUATOR_PATH,
    EVALUATOR_SHA256,
    Evaluator,
    load_evaluator,
    save_weights,
    train_evaluator,
)
from course_lib.metrics import coverage_report, inception_score, real_data_floor
from course_lib.profiles import Budget, get_profile


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--train`` rebuilds the weights; without it, checks the shipped
    file's test accuracy.

    ``--report`` adds the real-data reference figures (:func:`print_reference_figures`).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--train", action="store_true", help="train and write the weight file"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=EVALUATOR_PATH,
        help="where --train writes the weights",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the cpu profile's epochs"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--report",
        action="store_true",
        help="also print the real-data Inception Score, coverage and Fréchet floors",
    )
    args = parser.parse_args(argv)
    test_images, test_labels = load_mnist("test")
    if args.train:
        default = get_profile("cpu").budget("evaluator")
        budget = Budget(
            args.epochs or default.epochs, default.n_train, default.batch_size
        )
        started = time.perf_counter()
        model, _ = train_evaluator(budget, seed=args.seed)
        seconds = time.perf_counter() - started
        digest = save_weights(model, args.out)
        evaluator = Evaluator(model)
        print(
            f"trained in {seconds:.0f} s; wrote {args.out} "
            f"({args.out.stat().st_size / 1e3:.0f} kB)"
        )
        print(f"SHA-256 {digest}")
        if digest != EVALUATOR_SHA256:
            print(
                "this differs from course_lib.evaluator.EVALUATOR_SHA256: paste the "
                "new value there"
            )
    else:
        evaluator = load_evaluator()
        print(f"loaded {EVALUATOR_PATH} (SHA-256 verified)")
    accuracy = evaluator.accuracy(test_images, test_labels)
    print(f"test accuracy {100 * accuracy:.2f} % on {len(test_labels)} test images")
    if args.report:
        print_reference_figures(evaluator, test_images)


def print_reference_figures(evaluator: Evaluator, test_images: torch.Tensor) -> None:
    """Print what real data scores (Inception Score, class coverage, Fréchet real-data
    floor), timed."""

    def timed(label: str, compute) -> None:
        started = time.perf_counter()
        value = compute()
        print(f"{label}: {value} ({time.perf_counter() - started:.1f} s)")

    probs = evaluator.probs(test_images)
    timed(
        "Inception Score of the test images (1 split)",
        lambda: f"{inception_score(probs):.3f}",
    )
    timed(
        "Inception Score of the test images (10 splits)",
        lambda: f"{inception_score(probs, 10):.3f}",
    )
    timed(
        "coverage of the test images",
        lambda: str(coverage_report(test_images, evaluator)),
    )
    for n in (5_000, 10_000):
        floor = f"Fréchet real-data floor, train vs test, n = {n}"
        timed(floor, lambda n=n: f"{real_data_floor(evaluator, n):.3f}")


if __name__ == "__main__":
    main()
