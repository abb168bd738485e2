"""Run profiles: the one place that decides every training budget in the course.

Three profiles exist:

* ``smoke`` -- continuous integration: tiny stratified subsets, each notebook well under
  a minute on 2 CPU cores. Numbers are not meaningful, only the code paths are
  exercised.
* ``cpu`` -- the default without a GPU: meaningful results, each lesson within 8
  minutes on 2 cores.
* ``gpu`` -- the default with CUDA: full data and full budgets, the numbers quoted as
  targets.

The profile is chosen by the environment variable ``COURSE_PROFILE``; without it,
``gpu`` is used when CUDA is available and ``cpu`` otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from course_lib.errors import ProfileError


@dataclass(frozen=True)
class Budget:
    """How much one recipe trains.

    Attributes:
        epochs: passes over the training subset.
        n_train: number of training images (a stratified subset), or ``None`` for all
            60 000.
        batch_size: mini-batch size.
    """

    epochs: int
    n_train: int | None
    batch_size: int


@dataclass(frozen=True)
class Profile:
    """A named set of budgets plus the sizes of the non-training work (evaluation,
    t-SNE).

    Attributes:
        name: ``"smoke"``, ``"cpu"`` or ``"gpu"``.
        budgets: recipe name -> :class:`Budget`.
        n_test: number of test images used for evaluation (``None`` = all 10 000).
        n_eval_samples: number of generated samples scored by the evaluator.
        tsne_points: number of points embedded by the t-SNE explorer.
    """

    name: str
    budgets: dict[str, Budget] = field(repr=False)
    n_test: int | None
    n_eval_samples: int
    tsne_points: int

    def budget(self, recipe: str) -> Budget:
        """Return the budget of ``recipe`` (e.g. ``"vae"``); an unknown name is a clear
        error."""
        try:
            return self.budgets[recipe]
        except KeyError:
            known = ", ".join(sorted(self.budgets))
            raise ProfileError(
                f"profile {self.name!r} has no budget named {recipe!r}; known: {known}"
            ) from None


def _budgets(scale: str) -> dict[str, Budget]:
    """The per-recipe budgets of one profile.

    Recipes: ``ae`` (fully connected autoencoders), ``linear_ae`` (lesson 1's linear
    autoencoder: cheap steps, but the directions of small variance converge slowly),
    ``toy_dae`` (lesson 2's denoiser of 2-D points; n_train = points), ``dae``
    (denoising), ``vae`` and ``conv_vae``, ``mlp_gan``, ``dcgan``, ``dcgan_upsample``
    (lesson 5's comparison of the transposed-convolution and the upsample-then-convolve
    generators: both train on this budget; the upsampling one is about 1.5 times as slow
    per image on a CPU), ``aae``, ``toy_gan`` (1-D/2-D toys; n_train = points per
    epoch), ``evaluator`` (the frozen MNIST classifier) and ``softmax`` (lesson 0's
    discriminative baseline), ``matched`` (lesson 7's VAE and AAE: as many training
    images as the ``dcgan`` budget, in batches of 64 on ``cpu``).
    Recipes ending in ``_bench`` are the longer runs of ``python -m benchmarks`` (the
    benchmark may train longer than a lesson does, never shorter).
    """
    table = {
        #              smoke               cpu                  gpu
        "ae": ((1, 600, 64), (5, 20_000, 128), (20, None, 128)),
        "linear_ae": ((1, 600, 64), (40, 20_000, 128), (40, None, 128)),
        "toy_dae": ((20, 2048, 256), (300, 2048, 256), (300, 2048, 256)),
        "dae": ((1, 600, 64), (10, None, 128), (20, None, 128)),
        "dae_bench": ((1, 600, 64), (60, None, 128), (60, None, 128)),
        "vae": ((1, 600, 128), (10, None, 128), (30, None, 128)),
        "conv_vae": ((1, 600, 128), (10, None, 128), (30, None, 128)),
        "mlp_gan": ((1, 600, 64), (6, 20_000, 64), (50, None, 64)),
        "mlp_gan_bench": ((1, 600, 64), (10, 20_000, 64), (50, None, 64)),
        "dcgan": ((1, 600, 64), (4, None, 16), (25, None, 128)),
        "dcgan_upsample": ((1, 600, 64), (1, 20_000, 16), (5, None, 128)),
        "dcgan_bench": ((1, 600, 64), (18, None, 16), (25, None, 128)),
        "aae": ((1, 600, 100), (10, 20_000, 100), (50, None, 100)),
        "matched": ((1, 600, 64), (4, None, 64), (25, None, 128)),
        "toy_gan": ((200, 512, 128), (2000, 512, 128), (5000, 512, 128)),
        "evaluator": ((1, 600, 128), (4, None, 128), (8, None, 128)),
        "softmax": ((2, 600, 128), (5, None, 128), (10, None, 128)),
    }
    column = {"smoke": 0, "cpu": 1, "gpu": 2}[scale]
    return {name: Budget(*row[column]) for name, row in table.items()}


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        "smoke", _budgets("smoke"), n_test=500, n_eval_samples=500, tsne_points=300
    ),
    "cpu": Profile(
        "cpu", _budgets("cpu"), n_test=None, n_eval_samples=5_000, tsne_points=2_000
    ),
    "gpu": Profile(
        "gpu", _budgets("gpu"), n_test=None, n_eval_samples=10_000, tsne_points=5_000
    ),
}


def get_profile(
    name: str | None = None, *, cuda_available: bool | None = None
) -> Profile:
    """Return the run profile.

    Args:
        name: ``"smoke"``, ``"cpu"`` or ``"gpu"``; ``None`` reads ``COURSE_PROFILE``
            and, if that is unset or empty, picks ``gpu`` when CUDA is available and
            ``cpu`` otherwise.
        cuda_available: override CUDA detection (for tests).

    Raises:
        ProfileError: for an unknown name, listing the known ones.
    """
    if name is None:
        name = os.environ.get("COURSE_PROFILE", "").strip() or None
    if name is None:
        if cuda_available is None:
            import torch

            cuda_available = torch.cuda.is_available()
        name = "gpu" if cuda_available else "cpu"
    key = name.strip().lower()
    if key not in PROFILES:
        raise ProfileError(
            f"unknown run profile {name!r}; choose one of {', '.join(PROFILES)} "
            "(set COURSE_PROFILE=smoke|cpu|gpu, or leave it unset to choose "
            "automatically)"
        )
    return PROFILES[key]
