"""Sample-quality and reconstruction metrics: plain functions, each checked against
known values.

Classifier-based figures use the frozen evaluator (:mod:`course_lib.evaluator`):

* :func:`class_histogram`, :func:`kl_to_uniform`, :func:`coverage_report` -- which
  digits a generator draws and how evenly (mode collapse shows as a few classes and a
  large KL).
* :func:`inception_score` -- ``exp(E_x KL(p(y|x) || p(y)))``: 1 for useless samples, at
  most 10.
* :func:`frechet_distance`, :func:`frechet_distance_images`, :func:`real_data_floor` --
  the distance between two Gaussians fitted to penultimate features. Only compare it
  within one evaluator, next to the real-data floor (train vs test images).
* :func:`precision_recall` -- improved precision (samples inside the real images'
  k-nearest-neighbour manifold) and recall (real images inside the samples' manifold),
  on the same features.

Image and latent figures: :func:`psnr`, :func:`ssim`, :func:`sharpness`,
:func:`checkerboard`, :func:`mmd`,
:func:`component_occupancy`, :func:`prior_match`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.data import load_mnist
from course_lib.errors import CourseInputError, check_tensor
from course_lib.evaluator import Evaluator

COVERAGE_THRESHOLD = 0.01
"""A class counts as *covered* when at least this share (1 %) of the samples is
classified as it."""


# --------------------------------------------------------------------------------------
# Class histograms and coverage
# --------------------------------------------------------------------------------------


def class_histogram(
    probs_or_labels: torch.Tensor, num_classes: int = 10
) -> torch.Tensor:
    """Share of samples per class.

    Args:
        probs_or_labels: either class probabilities (or logits) ``(N, C)`` -- each
            sample counts for its most likely class -- or integer labels ``(N,)`` in
            ``0..num_classes-1``.
        num_classes: ``C``.

    Returns:
        ``(C,)`` float64 shares in ``[0, 1]`` summing to 1.
    """
    x = probs_or_labels
    if not isinstance(x, torch.Tensor):
        raise CourseInputError(
            f"probs_or_labels must be a torch.Tensor, got {type(x).__name__}"
        )
    if x.dim() == 2:
        if x.shape[1] != num_classes:
            raise CourseInputError(
                f"probabilities must have shape (N, {num_classes}), got "
                f"{tuple(x.shape)}"
            )
        labels = x.argmax(dim=1)
    elif x.dim() == 1 and not x.is_floating_point():
        labels = x
    else:
        raise CourseInputError(
            f"probs_or_labels must be probabilities (N, {num_classes}) or integer "
            f"labels (N,), got shape {tuple(x.shape)} and dtype {x.dtype}"
        )
    if len(labels) == 0:
        raise CourseInputError("class_histogram needs at least one sample")
    if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
        low, high = int(labels.min()), int(labels.max())
        raise CourseInputError(
            f"labels must lie in 0..{num_classes - 1}, got {low}..{high}"
        )
    counts = torch.bincount(labels.cpu(), minlength=num_classes).double()
    return counts / counts.sum()


def kl_to_uniform(histogram: torch.Tensor) -> float:
    """``KL(h || uniform) = sum_c h_c log(C h_c)`` in nats (``0 log 0 = 0``).

    0 for a perfectly even histogram, ``log C`` (2.303 for 10 classes) when all samples
    are one class.

    Args:
        histogram: ``(C,)`` non-negative shares summing to 1.
    """
    h = check_tensor(
        histogram, "histogram", shape=(None,), value_range=(0.0, 1.0)
    ).double()
    if abs(float(h.sum()) - 1.0) > 1e-6:
        raise CourseInputError(
            f"histogram must sum to 1, got {float(h.sum()):.6g}; divide by its sum"
        )
    return float(torch.xlogy(h, h * len(h)).sum())


@dataclass(frozen=True)
class CoverageReport:
    """Which classes a set of samples covers.

    Attributes:
        shares: ``(10,)`` share of samples per predicted class (sums to 1).
        covered: number of classes with a share of at least ``threshold``.
        kl_uniform: ``KL(shares || uniform)`` in nats.
        threshold: the share that counts as covered (default :data:`COVERAGE_THRESHOLD`
            = 1 %).
    """

    shares: torch.Tensor
    covered: int
    kl_uniform: float
    threshold: float

    @property
    def min_share(self) -> float:
        """Smallest class share."""
        return float(self.shares.min())

    @property
    def max_share(self) -> float:
        """Largest class share."""
        return float(self.shares.max())

    def __str__(self) -> str:
        percent = " ".join(
            f"{d}:{100 * float(s):.1f}%" for d, s in enumerate(self.shares)
        )
        return (
            f"{self.covered}/{len(self.shares)} classes covered (>= "
            f"{100 * self.threshold:g} %), "
            f"KL to uniform {self.kl_uniform:.4f}; shares {percent}"
        )


def coverage_report(
    samples: torch.Tensor,
    evaluator: Evaluator,
    *,
    threshold: float = COVERAGE_THRESHOLD,
    signed: bool = False,
) -> CoverageReport:
    """Classify ``samples`` with the frozen evaluator and report the class coverage.

    Args:
        samples: images ``(N, 1, 28, 28)`` in ``[0, 1]`` (``[-1, 1]`` with
            ``signed=True``).
        evaluator: from :func:`course_lib.evaluator.load_evaluator`.
        threshold: a class is covered when its share is at least this (default 0.01 =
            1 %).
        signed: the samples are in ``[-1, 1]``.
    """
    shares = class_histogram(evaluator.probs(samples, signed=signed))
    covered = int((shares >= threshold).sum())
    return CoverageReport(shares, covered, kl_to_uniform(shares), threshold)


# --------------------------------------------------------------------------------------
# Inception Score
# --------------------------------------------------------------------------------------


def _check_probs(probs: torch.Tensor) -> torch.Tensor:
    p = check_tensor(
        probs, "probs", shape=(None, None), value_range=(0.0, 1.0)
    ).double()
    if len(p) == 0:
        raise CourseInputError("probs is empty; give at least one row")
    if float((p.sum(dim=1) - 1.0).abs().max()) > 1e-4:
        raise CourseInputError(
            "each row of probs must sum to 1; apply .softmax(dim=1) to logits first"
        )
    return p


def inception_score_per_split(probs: torch.Tensor, splits: int = 1) -> torch.Tensor:
    """Inception Score of each of ``splits`` consecutive, equal-sized chunks of
    ``probs``.

    Args:
        probs: class probabilities ``p(y|x)`` ``(N, C)``, rows summing to 1.
        splits: number of chunks (each must hold at least one row).

    Returns:
        ``(splits,)`` float64 scores, each in ``[1, C]``.
    """
    p = _check_probs(probs)
    if not 1 <= splits <= len(p):
        raise CourseInputError(
            f"splits must be between 1 and the number of rows ({len(p)}), got {splits}"
        )
    scores = []
    for chunk in torch.tensor_split(p, splits):
        marginal = chunk.mean(dim=0, keepdim=True)  # p(y), (1, C)
        # KL(p(y|x) || p(y)), (n,)
        kl = (torch.xlogy(chunk, chunk) - torch.xlogy(chunk, marginal)).sum(dim=1)
        scores.append(torch.exp(kl.mean()))
    return torch.stack(scores)


def inception_score(probs: torch.Tensor, splits: int = 1) -> float:
    """Classifier Inception Score ``exp(E_x KL(p(y|x) || p(y)))``, averaged over
    ``splits`` chunks.

    It is high (up to ``C``) when each sample is classified confidently *and* the
    classes are used evenly; 1 when every sample gets the same prediction. The 10 000
    MNIST test images score 9.67 with the course's evaluator: the reference for
    generated samples (the evaluator is not fully confident even on real digits, so 10
    is out of reach).

    Args:
        probs: ``(N, C)`` class probabilities, e.g. ``evaluator.probs(samples)``.
        splits: the score is computed on each of ``splits`` chunks and averaged (the
            usual choice is 10; with few samples per chunk, ``p(y)`` is noisy and the
            score is biased).

    Returns:
        The mean score, in ``[1, C]``.
    """
    return float(inception_score_per_split(probs, splits).mean())


# --------------------------------------------------------------------------------------
# Fréchet distance
# --------------------------------------------------------------------------------------


def _check_features(x: torch.Tensor | np.ndarray, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise CourseInputError(f"{name} must have shape (N, D), got {x.shape}")
    if len(x) < 2:
        raise CourseInputError(
            f"{name} needs at least 2 rows to estimate a covariance, got {len(x)}"
        )
    if not np.isfinite(x).all():
        raise CourseInputError(f"{name} contains NaN or infinite values")
    return x


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (tiny negative
    eigenvalues clipped)."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance_from_stats(
    mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray
) -> float:
    """Fréchet distance between ``N(mu_a, sigma_a)`` and ``N(mu_b, sigma_b)``.

    ``||mu_a - mu_b||^2 + Tr(sigma_a + sigma_b - 2 (sigma_a sigma_b)^(1/2))``.

    ``Tr((sigma_a sigma_b)^(1/2))`` is computed as the sum of the square roots of the
    eigenvalues of the symmetric matrix ``sigma_a^(1/2) sigma_b sigma_a^(1/2)``, which
    has the same eigenvalues as ``sigma_a sigma_b``. This gives the value
    ``scipy.linalg.sqrtm`` would, but stays real and finite for singular or
    ill-conditioned covariances (no complex parts to discard).

    Args:
        mu_a, mu_b: means ``(D,)``.
        sigma_a, sigma_b: symmetric positive semi-definite covariances ``(D, D)``.

    Returns:
        The distance (``>= 0`` up to rounding).
    """
    mu_a, mu_b = (
        np.atleast_1d(mu_a).astype(np.float64),
        np.atleast_1d(mu_b).astype(np.float64),
    )
    sigma_a, sigma_b = (
        np.atleast_2d(sigma_a).astype(np.float64),
        np.atleast_2d(sigma_b).astype(np.float64),
    )
    d = mu_a.shape[0]
    if mu_b.shape != (d,) or sigma_a.shape != (d, d) or sigma_b.shape != (d, d):
        raise CourseInputError(
            f"shapes do not match: mu_a {mu_a.shape}, mu_b {mu_b.shape}, sigma_a "
            f"{sigma_a.shape}, "
            f"sigma_b {sigma_b.shape}; expected (D,), (D,), (D, D), (D, D)"
        )
    root_a = _psd_sqrt(sigma_a)
    middle = root_a @ sigma_b @ root_a
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    trace_sqrt = float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())
    diff = mu_a - mu_b
    value = float(
        diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * trace_sqrt
    )
    return max(value, 0.0)


def frechet_distance(
    feats_a: torch.Tensor | np.ndarray, feats_b: torch.Tensor | np.ndarray
) -> float:
    """Fréchet distance between Gaussians fitted (mean + covariance) to two feature
    sets.

    Args:
        feats_a: ``(N_a, D)`` features, e.g. ``evaluator.features(samples)``.
        feats_b: ``(N_b, D)`` features of the reference set.

    Returns:
        The distance, ``>= 0``; about 0 for two large samples of the same distribution,
        but biased upwards for small ``N`` -- compare only values computed with the same
        ``N`` (see :func:`real_data_floor`).
    """
    a, b = _check_features(feats_a, "feats_a"), _check_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise CourseInputError(
            f"feature sizes differ: feats_a has {a.shape[1]}, feats_b has {b.shape[1]}"
        )
    return frechet_distance_from_stats(
        a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    )


def frechet_distance_images(
    images_a: torch.Tensor,
    images_b: torch.Tensor,
    evaluator: Evaluator,
    *,
    signed: bool = False,
) -> float:
    """Fréchet distance between two image sets on the evaluator's 128-d penultimate
    features.

    Args:
        images_a, images_b: ``(N, 1, 28, 28)`` in ``[0, 1]`` (both ``[-1, 1]`` with
            ``signed=True``).
        evaluator: the frozen evaluator.
    """
    feats_a = evaluator.features(images_a, signed=signed)
    feats_b = evaluator.features(images_b, signed=signed)
    return frechet_distance(feats_a, feats_b)


def _check_reference_size(n: int) -> None:
    if not 2 <= n <= 10_000:
        raise CourseInputError(
            f"n must be between 2 and 10 000 (the size of the test set), got {n}"
        )


def _floor_picks(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The indices of the ``n`` training and ``n`` test images of the floor."""
    generator = torch.Generator().manual_seed(seed)
    train_pick = torch.randperm(60_000, generator=generator)[:n]
    test_pick = torch.randperm(10_000, generator=generator)[:n]
    return train_pick, test_pick


def floor_reference(n: int = 5000, *, seed: int = 0) -> torch.Tensor:
    """The ``n`` randomly drawn MNIST test images of :func:`real_data_floor` (the same
    ``seed``), ``(n, 1, 28, 28)`` in ``[0, 1]``: score generated samples against these,
    so that samples and floor share one reference.

    Not the first ``n`` test images: the MNIST test set is not shuffled (its first
    5 000 images come from other writers than its last 5 000), so its first images are
    no random sample of it.
    """
    _check_reference_size(n)
    test_images, _ = load_mnist("test")
    return test_images[_floor_picks(n, seed)[1]]


def real_data_floor(evaluator: Evaluator, n: int = 5000, *, seed: int = 0) -> float:
    """Fréchet distance between ``n`` random MNIST training images and ``n`` random test
    images (those of :func:`floor_reference` with the same ``seed``).

    The value a perfect generator would get against :func:`floor_reference`; report
    generated samples' distance to that reference next to it, with the same ``n``.

    Args:
        evaluator: the frozen evaluator.
        n: images per side, ``2 <= n <= 10 000``.
        seed: which images are drawn.
    """
    _check_reference_size(n)
    train_images, _ = load_mnist("train")
    train_pick, _ = _floor_picks(n, seed)
    return frechet_distance_images(
        train_images[train_pick], floor_reference(n, seed=seed), evaluator
    )


# --------------------------------------------------------------------------------------
# Precision and recall of a generator (k-nearest-neighbour manifolds)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al., 2019).

    Attributes:
        precision: share of generated samples inside the real data's k-NN manifold, in
            ``[0, 1]``: how many samples look like *some* real image (quality).
        recall: share of real images inside the generated samples' k-NN manifold, in
            ``[0, 1]``: how much of the data the generator covers (diversity).
        k: the neighbour used for the radii.
    """

    precision: float
    recall: float
    k: int


def knn_radii(features: torch.Tensor | np.ndarray, k: int = 3) -> np.ndarray:
    """Distance of every point to its ``k``-th nearest *other* point of the same set.

    Args:
        features: ``(N, D)`` points, ``N > k``.
        k: which neighbour (``1`` = the nearest other point).

    Returns:
        ``(N,)`` float64 radii ``>= 0`` (0 when ``k`` copies of a point exist).
    """
    from sklearn.neighbors import NearestNeighbors

    x = _check_features(features, "features")
    if not isinstance(k, int) or k < 1 or k >= len(x):
        raise CourseInputError(
            f"k must be an integer between 1 and N - 1 = {len(x) - 1}, got {k!r}; "
            "use more points or a smaller k (3 is the usual choice)"
        )
    # k + 1 neighbours: the first is the point itself, at distance 0
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    return distances[:, k]


def _inside_any_ball(
    points: np.ndarray, centres: np.ndarray, radii: np.ndarray, block: int = 1024
) -> np.ndarray:
    """``(N,)`` bool: point ``i`` lies within ``radii[j]`` of some centre ``j``."""
    centres_t = torch.from_numpy(centres)
    radii_t = torch.from_numpy(radii)
    inside = []
    for start in range(0, len(points), block):
        chunk = torch.from_numpy(points[start : start + block])
        distances = torch.cdist(chunk, centres_t)  # (block, M)
        inside.append((distances <= radii_t).any(dim=1))
    return torch.cat(inside).numpy()


def precision_recall(
    real_features: torch.Tensor | np.ndarray,
    fake_features: torch.Tensor | np.ndarray,
    *,
    k: int = 3,
) -> PrecisionRecall:
    """Improved precision and recall of generated samples (Kynkäänniemi et al., 2019).

    Each set's manifold is the union of balls around its points, each ball reaching the
    point's ``k``-th nearest neighbour in the same set (:func:`knn_radii`). Precision is
    the share of generated points inside the real manifold; recall, the share of real
    points inside the generated one. A generator drawing a few perfect digits has high
    precision and low recall; one drawing blurry versions of every digit, the reverse.
    Compare values computed with the same ``k``, the same numbers of points and the
    same features (e.g. ``evaluator.features``).

    Args:
        real_features: ``(N, D)`` features of real images, ``N > k``.
        fake_features: ``(M, D)`` features of generated images, ``M > k``.
        k: the neighbour that sets each ball's radius (3 in the paper).

    Returns:
        A :class:`PrecisionRecall` with both values in ``[0, 1]``.
    """
    real = _check_features(real_features, "real_features")
    fake = _check_features(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise CourseInputError(
            f"feature sizes differ: real_features has {real.shape[1]}, fake_features "
            f"has {fake.shape[1]}; compute both with the same feature extractor"
        )
    precision = _inside_any_ball(fake, real, knn_radii(real, k)).mean()
    recall = _inside_any_ball(real, fake, knn_radii(fake, k)).mean()
    return PrecisionRecall(float(precision), float(recall), k)


# --------------------------------------------------------------------------------------
# Reconstruction quality and sharpness
# --------------------------------------------------------------------------------------


def _check_image_pair(
    a: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    check_tensor(a, "a", shape=(None, None, None, None), value_range=(0.0, 1.0))
    check_tensor(b, "b", shape=tuple(a.shape), value_range=(0.0, 1.0))
    return a.detach().cpu().double(), b.detach().cpu().double()


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image, ``10 log10(1 / MSE)`` in dB (data range
    1).

    Args:
        a, b: images ``(N, C, H, W)`` in ``[0, 1]``, same shape.

    Returns:
        ``(N,)`` float64 PSNR per image (``inf`` where the images are identical); take
        ``.mean()`` for the mean per-image PSNR.
    """
    a, b = _check_image_pair(a, b)
    mse = ((a - b) ** 2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(1.0 / mse)


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Structural similarity of each image (``skimage.metrics.structural_similarity``,
    data range 1).

    Default scikit-image settings: a 7x7 uniform window, ``K1 = 0.01``, ``K2 = 0.03``;
    channels are averaged.

    Args:
        a, b: images ``(N, C, H, W)`` in ``[0, 1]``, same shape, ``H, W >= 7``.

    Returns:
        ``(N,)`` float64 SSIM per image, in ``[-1, 1]`` (1 for identical images).
    """
    from skimage.metrics import structural_similarity

    a, b = _check_image_pair(a, b)
    if min(a.shape[2:]) < 7:
        raise CourseInputError(
            f"ssim needs images of at least 7x7 pixels, got {tuple(a.shape[2:])}"
        )
    a_np, b_np = a.numpy(), b.numpy()
    values = [
        np.mean(
            [structural_similarity(x_c, y_c, data_range=1.0) for x_c, y_c in zip(x, y)]
        )
        for x, y in zip(a_np, b_np)
    ]
    return torch.tensor(values, dtype=torch.float64)


def sharpness(images: torch.Tensor) -> torch.Tensor:
    """Mean gradient magnitude of each image: higher means sharper edges (blurry VAE
    samples score low).

    The gradient is the forward difference
    ``(x[i, j+1] - x[i, j], x[i+1, j] - x[i, j])``, its length averaged over the
    ``(H-1) x (W-1)`` pixels where both differences exist.

    Args:
        images: ``(N, C, H, W)`` in ``[0, 1]``.

    Returns:
        ``(N,)`` float64 mean gradient magnitude per image, in ``[0, sqrt(2)]``.
    """
    x = check_tensor(
        images, "images", shape=(None, None, None, None), value_range=(0.0, 1.0)
    )
    x = x.detach().cpu().double()
    gx = x[:, :, :-1, 1:] - x[:, :, :-1, :-1]
    gy = x[:, :, 1:, :-1] - x[:, :, :-1, :-1]
    return torch.sqrt(gx**2 + gy**2).flatten(1).mean(dim=1)


def checkerboard(images: torch.Tensor) -> float:
    """The period-2 ("checkerboard") statistic of lesson 5: the share of each image's
    variance that lies in its 2x2 phase pattern, averaged over the images.

    For one image with pixels ``x`` (all channels together) and the means ``m_ab`` of
    its four phases ``(i mod 2, j mod 2) = (a, b)``, the statistic is

        mean_ab (m_ab - m)^2 / mean_ij (x_ij - m)^2,   m = mean_ij x_ij,

    the between-phase part of the variance over the whole variance (the R^2 of a fit
    of the pixels by their phase alone). It lies in ``[0, 1]``: 0 when the four phases
    have the same mean, 1 for a pure period-2 pattern. Dividing by the image's own
    variance makes images of any contrast comparable (an untrained generator's
    near-grey outputs and a trained one's digits); a flat image, with no variance,
    scores 0. Real digits score a little above 0 (a stroke covers the four phases
    unevenly by chance), so read a generator's value next to real images'.

    Args:
        images: ``(N, C, H, W)`` with even ``H`` and ``W``, any value range (the course
            passes ``[-1, 1]``).

    Returns:
        The statistic, in ``[0, 1]``.
    """
    x = check_tensor(images, "images", shape=(None, None, None, None))
    if x.shape[2] % 2 or x.shape[3] % 2:
        raise CourseInputError(
            f"images must have an even height and width (2x2 phases), got "
            f"{tuple(x.shape[2:])}; crop or pad them first"
        )
    x = x.detach().cpu().double()
    phases = torch.stack(
        [x[:, :, a::2, b::2].mean(dim=(1, 2, 3)) for a in (0, 1) for b in (0, 1)],
        dim=1,
    )  # (N, 4); equal-sized phases, so their mean is the image's mean
    between = (phases - phases.mean(dim=1, keepdim=True)).pow(2).mean(dim=1)
    total = x.flatten(1).var(dim=1, unbiased=False)
    share = torch.where(total > 0, between / total.clamp_min(1e-300), 0.0)
    return float(share.clamp(0.0, 1.0).mean())


# --------------------------------------------------------------------------------------
# Latent-space figures: MMD and mixture-component occupancy
# --------------------------------------------------------------------------------------


def _check_points(x: torch.Tensor, name: str, dim: int | None = None) -> torch.Tensor:
    check_tensor(x, name, shape=(None, dim))
    if not torch.isfinite(x).all():
        raise CourseInputError(f"{name} contains NaN or infinite values")
    return x.detach().cpu().double()


def median_bandwidth(
    x: torch.Tensor, y: torch.Tensor, *, max_points: int = 1000
) -> float:
    """Median pairwise distance of the pooled points (the "median heuristic" RBF
    bandwidth).

    Args:
        x: ``(N, D)``; y: ``(M, D)``. At most ``max_points`` of each (the first ones)
            are used.
    """
    pooled = torch.cat(
        [
            _check_points(x, "x")[:max_points],
            _check_points(y, "y", x.shape[1])[:max_points],
        ]
    )
    distances = torch.cdist(pooled, pooled)
    off_diagonal = distances[~torch.eye(len(pooled), dtype=torch.bool)]
    return float(off_diagonal.median())


def _kernel_sum(
    a: torch.Tensor, b: torch.Tensor, bandwidths: Sequence[float], block: int = 1024
) -> float:
    """``sum_ij sum_h exp(-|a_i - b_j|^2 / (2 h^2))``, in row blocks to bound memory."""
    total = 0.0
    for start in range(0, len(a), block):
        squared = torch.cdist(a[start : start + block], b).pow(2)
        total += float(
            sum(torch.exp(-squared / (2.0 * h * h)).sum() for h in bandwidths)
        )
    return total


def mmd(
    x: torch.Tensor, y: torch.Tensor, bandwidths: Sequence[float] | None = None
) -> float:
    """Unbiased estimate of the squared maximum mean discrepancy ``MMD^2`` with a sum of
    RBF kernels.

    ``k(a, b) = sum_h exp(-|a - b|^2 / (2 h^2))`` and

    ``MMD^2 = mean_{i != j} k(x_i, x_j) + mean_{i != j} k(y_i, y_j) - 2 mean_{i, j}
    k(x_i, y_j)``.

    About 0 (it can be slightly negative) when ``x`` and ``y`` come from the same
    distribution; larger the more they differ. Cost: ``O((N + M)^2 D)`` time, memory
    bounded by row blocks.

    Args:
        x: ``(N, D)`` points, e.g. encoded test images; ``N >= 2``.
        y: ``(M, D)`` points, e.g. samples of the prior; ``M >= 2``.
        bandwidths: RBF length scales ``h``; default: the median pairwise distance times
            ``(0.5, 1, 2)`` (see :func:`median_bandwidth`). Use the same bandwidths for
            every model you compare.

    Returns:
        The ``MMD^2`` estimate (a float, in units of the summed kernel, at most
        ``2 len(bandwidths)``).
    """
    x = _check_points(x, "x")
    y = _check_points(y, "y", x.shape[1])
    if len(x) < 2 or len(y) < 2:
        raise CourseInputError(
            f"mmd needs at least 2 points per set, got {len(x)} and {len(y)}"
        )
    if bandwidths is None:
        median = median_bandwidth(x, y)
        bandwidths = [median * factor for factor in (0.5, 1.0, 2.0)]
    bandwidths = [float(h) for h in bandwidths]
    if not bandwidths or min(bandwidths) <= 0:
        raise CourseInputError(f"bandwidths must be positive numbers, got {bandwidths}")
    n, m, k = len(x), len(y), len(bandwidths)
    # the diagonal contributes k per point
    xx = (_kernel_sum(x, x, bandwidths) - n * k) / (n * (n - 1))
    yy = (_kernel_sum(y, y, bandwidths) - m * k) / (m * (m - 1))
    xy = _kernel_sum(x, y, bandwidths) / (n * m)
    return xx + yy - 2.0 * xy


def component_occupancy(codes: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Share of points whose nearest mixture-component centre (Euclidean) is each
    component.

    Args:
        codes: ``(N, D)`` points, e.g. encoded test images.
        centres: ``(K, D)`` component means of the prior.

    Returns:
        ``(K,)`` float64 shares summing to 1; an AAE matching a 10-Gaussian prior gives
        about 0.1 each.
    """
    codes = _check_points(codes, "codes")
    centres = _check_points(centres, "centres", codes.shape[1])
    if len(codes) == 0 or len(centres) == 0:
        raise CourseInputError(
            "component_occupancy needs at least one point and one centre"
        )
    nearest = torch.cdist(codes, centres).argmin(dim=1)
    counts = torch.bincount(nearest, minlength=len(centres)).double()
    return counts / counts.sum()


def prior_match(
    codes: torch.Tensor,
    prior_samples: torch.Tensor,
    centres: torch.Tensor | None = None,
    *,
    bandwidths: Sequence[float] | None = None,
) -> dict[str, float | list[float]]:
    """How well encoded points match a prior: MMD^2 to prior samples and, for a mixture,
    occupancy.

    Args:
        codes: ``(N, D)`` encoded test images (AAE, plain AE or VAE means).
        prior_samples: ``(M, D)`` samples of the prior.
        centres: ``(K, D)`` mixture means, or ``None`` for a single Gaussian.
        bandwidths: passed to :func:`mmd`; give the same ones to every model compared.

    Returns:
        ``{"mmd2": float}`` and, with ``centres``, ``"occupancy"`` (list of K shares)
        and ``"max_occupancy_deviation"`` (largest ``|share - 1/K|``).
    """
    report: dict[str, float | list[float]] = {
        "mmd2": mmd(codes, prior_samples, bandwidths)
    }
    if centres is not None:
        shares = component_occupancy(codes, centres)
        report["occupancy"] = [float(s) for s in shares]
        report["max_occupancy_deviation"] = float(
            (shares - 1.0 / len(shares)).abs().max()
        )
    return report
