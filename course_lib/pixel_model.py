"""Lesson 0's foil: a generative model in which every pixel is independent.

Given a class ``y``, each of the 784 binarised pixels is an independent coin with its
own probability: ``p(x | y) = prod_j theta_{y j}^{x_j} (1 - theta_{y j})^{1 - x_j}``.
With the class prior ``p(y)``, this one model can *classify* (Bayes' rule gives
``p(y | x)``), *score* an image (``log p(x)`` in nats), and *generate* (draw ``y``, then
every pixel). It classifies decently and generates badly, because real pixels are not
independent: the gap the rest of the course closes.
"""

from __future__ import annotations

import torch

from course_lib.errors import CourseInputError, check_tensor


class BernoulliPixelModel:
    """Class-conditional independent-Bernoulli pixels (the naive Bayes classifier for
    images).

    Attributes:
        theta: ``(10, 784)`` pixel probabilities per class, in ``(0, 1)`` after
            smoothing.
        log_prior: ``(10,)`` log class frequencies ``log p(y)``.
    """

    def __init__(self, num_classes: int = 10, smoothing: float = 1.0) -> None:
        if smoothing <= 0:
            raise CourseInputError(
                "smoothing must be positive (it keeps theta away from 0 and 1), got "
                f"{smoothing}"
            )
        self.num_classes = num_classes
        self.smoothing = smoothing
        self.theta: torch.Tensor | None = None
        self.log_prior: torch.Tensor | None = None

    @staticmethod
    def _flat_binary(x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", value_range=(0.0, 1.0))
        if x.dim() < 2 or x[0].numel() != 784:
            raise CourseInputError(
                "x must hold 28x28 images, shape (N, 1, 28, 28) or (N, 784), got "
                f"{tuple(x.shape)}"
            )
        return (x.reshape(len(x), 784) > 0.5).float()

    def fit(self, images: torch.Tensor, labels: torch.Tensor) -> BernoulliPixelModel:
        """Estimate ``theta`` by smoothed counting (``(ones + s) / (n + 2s)``) and the
        prior by frequency.

        Args:
            images: ``(N, 1, 28, 28)`` in ``[0, 1]``; pixels are binarised at 0.5.
            labels: ``(N,)`` integers in ``0..num_classes-1``.
        """
        x = self._flat_binary(images)
        if labels.shape != (len(x),):
            raise CourseInputError(
                f"labels must have shape ({len(x)},), got {tuple(labels.shape)}"
            )
        # (N, K)
        one_hot = torch.nn.functional.one_hot(labels, self.num_classes).float()
        counts = one_hot.sum(0)  # (K,)
        ones = one_hot.T @ x  # (K, 784): how often each pixel is on in each class
        self.theta = (ones + self.smoothing) / (counts[:, None] + 2 * self.smoothing)
        self.log_prior = torch.log(
            (counts + self.smoothing)
            / (counts.sum() + self.num_classes * self.smoothing)
        )
        return self

    def _require_fit(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.theta is None or self.log_prior is None:
            raise CourseInputError(
                "the model is not fitted yet: call .fit(images, labels) first"
            )
        return self.theta, self.log_prior

    def log_likelihood_given_class(self, images: torch.Tensor) -> torch.Tensor:
        """``log p(x | y)`` for every class: ``(N, K)`` in nats (sum over the 784
        pixels)."""
        theta, _ = self._require_fit()
        x = self._flat_binary(images)
        return x @ torch.log(theta).T + (1 - x) @ torch.log1p(-theta).T

    def log_joint(self, images: torch.Tensor) -> torch.Tensor:
        """``log p(x, y) = log p(x | y) + log p(y)``: ``(N, K)`` in nats."""
        _, log_prior = self._require_fit()
        return self.log_likelihood_given_class(images) + log_prior

    def log_evidence(self, images: torch.Tensor) -> torch.Tensor:
        """``log p(x) = log sum_y p(x, y)``: ``(N,)`` in nats per image (of the
        binarised image)."""
        return torch.logsumexp(self.log_joint(images), dim=1)

    def predict_proba(self, images: torch.Tensor) -> torch.Tensor:
        """Bayes' rule ``p(y | x) = p(x, y) / p(x)``: ``(N, K)``, rows sum to 1."""
        return torch.softmax(self.log_joint(images), dim=1)

    def sample(
        self, labels: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw one image per label from ``p(x | y)``: ``(N, 1, 28, 28)`` with values in
        ``{0, 1}``."""
        theta, _ = self._require_fit()
        probabilities = theta[labels]
        return torch.bernoulli(probabilities, generator=generator).reshape(
            -1, 1, 28, 28
        )
