"""DCGAN step time on this machine: one adversarial step (discriminator + generator
update) at batch 64 on MNIST-shaped data, timed through the training loop as a recipe
runs it.

Usage:
``OMP_NUM_THREADS=1 python benchmarks/experiments/dcgan_step_time.py [--steps 60]``.
Prints the median milliseconds per step over ``--repeats`` timed passes, after one
warm-up pass, and the number of device-to-host reads per step (calls that copy a
tensor's value to Python: ``float``, ``int``, ``bool``, ``.item()``, ``.tolist()``,
``.numpy()``, ``.cpu()``), each of which waits for the device on a GPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

os.environ.setdefault("COURSE_PROGRESS", "off")

from course_lib.batches import TensorBatches
from course_lib.gan import DCDiscriminator, DCGenerator, adversarial_step
from course_lib.training import train


def step_times(steps: int, repeats: int, batch_size: int = 64) -> list[float]:
    torch.manual_seed(0)
    generator, discriminator = DCGenerator(), DCDiscriminator()
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    images = torch.rand(steps * batch_size, 1, 28, 28) * 2 - 1
    batches = TensorBatches(images, batch_size=batch_size, drop_last=True, seed=0)
    noise = torch.Generator().manual_seed(0)

    def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        z = torch.randn(batch[0].shape[0], 100, generator=noise)
        return adversarial_step(generator, discriminator, opt_g, opt_d, batch[0], z)

    times = []
    for _ in range(repeats + 1):  # the first pass warms up
        started = time.perf_counter()
        # the recipes' loop: checks, loss reads, averages
        train(step, batches, 1, name="dcgan-step-time")
        times.append((time.perf_counter() - started) / steps * 1000)
    return times[1:]


READS = ("__float__", "__int__", "__bool__", "item", "tolist", "numpy", "cpu")


def reads_per_step(steps: int = 20, batch_size: int = 64) -> float:
    """Device-to-host reads per training step made by the course's code (the models, the
    step, the training loop), counted by wrapping the reading methods of Tensor. Reads
    inside torch itself are left out: Adam's ``.item()`` of its step counters reads CPU
    tensors, even for a model on a GPU."""
    count = [0]
    originals = {name: getattr(torch.Tensor, name) for name in READS}
    torch_folder = os.path.dirname(torch.__file__)

    def counting(original):
        def read(tensor, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if not caller.startswith(torch_folder):
                count[0] += 1
            return original(tensor, *args, **kwargs)

        return read

    for name, original in originals.items():
        setattr(torch.Tensor, name, counting(original))
    try:
        # one pass of `steps` steps through the training loop
        step_times(steps, 0, batch_size)
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)
    return count[0] / steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times = step_times(args.steps, args.repeats)
    print(
        f"dcgan step (batch 64, threads {torch.get_num_threads()}): median "
        f"{statistics.median(times):.2f} ms "
        f"over {args.repeats} x {args.steps} steps; all "
        f"{[round(t, 2) for t in times]}; "
        f"device-to-host reads per step {reads_per_step():.2f}"
    )


if __name__ == "__main__":
    main()
