"""Plumbing shared by every recipe (``fit_*``): one MLP builder, the data checks a
recipe runs once, the one subset rule, and the cache configuration with a fingerprint of
the recipe's code.

Private: lessons import the recipes, not this module. The contract every recipe keeps::

    fit_<family>(<models>, <data>, *, budget, device="cpu", labels=None, seed=0,
    name=None,
                 cache=True, <recipe options>) -> (<models>, History)

The models come back on ``device`` in eval mode; the data are validated here, once,
never per batch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from course_lib.cache import describe_data
from course_lib.data import stratified_subset
from course_lib.errors import CourseInputError, check_tensor
from course_lib.profiles import Budget

IMAGE_SHAPE = (1, 28, 28)
"""``(C, H, W)`` of MNIST, the images every recipe trains on by default."""


def mlp(
    widths: Sequence[int],
    activation: Callable[[], nn.Module] = nn.ReLU,
    *,
    activate_last: bool = False,
) -> nn.Sequential:
    """``Linear(widths[0], widths[1]) -> activation -> ... -> Linear(widths[-2],
    widths[-1])``.

    Args:
        widths: layer sizes, at least two (input and output).
        activation: builds the module put after each linear layer, e.g. ``nn.ReLU`` or
            ``lambda: nn.LeakyReLU(0.2)``.
        activate_last: also put ``activation`` after the last linear layer.

    Returns:
        A flat :class:`~torch.nn.Sequential` (index ``[-1]`` is the last layer), mapping
        ``(N, widths[0])`` to ``(N, widths[-1])``.
    """
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise CourseInputError(
            f"an MLP needs at least two positive widths, got {widths}"
        )
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if activate_last or i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def check_images(
    x: object,
    image_shape: Sequence[int] = IMAGE_SHAPE,
    name: str = "images",
    *,
    value_range: tuple[float, float] | None = None,
) -> torch.Tensor:
    """Check a batch of images ``(N, C, H, W)`` with ``(C, H, W) == image_shape``.

    Shape (and dtype) only, unless ``value_range`` is given: reading the values forces a
    device-to-host copy, so recipes check the range once on the whole data set and
    ``forward`` methods check only shapes.
    """
    check_tensor(x, name, shape=(None, *image_shape))
    if value_range is not None:
        check_tensor(x, name, value_range=value_range)
    return x  # type: ignore[return-value]


def check_codes(z: object, latent_dim: int, name: str = "z") -> torch.Tensor:
    """Check that ``z`` is a batch of codes ``(N, latent_dim)``, saying which size the
    model expects."""
    if isinstance(z, torch.Tensor) and z.dim() == 2 and z.shape[1] != latent_dim:
        raise CourseInputError(
            f"{name} has {z.shape[1]} latent dimensions but this model's latent_dim "
            f"is {latent_dim}; "
            f"pass codes of shape (N, {latent_dim})"
        )
    return check_tensor(z, name, shape=(None, latent_dim))


def check_signed_images(
    images: object, image_shape: Sequence[int] = IMAGE_SHAPE
) -> torch.Tensor:
    """The training data of a ``tanh`` model: ``(N, C, H, W)`` in ``[-1, 1]``, not
    ``[0, 1]`` images."""
    check_images(images, image_shape, value_range=(-1.0, 1.0))
    assert isinstance(images, torch.Tensor)
    if images.numel() and float(images.min()) >= 0:
        raise CourseInputError(
            "images look like [0, 1] (no negative values) but this model trains on "
            "[-1, 1]; convert them with course_lib.data.to_signed"
        )
    return images


def _check_label_shape(labels: object, n: int, who: str) -> torch.Tensor:
    if (
        not isinstance(labels, torch.Tensor)
        or labels.is_floating_point()
        or labels.dim() != 1
    ):
        got = (
            f"dtype {labels.dtype}, shape {tuple(labels.shape)}"
            if isinstance(labels, torch.Tensor)
            else type(labels).__name__
        )
        raise CourseInputError(f"{who} must be a 1-D int64 tensor, got {got}")
    if labels.shape[0] != n:
        raise CourseInputError(
            f"{who} must have shape ({n},), one per example, got {tuple(labels.shape)}"
        )
    return labels


def check_labels(
    labels: object, n: int, n_classes: int | None, who: str
) -> torch.Tensor | None:
    """Check labels against a network's ``n_classes`` (``None`` = unconditional) and
    batch size ``n``.

    Shape and dtype only (this runs on every forward pass, and reading values would
    stall a GPU); the recipes check the values once, with :func:`check_label_values`.

    Returns:
        ``labels`` (``(n,)`` int64) or ``None`` for an unconditional network.
    """
    if n_classes is None:
        if labels is not None:
            raise CourseInputError(
                f"{who} is unconditional (built without n_classes) but labels were "
                "given; "
                "build both networks with n_classes=10 to condition on labels, or "
                "drop the labels"
            )
        return None
    if labels is None:
        raise CourseInputError(
            f"{who} is conditional (n_classes={n_classes}) and needs labels: call it "
            f"as {who}(input, labels)"
        )
    return _check_label_shape(labels, n, "labels").long()


def check_label_values(
    labels: object, n: int, n_classes: int | None, who: str = "labels"
) -> torch.Tensor:
    """Check ``(n,)`` integer labels with values in ``0..n_classes-1`` (any non-negative
    value when ``n_classes`` is ``None``). Reads the values, so a recipe calls it once
    on the data set."""
    labels = _check_label_shape(labels, n, who)
    if labels.numel():
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or (n_classes is not None and high >= n_classes):
            allowed = f"0..{n_classes - 1}" if n_classes is not None else "0, 1, 2, ..."
            raise CourseInputError(
                f"{who} must lie in {allowed}, got values in {low}..{high}"
            )
    return labels.long()


def training_subset(
    images: torch.Tensor, labels: torch.Tensor | None, n_train: int | None, seed: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The one subset rule: the ``n_train`` training examples a budget asks for.

    Args:
        images: ``(N, ...)``.
        labels: ``(N,)`` class labels or ``None``.
        n_train: ``budget.n_train``; ``None`` or ``>= N`` keeps every example.
        seed: picks the subset.

    Returns:
        ``(images, labels)``: a class-balanced subset
        (:func:`course_lib.data.stratified_subset`) when labels are known, else a seeded
        uniform random subset (``labels`` stays ``None``); either way in the original
        order.
    """
    if n_train is None or n_train >= images.shape[0]:
        return images, labels
    if labels is not None:
        return stratified_subset(images, labels, n_train, seed=seed)
    index = torch.randperm(
        images.shape[0], generator=torch.Generator().manual_seed(seed)
    )[:n_train]
    return images[index.sort().values], None


def code_fingerprint(*objects: object) -> str:
    """A 16-hex-digit hash of the source code of ``objects`` (functions, classes, and
    the classes of instances), each class with its bases from ``course_lib``.

    Part of every recipe's cache key: editing a recipe or a model class changes it, so
    the next call trains again instead of loading weights trained by the old code.
    """
    sources: list[str] = []
    seen: set[object] = set()
    for obj in objects:
        for item in _code_objects(obj):
            if item in seen:
                continue
            seen.add(item)
            try:
                sources.append(inspect.getsource(item))  # type: ignore[arg-type]
            # defined in an interactive session: the name stands in
            except (OSError, TypeError):
                sources.append(getattr(item, "__qualname__", repr(item)))
    return hashlib.sha256("\n".join(sources).encode()).hexdigest()[:16]


def _code_objects(obj: object) -> Iterable[object]:
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        yield inspect.unwrap(obj)
        return
    cls = obj if isinstance(obj, type) else type(obj)
    for base in cls.__mro__:
        if base.__module__.startswith("course_lib") or base is cls:
            yield base
    # the classes of submodules (a GANPair holds two networks)
    if isinstance(obj, nn.Module):
        for child in obj.children():
            if type(child).__module__.startswith("course_lib"):
                yield from _code_objects(child)


def model_config(model: nn.Module) -> dict[str, Any]:
    """``{"model": class name, **model.config}``: the one convention for a model in a
    cache key."""
    return {"model": type(model).__name__, **dict(getattr(model, "config", {}))}


def recipe_config(
    recipe: Callable[..., Any] | Sequence[Callable[..., Any]],
    models: Mapping[str, nn.Module],
    budget: Budget,
    data: torch.Tensor,
    seed: int,
    **options: Any,
) -> dict[str, Any]:
    """Everything that determines a trained model, for
    :func:`course_lib.cache.cached_training`: the models' configurations, the budget, a
    description of the training data, the seed, the recipe's options and the fingerprint
    of the code: ``recipe`` (the ``fit_*`` function, or it and the functions its
    training step calls, e.g. ``(fit_gan, adversarial_step)``) and the models.
    """
    recipes = tuple(recipe) if isinstance(recipe, Sequence) else (recipe,)
    return {
        "models": {key: model_config(model) for key, model in models.items()},
        "budget": dataclasses.asdict(budget),
        "data": describe_data(data),
        "seed": seed,
        "options": options,
        "code": code_fingerprint(*recipes, *models.values()),
    }
