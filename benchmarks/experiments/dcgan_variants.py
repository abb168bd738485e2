"""What moves the DCGAN's sample scores on a CPU: the generator's depth and width, the
discriminator's width and regularisation (dropout, spectral normalisation, the R1
penalty), the loss, learning rates, label smoothing, an EMA.

Not part of the benchmark: the experiment behind the generator's two stride-1 ``3x3``
convolutions (``course_lib.gan.DCGenerator``) and the notes in ``benchmarks/README.md``.
It trains a generator with ``--extra`` 0, 1 or 2 stride-1 ``3x3`` layers (0: the plain
three-layer recipe the course used before; 1: one at ``14x14``; 2: one at ``7x7`` and
one at ``14x14``, the library's ``DCGenerator``) against the library's
``DCDiscriminator`` (or, with ``--d-dropout``, a discriminator without BatchNorm and
with dropout after each activation, as in the TensorFlow DCGAN tutorial), with the
non-saturating loss (``--loss hinge``: SNGAN's hinge), with ``--r1`` gamma the R1
penalty ``gamma / 2 * mean ||grad_x l(x)||^2`` on the real batch, and Adam(``--lr``,
beta1 = 0.5), batch ``--batch`` (16), on all
60 000 training digits. Every ``--every`` epochs it scores 5 000 samples with the frozen
evaluator (Inception Score, Fréchet distance and its ratio to the real-data floor,
class shares) for the generator and for an exponential moving average of its weights
(with its own BatchNorm statistics, measured with
``torch.optim.swa_utils.update_bn``).

Usage (the runs quoted in benchmarks/README.md, one thread each)::

    python benchmarks/experiments/dcgan_variants.py --extra 0 --epochs 3
    python benchmarks/experiments/dcgan_variants.py --extra 0 --smooth 0.9
    python benchmarks/experiments/dcgan_variants.py --extra 0 --d-dropout 0.3
    python benchmarks/experiments/dcgan_variants.py --extra 1 --epochs 2
    python benchmarks/experiments/dcgan_variants.py --extra 2 --epochs 6
    python benchmarks/experiments/dcgan_variants.py --extra 2 --ngf 48 --epochs 6

Session 7's runs (the library's generator, FD against the floor's random test images)::

    python benchmarks/experiments/dcgan_variants.py --epochs 16 --every 2 \
        --ema 0.999 0.9995 0.9999 --reference random
    python benchmarks/experiments/dcgan_variants.py --epochs 14 --every 2 \
        --ema 0.999 0.9999 --lr-decay-from 0.5 --reference random
    python benchmarks/experiments/dcgan_variants.py --ndf 64 --epochs 8 --every 2 \
        --ema 0.999 0.9999 --reference random

Session 8's runs (the R1 penalty became the benchmark's recipe)::

    python benchmarks/experiments/dcgan_variants.py --epochs 4 --reference random \
        --lr 1e-4 --lr-discriminator 4e-4
    python benchmarks/experiments/dcgan_variants.py --epochs 4 --reference random \
        --loss hinge --spectral-norm
    python benchmarks/experiments/dcgan_variants.py --epochs 4 --reference random \
        --r1 10
    python benchmarks/experiments/dcgan_variants.py --epochs 16 --every 2 \
        --reference random --r1 10

Runs of earlier sessions quoted in the README (``--ndf 64``, ``--lr`` with
``--lr-discriminator``, ``--batch 64``) used the three-layer generator: ``--extra 0``.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import update_bn

import course_lib
from course_lib import gan, metrics
from course_lib.data import load_mnist, to_signed, to_unit
from course_lib.evaluator import load_evaluator
from course_lib.gan_objectives import (
    hinge_discriminator_loss,
    hinge_generator_loss,
    r1_penalty,
)

N_SAMPLES = 5000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, choices=(0, 1, 2), default=2)
    parser.add_argument("--ngf", type=int, default=32)
    parser.add_argument("--ndf", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-4, help="generator's")
    parser.add_argument(
        "--lr-discriminator", type=float, default=None, help="default: --lr"
    )
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("--smooth", type=float, default=1.0, help="real target")
    parser.add_argument("--d-dropout", type=float, default=0.0)
    parser.add_argument(
        "--ema", type=float, nargs="+", default=[0.999], help="one or more decays"
    )
    parser.add_argument(
        "--lr-decay-from",
        type=float,
        default=1.0,
        help="fraction of the run after which both learning rates fall linearly to 0",
    )
    parser.add_argument(
        "--reference",
        choices=("first", "random"),
        default="first",
        help="FD reference: the first 5 000 test images (the runs quoted before "
        "session 7) or the floor's random draw (metrics.floor_reference)",
    )
    parser.add_argument(
        "--loss",
        choices=("non_saturating", "hinge"),
        default="non_saturating",
        help="hinge: SNGAN's hinge loss for both networks",
    )
    parser.add_argument(
        "--spectral-norm",
        action="store_true",
        help="spectral normalisation on D's layers, its BatchNorm removed",
    )
    parser.add_argument(
        "--r1", type=float, default=0.0, help="gamma of the R1 penalty on real images"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def generator_with(extra: int, ngf: int) -> nn.Module:
    """The 28x28 DCGAN generator with ``extra`` stride-1 3x3 layers (2 = the
    library's ``DCGenerator``)."""
    if extra == 2:
        return gan.DCGenerator(ngf=ngf)

    def block(layer: nn.Module, width: int) -> list[nn.Module]:
        return [layer, nn.BatchNorm2d(width), nn.ReLU(True)]

    layers = block(nn.ConvTranspose2d(100, ngf * 4, 7, 1, 0, bias=False), ngf * 4)
    layers += block(nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), ngf * 2)
    if extra == 1:
        layers += block(nn.Conv2d(ngf * 2, ngf * 2, 3, 1, 1, bias=False), ngf * 2)
    layers += [nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False), nn.Tanh()]
    net = nn.Sequential(nn.Unflatten(1, (100, 1, 1)), *layers)
    net.apply(gan.init_dcgan_weights)
    return net


def dropout_discriminator(p: float, ndf: int = 32) -> nn.Module:
    """Three stride-2 convolutions without BatchNorm, dropout ``p`` after each
    LeakyReLU, a linear head: ``(N, 1, 28, 28) -> (N,)`` logits."""
    layers: list[nn.Module] = []
    for c_in, c_out in ((1, ndf), (ndf, ndf * 2), (ndf * 2, ndf * 4)):
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2), nn.Dropout(p)]
    net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(ndf * 4 * 9, 1), nn.Flatten(0))
    net.apply(gan.init_dcgan_weights)
    return net


def spectrally_normalised(discriminator: nn.Module) -> nn.Module:
    """``discriminator`` with spectral normalisation (Miyato et al. 2018) on every
    convolution and linear layer and its BatchNorm layers replaced by identities."""
    for module in list(discriminator.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                setattr(module, name, nn.Identity())
            elif isinstance(child, (nn.Conv2d, nn.Linear)):
                setattr(module, name, nn.utils.parametrizations.spectral_norm(child))
    return discriminator


def main() -> None:
    args = parse_args()
    course_lib.setup(seed=args.seed, profile="cpu", device="cpu")
    generator = generator_with(args.extra, args.ngf)
    discriminator = (
        dropout_discriminator(args.d_dropout, args.ndf)
        if args.d_dropout
        else gan.DCDiscriminator(ndf=args.ndf)
    )
    if args.spectral_norm:
        discriminator = spectrally_normalised(discriminator)
    averages = {d: copy.deepcopy(generator).requires_grad_(False) for d in args.ema}
    lr_d = args.lr_discriminator or args.lr
    opt_g = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=(0.5, 0.999))
    real = to_signed(load_mnist("train")[0])  # (60000, 1, 28, 28) in [-1, 1]
    # the first test images, as in the runs the README quotes (no random sample of the
    # unshuffled test set: compare these FDs with each other, not with the floor)
    reference = (
        load_mnist("test")[0][:N_SAMPLES]
        if args.reference == "first"
        else metrics.floor_reference(N_SAMPLES, seed=0)
    )
    evaluator = load_evaluator("cpu")
    floor = metrics.real_data_floor(evaluator, N_SAMPLES, seed=0)
    noise = torch.randn(N_SAMPLES, 100, generator=torch.Generator().manual_seed(123))
    statistics_noise = torch.randn(
        N_SAMPLES, 100, generator=torch.Generator().manual_seed(321)
    )

    def score(model: nn.Module, label: str) -> None:
        with torch.no_grad():
            model.eval()
            samples = to_unit(torch.cat([model(z) for z in noise.split(500)]))
            model.train()
        report = metrics.coverage_report(samples, evaluator)
        inception = metrics.inception_score(evaluator.probs(samples))
        frechet = metrics.frechet_distance_images(samples, reference, evaluator)
        print(
            f"  {label}: IS {inception:.3f} FD {frechet:.2f} "
            f"({frechet / floor:.1f} x floor) shares "
            f"{report.min_share:.3f}-{report.max_share:.3f}",
            flush=True,
        )

    batch = args.batch
    steps_per_epoch = real.shape[0] // batch
    total, every = int(args.epochs * steps_per_epoch), int(args.every * steps_per_epoch)
    decay_start = int(args.lr_decay_from * total)
    start, step, d_x, d_fake = time.time(), 0, 0.0, 0.0
    while step < total:
        order = torch.randperm(real.shape[0])
        for i in range(min(steps_per_epoch, total - step)):
            x = real[order[batch * i : batch * (i + 1)]]
            fake = generator(torch.randn(batch, 100))
            if args.r1:
                x.requires_grad_(True)
            real_logits, fake_logits = discriminator(x), discriminator(fake.detach())
            if args.loss == "hinge":
                d_loss = hinge_discriminator_loss(real_logits, fake_logits)
            else:
                d_loss = F.binary_cross_entropy_with_logits(
                    real_logits, torch.full_like(real_logits, args.smooth)
                ) + F.binary_cross_entropy_with_logits(
                    fake_logits, torch.zeros_like(fake_logits)
                )
            if args.r1:  # gamma / 2 * E ||grad_x D(x)||^2 (Mescheder et al. 2018)
                d_loss = d_loss + args.r1 / 2 * r1_penalty(real_logits, x)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_logits = discriminator(fake)
            g_loss = (
                hinge_generator_loss(g_logits)
                if args.loss == "hinge"
                else F.binary_cross_entropy_with_logits(
                    g_logits, torch.ones_like(g_logits)
                )
            )
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            step += 1
            if step > decay_start:  # linear decay to 0 at the last step
                scale = (total - step) / max(1, total - decay_start)
                for opt, lr in ((opt_g, args.lr), (opt_d, lr_d)):
                    for group in opt.param_groups:
                        group["lr"] = lr * scale
            # running means of D(x) and D(G(z)) (before D's step) over ~100 steps
            d_x += 0.01 * (torch.sigmoid(real_logits).mean().item() - d_x)
            d_fake += 0.01 * (torch.sigmoid(fake_logits).mean().item() - d_fake)
            for ema, averaged in averages.items():
                decay = min(ema, (1 + step) / (10 + step))  # a short average early on
                with torch.no_grad():
                    for mean, weight in zip(
                        averaged.parameters(), generator.parameters()
                    ):
                        mean.lerp_(weight, 1 - decay)
            if step % every == 0 or step == total:
                print(
                    f"epoch {step / steps_per_epoch:.2f} ({time.time() - start:.0f} s)"
                    f" D(x) {d_x:.2f} D(G(z)) {d_fake:.2f}",
                    flush=True,
                )
                score(generator, "generator")
                for ema, averaged in averages.items():
                    update_bn(statistics_noise.split(500), averaged)  # own BN stats
                    score(averaged, f"EMA {ema} of the generator")


if __name__ == "__main__":
    main()
