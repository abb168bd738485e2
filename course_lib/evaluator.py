"""The frozen MNIST evaluator: a small CNN classifier that ships with the course.

Every sample-quality number in the course (class coverage, classifier Inception Score,
Fréchet distance) is computed with this one network, so numbers are comparable across
lessons. Its weights live in ``course_lib/assets/evaluator.pt`` (about 0.5 MB), are
checked against :data:`EVALUATOR_SHA256` and are loaded with
``torch.load(weights_only=True)``, so the file can never run code.

Rebuild it (4 epochs, about 2 minutes on 2 idle CPU cores) with::

    python -m benchmarks.evaluator --train

which trains with the shared loop, writes the file, and prints the test accuracy and the
new SHA-256 to paste into :data:`EVALUATOR_SHA256`. Check the shipped file, and print
what real data scores, with ``python -m benchmarks.evaluator --report``.

Reference figures of the shipped weights (seed 0, torch 2.x, CPU): test accuracy 99.10 %
on the 10 000 test images; real test images: Inception Score 9.67, all 10 classes
covered, KL to uniform 0.0018; Fréchet real-data floor (train vs test) 1.78 at n = 5 000
and 1.37 at n = 10 000.

Inputs are images ``(N, 1, 28, 28)`` in ``[0, 1]``. Images of tanh models (``[-1, 1]``)
must be converted with :func:`course_lib.data.to_unit` first, or passed with
``signed=True``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.batches import TensorBatches
from course_lib.data import load_mnist, stratified_subset
from course_lib.errors import CourseInputError, DataError, check_tensor
from course_lib.profiles import Budget, get_profile
from course_lib.settings import seed_everything
from course_lib.training import History, train

EVALUATOR_PATH = Path(__file__).resolve().parent / "assets" / "evaluator.pt"
EVALUATOR_SHA256 = "4678fb795379e43605d93e11fb570cf5b6c0a27dd3ff95236c203134e76d27ac"
FEATURE_DIM = 128
NUM_CLASSES = 10


class MnistClassifier(nn.Module):
    """Three 3x3 conv blocks (32, 64, 64 channels, each ReLU + 2x2 max-pool), a 128-d
    layer, 10 logits.

    About 131 000 parameters. Shapes: ``(N, 1, 28, 28)`` -> conv blocks ->
    ``(N, 64, 3, 3)`` -> ``features`` ``(N, 128)`` (after ReLU) -> ``logits``
    ``(N, 10)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 3 * 3, FEATURE_DIM)
        self.fc2 = nn.Linear(FEATURE_DIM, NUM_CLASSES)
        self.dropout = nn.Dropout(0.3)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features: ``(N, 1, 28, 28)`` in ``[0, 1]`` -> ``(N, 128)``,
        non-negative."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (N, 32, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (N, 64, 7, 7)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)  # (N, 64, 3, 3)
        return F.relu(self.fc1(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits: ``(N, 1, 28, 28)`` in ``[0, 1]`` -> ``(N, 10)``."""
        return self.fc2(self.dropout(self.features(x)))


class Evaluator:
    """The frozen classifier in eval mode, with input checks and batching.

    Every method takes images ``(N, 1, 28, 28)`` in ``[0, 1]`` on any device
    (``signed=True`` accepts ``[-1, 1]`` and converts with ``(x + 1) / 2``), works in
    batches of ``batch_size`` without gradients, and returns CPU tensors.

    Args:
        model: a trained :class:`MnistClassifier`.
        device: where the network runs.
        batch_size: images per forward pass.
    """

    def __init__(
        self,
        model: MnistClassifier,
        device: torch.device | str = "cpu",
        *,
        batch_size: int = 1000,
    ):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        self.batch_size = batch_size

    def _prepare(self, images: torch.Tensor, signed: bool) -> torch.Tensor:
        check_tensor(images, "images", shape=(None, 1, 28, 28))
        if signed:
            check_tensor(images, "images", value_range=(-1.0, 1.0))
            return (images + 1.0) / 2.0
        if images.numel() and float(images.min()) < -1e-4:
            raise CourseInputError(
                "the evaluator expects images in [0, 1], got a minimum of "
                f"{float(images.min()):.3g}; "
                "convert tanh outputs with course_lib.data.to_unit, or pass signed=True"
            )
        return check_tensor(images, "images", value_range=(0.0, 1.0))

    @torch.no_grad()
    def _run(self, images: torch.Tensor, signed: bool, head: str) -> torch.Tensor:
        images = self._prepare(images, signed)
        outputs = []
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size].to(self.device)
            out = (
                self.model.features(batch) if head == "features" else self.model(batch)
            )
            outputs.append(out.float().cpu())
        if not outputs:
            width = FEATURE_DIM if head == "features" else NUM_CLASSES
            return torch.zeros(0, width)
        return torch.cat(outputs)

    def logits(self, images: torch.Tensor, *, signed: bool = False) -> torch.Tensor:
        """Class logits ``(N, 10)`` for images ``(N, 1, 28, 28)``."""
        return self._run(images, signed, "logits")

    def probs(self, images: torch.Tensor, *, signed: bool = False) -> torch.Tensor:
        """Class probabilities ``(N, 10)``, rows summing to 1."""
        return self.logits(images, signed=signed).softmax(dim=1)

    def predict(self, images: torch.Tensor, *, signed: bool = False) -> torch.Tensor:
        """Predicted classes ``(N,)``, ``int64`` in ``0..9``."""
        return self.logits(images, signed=signed).argmax(dim=1)

    def features(self, images: torch.Tensor, *, signed: bool = False) -> torch.Tensor:
        """Penultimate features ``(N, 128)`` (used by the Fréchet distance)."""
        return self._run(images, signed, "features")

    def accuracy(
        self, images: torch.Tensor, labels: torch.Tensor, *, signed: bool = False
    ) -> float:
        """Share of ``images`` whose predicted class equals ``labels`` (``(N,)`` ints),
        in ``[0, 1]``."""
        check_tensor(labels, "labels", shape=(len(images),), floating=False)
        return float(
            (self.predict(images, signed=signed) == labels.cpu()).float().mean()
        )


def file_sha256(path: Path | str) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_evaluator(
    device: torch.device | str = "cpu",
    *,
    path: Path | str | None = None,
    expected_sha256: str | None = None,
) -> Evaluator:
    """Load the frozen evaluator after checking its SHA-256.

    Args:
        device: where the network runs.
        path: another weight file (for tests); default :data:`EVALUATOR_PATH`.
        expected_sha256: the checksum it must have; default :data:`EVALUATOR_SHA256`.

    Raises:
        DataError: when the file is missing or its checksum does not match, saying how
            to restore it.
    """
    file = Path(path) if path is not None else EVALUATOR_PATH
    expected = expected_sha256 or EVALUATOR_SHA256
    if not file.is_file():
        raise DataError(
            f"the evaluator weights are missing: {file}. Restore them with "
            "`git checkout -- course_lib/assets/evaluator.pt`, "
            "or rebuild them with `python -m benchmarks.evaluator --train`."
        )
    digest = file_sha256(file)
    if digest != expected:
        raise DataError(
            f"the evaluator weights {file} are corrupted or were changed (SHA-256 "
            f"{digest[:12]}..., expected "
            f"{expected[:12]}...). Restore them with `git checkout -- "
            "course_lib/assets/evaluator.pt`; "
            "after a deliberate rebuild, paste the new SHA-256 into "
            "course_lib.evaluator.EVALUATOR_SHA256."
        )
    state = torch.load(file, map_location="cpu", weights_only=True)
    model = MnistClassifier()
    model.load_state_dict(state)
    return Evaluator(model, device)


def train_evaluator(
    budget: Budget | None = None,
    *,
    lr: float = 1e-3,
    lr_decay: float = 0.6,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[MnistClassifier, History]:
    """Train a fresh :class:`MnistClassifier` on MNIST with the shared training loop.

    Adam with learning rate ``lr``, multiplied by ``lr_decay`` after every epoch;
    cross-entropy loss.

    Args:
        budget: epochs, training-set size and batch size; default
            ``get_profile("cpu").budget("evaluator")`` (4 epochs over all 60 000 images,
            batch 128).
        lr: initial Adam learning rate.
        lr_decay: factor applied to the learning rate after each epoch.
        seed: seeds weights, dropout and batch order.
        device: where to train.

    Returns:
        ``(model, history)``: the trained model in eval mode on the CPU, and the
        per-epoch history (``loss``, ``accuracy`` on the training batches).
    """
    budget = budget or get_profile("cpu").budget("evaluator")
    seed_everything(seed)
    images, labels = load_mnist("train")
    images, labels = stratified_subset(images, labels, budget.n_train, seed=seed)
    model = MnistClassifier().to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma=lr_decay)

    def step(batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        x, y = batch
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        return {"loss": loss, "accuracy": (logits.argmax(1) == y).float().mean()}

    model.train()
    batches = TensorBatches(
        images, labels, batch_size=budget.batch_size, device=device, seed=seed
    )
    decay = [lambda epoch, history: scheduler.step()]
    history = train(step, batches, budget.epochs, name="evaluator", callbacks=decay)
    return model.cpu().eval(), history


def save_weights(model: MnistClassifier, path: Path | str) -> str:
    """Write ``model``'s state dict (CPU tensors only) to ``path`` and return the file's
    SHA-256."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, path)
    return file_sha256(path)
