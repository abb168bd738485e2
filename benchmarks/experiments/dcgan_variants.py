"""What moves the DCGAN's sample scores on a CPU: width, learning rates, an EMA of the
generator.

Not part of the benchmark: the experiments behind the "what was tried" notes in
``benchmarks/README.md``. It trains ``course_lib.gan.DCGenerator`` / ``DCDiscriminator``
with the course's own step (``course_lib.gan.adversarial_step``, non-saturating loss,
Adam with beta1 = 0.5) on all 60 000 training digits, and every ``--every`` epochs
scores 5 000 samples with the frozen evaluator (class shares, KL to uniform, Inception
Score, Fréchet distance and its ratio to the real-data floor), both for the generator
and for an exponential moving average (EMA) of its weights.

The averaged generator's BatchNorm statistics are measured afresh for its own weights
before it is scored (:func:`recompute_batchnorm`).

Usage (the runs quoted in benchmarks/README.md)::

    # the course's widths
    python benchmarks/experiments/dcgan_variants.py --epochs 4
    # a wider discriminator
    python benchmarks/experiments/dcgan_variants.py --epochs 4 --ndf 64
    # the course's widths, long
    python benchmarks/experiments/dcgan_variants.py --epochs 80 --every 5
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

import course_lib
from course_lib import gan, metrics
from course_lib.data import load_mnist, to_signed, to_unit
from course_lib.evaluator import load_evaluator

N_SAMPLES = 5000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--ngf", type=int, default=32, help="generator width (course default 32)"
    )
    parser.add_argument(
        "--ndf", type=int, default=32, help="discriminator width (course default 32)"
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument(
        "--lr", type=float, default=2e-4, help="generator learning rate"
    )
    parser.add_argument(
        "--lr-discriminator", type=float, default=None, help="default: --lr"
    )
    parser.add_argument(
        "--ema", type=float, default=0.999, help="decay of the weight average"
    )
    parser.add_argument(
        "--every", type=int, default=1, help="score every this many epochs"
    )
    return parser.parse_args()


def recompute_batchnorm(model: torch.nn.Module, noise: torch.Tensor) -> None:
    """Set the BatchNorm running statistics of ``model`` (a generator) to the exact mean
    and variance of its own activations over ``noise`` ``(N, latent_dim)``.

    The averaged generator needs its own statistics: its weights are an average over
    past generators, so the activations they produce differ from the live generator's,
    and neither the live generator's running statistics (what this script once copied)
    nor an average of those (statistics of past weights, each mixed with older ones by
    BatchNorm's momentum) describe them. One pass in train mode with ``momentum=None``
    (a cumulative average over the batches) measures them; the weights do not change.
    """
    norms = [
        m
        for m in model.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for chunk in noise.split(500):
            model(chunk)
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    model.eval()


def main() -> None:
    args = parse_args()
    course_lib.setup(seed=0, profile="cpu", device="cpu")
    train_images, _ = load_mnist("train")
    test_images, _ = load_mnist("test")
    real = to_signed(train_images)  # (60000, 1, 28, 28) in [-1, 1]
    generator, discriminator = (
        gan.DCGenerator(ngf=args.ngf),
        gan.DCDiscriminator(ndf=args.ndf),
    )
    averaged = copy.deepcopy(generator).requires_grad_(False)
    opt_g = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(
        discriminator.parameters(),
        lr=args.lr_discriminator or args.lr,
        betas=(0.5, 0.999),
    )

    evaluator = load_evaluator("cpu")
    reference = test_images[:N_SAMPLES]
    floor = metrics.real_data_floor(evaluator, N_SAMPLES, seed=0)
    noise = torch.randn(
        N_SAMPLES, generator.latent_dim, generator=torch.Generator().manual_seed(123)
    )
    # other noise for the averaged generator's BatchNorm statistics
    statistics_noise = torch.randn(
        N_SAMPLES, generator.latent_dim, generator=torch.Generator().manual_seed(321)
    )

    def score(model: torch.nn.Module, label: str) -> None:
        with torch.no_grad():
            model.eval()
            # [0, 1]
            samples = to_unit(torch.cat([model(chunk) for chunk in noise.split(500)]))
            model.train()
        report = metrics.coverage_report(samples, evaluator)
        inception = metrics.inception_score(evaluator.probs(samples))
        frechet = metrics.frechet_distance_images(samples, reference, evaluator)
        print(
            f"  {label}: shares {report.min_share:.3f}-{report.max_share:.3f} KL "
            f"{report.kl_uniform:.3f} "
            f"IS {inception:.2f} FD {frechet:.2f} ({frechet / floor:.1f} x floor "
            f"{floor:.2f})",
            flush=True,
        )

    torch.manual_seed(0)
    start, steps = time.time(), 0
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(real.shape[0])
        for first in range(0, real.shape[0] - args.batch + 1, args.batch):
            x = real[order[first : first + args.batch]]
            z = torch.randn(args.batch, generator.latent_dim)
            gan.adversarial_step(generator, discriminator, opt_g, opt_d, x, z)
            steps += 1
            # a short average early on
            decay = min(args.ema, (1 + steps) / (10 + steps))
            with torch.no_grad():
                for mean, weight in zip(averaged.parameters(), generator.parameters()):
                    mean.lerp_(weight, 1 - decay)
        print(f"epoch {epoch} ({time.time() - start:.0f} s)", flush=True)
        if epoch % args.every == 0 or epoch == args.epochs:
            score(generator, "generator")
            recompute_batchnorm(averaged, statistics_noise)
            score(averaged, "EMA of the generator")


if __name__ == "__main__":
    main()
