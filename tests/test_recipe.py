"""One recipe contract: every fit_* has the same signature shape, returns its models in
eval mode, takes the same subset, and retrains when its code changes; the training loop
reads losses once per epoch and prints one summary line."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from course_lib import _recipe, aae, autoencoders, gan, toys, training, vae
from course_lib.batches import TensorBatches
from course_lib.profiles import Budget

# recipe -> number of positional (models, data) parameters
RECIPES: dict[str, tuple[Callable, int]] = {
    "fit_autoencoder": (autoencoders.fit_autoencoder, 2),
    "fit_vae": (vae.fit_vae, 2),
    "fit_gan": (gan.fit_gan, 3),
    "fit_aae": (aae.fit_aae, 2),
    "fit_toy_gan": (toys.fit_toy_gan, 3),
    "fit_point_denoiser": (autoencoders.fit_point_denoiser, 2),
}
CONTRACT = [
    ("budget", inspect.Parameter.empty),
    ("device", "cpu"),
    ("labels", None),
    ("seed", 0),
    ("name", None),
    ("cache", True),
]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_PROGRESS", "off")
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_every_recipe_in_the_package_is_listed() -> None:
    import course_lib

    found = set()
    for path in Path(course_lib.__file__).parent.rglob("*.py"):
        found.update(
            name for name in _defined_functions(path) if name.startswith("fit_")
        )
    assert found == set(RECIPES), (
        "every fit_* keeps the recipe contract of CONTRIBUTING.md (models, data, *, "
        "budget, device, labels, "
        "seed, name, cache, options) and is listed in RECIPES here, so the signature "
        "test covers it"
    )


def _defined_functions(path: Path) -> list[str]:
    import ast

    return [
        node.name
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef)
    ]


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_has_the_same_signature_shape(name: str) -> None:
    recipe, n_positional = RECIPES[name]
    parameters = list(inspect.signature(recipe).parameters.values())
    positional, rest = parameters[:n_positional], parameters[n_positional:]
    assert all(
        p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty for p in positional
    )
    assert all(p.kind is p.KEYWORD_ONLY for p in rest), (
        f"{name}: options after the data must be keyword-only"
    )
    assert [(p.name, p.default) for p in rest[: len(CONTRACT)]] == CONTRACT


def _images(n: int = 40, signed: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(n, 1, 28, 28, generator=generator)
    return (images * 2 - 1 if signed else images), torch.arange(n) % 10


def _all_in_eval_mode(*models: nn.Module) -> bool:
    return all(not m.training for model in models for m in model.modules())


def test_every_recipe_returns_its_models_in_eval_mode() -> None:
    budget = Budget(1, None, 20)
    signed, labels = _images()
    unit, _ = _images(signed=False)
    ae_model, _ = autoencoders.fit_autoencoder(
        autoencoders.Autoencoder(4), signed, budget=budget, cache=False
    )
    vae_model, _ = vae.fit_vae(vae.MLPVAE(4, (8,)), unit, budget=budget, cache=False)
    g, d, _ = gan.fit_gan(
        gan.MLPGenerator(hidden=(8,), batch_norm=True),
        gan.MLPDiscriminator(hidden=(8,)),
        signed,
        budget=budget,
        cache=False,
    )
    aae_model, _ = aae.fit_aae(
        aae.AdversarialAutoencoder(hidden=(8,), disc_hidden=(8,)),
        signed,
        labels=labels,
        budget=budget,
        cache=False,
    )
    tg, td, _ = toys.fit_toy_gan(
        toys.ToyGenerator(),
        toys.ToyDiscriminator(),
        lambda n, r: toys.gaussian_1d(n, generator=r),
        budget=Budget(2, 64, 32),
        frames=2,
        cache=False,
    )
    denoiser, _ = autoencoders.fit_point_denoiser(
        autoencoders.PointDenoiser(8),
        torch.randn(40, 2),
        budget=budget,
        sigma=0.3,
        cache=False,
    )
    assert _all_in_eval_mode(ae_model, vae_model, g, d, aae_model, tg, td, denoiser)


def test_the_subset_rule_is_class_balanced_with_labels_and_seeded_without() -> None:
    images = torch.arange(200, dtype=torch.float32).reshape(200, 1)
    # class 0 holds 75 %
    labels = torch.cat([torch.zeros(150), torch.arange(50) % 4 + 1]).long()
    subset, subset_labels = _recipe.training_subset(images, labels, 40, seed=3)
    assert subset_labels is not None
    # 40 over 5 classes, not 75 % zeros
    assert torch.bincount(subset_labels).tolist() == [8, 8, 8, 8, 8]
    # images and labels stay paired
    assert torch.equal(labels[subset.flatten().long()], subset_labels)
    # the original order is kept
    assert torch.all(subset.flatten()[1:] > subset.flatten()[:-1])
    random, none = _recipe.training_subset(images, None, 40, seed=3)
    assert (
        none is None
        and random.shape == (40, 1)
        and len(set(random.flatten().tolist())) == 40
    )
    assert torch.equal(random, _recipe.training_subset(images, None, 40, seed=3)[0])
    assert not torch.equal(random, _recipe.training_subset(images, None, 40, seed=4)[0])
    assert _recipe.training_subset(images, labels, None, seed=0)[0] is images


def test_fit_gan_trains_on_the_class_balanced_subset(tmp_path) -> None:
    signed, _ = _images(200)
    labels = torch.cat([torch.zeros(150), torch.arange(50) % 4 + 1]).long()
    gan.fit_gan(
        gan.MLPGenerator(hidden=(8,)),
        gan.MLPDiscriminator(hidden=(8,)),
        signed,
        labels=labels,
        budget=Budget(1, 40, 10),
        name="subset",
    )
    (path,) = (tmp_path / "cache").glob("subset-*.pt")
    stored = torch.load(path, weights_only=True)
    balanced, _ = _recipe.training_subset(signed, labels, 40, seed=0)
    assert stored["config"]["data"] == _recipe.describe_data(balanced)
    assert stored["config"]["data"] != _recipe.describe_data(signed[:40])


def _write_module(path: Path, body: str) -> object:
    path.write_text(textwrap.dedent(body))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


MODEL_V1 = """
    from course_lib.gan import MLPGenerator

    class Generator(MLPGenerator):
        def forward(self, z, labels=None):
            return super().forward(z, labels)
    """


def test_the_cache_retrains_after_a_change_of_the_model_code(
    tmp_path, monkeypatch
) -> None:
    signed, _ = _images()
    budget = Budget(1, None, 20)
    calls: list[str] = []
    real_train = gan.train
    monkeypatch.setattr(
        gan, "train", lambda *a, **k: calls.append("trained") or real_train(*a, **k)
    )

    def fit(module: object) -> None:
        gan.fit_gan(
            module.Generator(hidden=(8,)),
            gan.MLPDiscriminator(hidden=(8,)),
            signed,  # type: ignore[attr-defined]
            budget=budget,
            name="changing",
        )

    try:
        fit(_write_module(tmp_path / "recipe_v1.py", MODEL_V1))
        fit(_write_module(tmp_path / "recipe_v1.py", MODEL_V1))
        assert calls == ["trained"]  # the same code: the second call loads the cache
        changed = MODEL_V1.replace(
            "return super().forward(z, labels)",
            "return super().forward(z, labels) * 1.0",
        )
        fit(_write_module(tmp_path / "recipe_v1.py", changed))
        # the same name, config and data, but new code: trained again
        assert calls == ["trained", "trained"]
        assert len(list((tmp_path / "cache").glob("changing-*.pt"))) == 2
    finally:
        sys.modules.pop("recipe_v1", None)


def test_the_fingerprint_covers_the_recipe_and_the_library_bases(tmp_path) -> None:
    v1 = _write_module(tmp_path / "fingerprint_a.py", "def recipe():\n    return 1\n")
    v2 = _write_module(tmp_path / "fingerprint_b.py", "def recipe():\n    return 2\n")
    same = _write_module(tmp_path / "fingerprint_c.py", "def recipe():\n    return 1\n")
    try:
        assert _recipe.code_fingerprint(v1.recipe) != _recipe.code_fingerprint(
            v2.recipe
        )  # type: ignore[attr-defined]
        assert _recipe.code_fingerprint(v1.recipe) == _recipe.code_fingerprint(
            same.recipe
        )  # type: ignore[attr-defined]
        # a model's fingerprint includes the course_lib classes it inherits from
        objects = list(_recipe._code_objects(vae.MLPVAE(4, (8,))))
        assert vae.MLPVAE in objects and vae._VAE in objects
    finally:
        for name in ("fingerprint_a", "fingerprint_b", "fingerprint_c"):
            sys.modules.pop(name, None)


def test_the_fingerprint_covers_the_training_step_of_each_recipe(
    tmp_path, monkeypatch
) -> None:
    signed, _ = _images()
    budget = Budget(1, None, 20)

    def stored_code() -> str:
        (path,) = (tmp_path / "cache").glob("stepcheck-*.pt")
        code = torch.load(path, weights_only=True)["config"]["code"]
        path.unlink()
        return code

    def fit() -> None:
        gan.fit_gan(
            gan.MLPGenerator(hidden=(8,)),
            gan.MLPDiscriminator(hidden=(8,)),
            signed,
            budget=budget,
            name="stepcheck",
        )

    fit()
    original = stored_code()
    real = _recipe.inspect.getsource

    def edited(obj):  # the source of adversarial_step as if one line had changed
        return real(obj) + ("# edited" if obj is gan.adversarial_step else "")

    monkeypatch.setattr(_recipe.inspect, "getsource", edited)
    fit()
    assert stored_code() != original


class _Reads:
    """Counts the ways a tensor's value reaches the host."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for method in ("__float__", "item", "tolist", "__bool__", "numpy"):
            original = getattr(torch.Tensor, method)

            def counted(tensor, *args, _original=original, **kwargs):
                self.count += 1
                return _original(tensor, *args, **kwargs)

            monkeypatch.setattr(torch.Tensor, method, counted)


@pytest.mark.parametrize("n_batches", [4, 16])
def test_losses_are_read_once_per_epoch_whatever_the_number_of_batches(
    monkeypatch, n_batches: int
) -> None:
    batches = TensorBatches(torch.arange(8.0 * n_batches), batch_size=8, shuffle=False)
    reads = _Reads(monkeypatch)
    history = training.train(
        lambda b: {"a": b[0].mean(), "b": b[0].max()}, batches, epochs=3
    )
    assert reads.count == 3  # one read per epoch for both losses, not one per batch
    monkeypatch.undo()
    assert history["a"][0] == pytest.approx((8 * n_batches - 1) / 2)


def test_plain_progress_is_one_summary_line_without_timings_or_paths(
    monkeypatch, capsys, tmp_path
) -> None:
    monkeypatch.setenv("COURSE_PROGRESS", "plain")
    signed, _ = _images()
    autoencoders.fit_autoencoder(
        autoencoders.Autoencoder(4), signed, budget=Budget(3, None, 20), name="ae-run"
    )
    trained = capsys.readouterr().out.splitlines()
    autoencoders.fit_autoencoder(
        autoencoders.Autoencoder(4), signed, budget=Budget(3, None, 20), name="ae-run"
    )
    loaded = capsys.readouterr().out.splitlines()
    assert len(trained) == 1 and trained[0].startswith("ae-run: 3 epochs, loss ")
    # the loaded model prints the very line its training printed: no build talk
    assert loaded == trained
    assert not any(
        " s)" in line or "/" in line or "second" in line for line in trained + loaded
    )


def test_bar_progress_draws_a_tqdm_bar(monkeypatch, capsys) -> None:
    monkeypatch.setenv("COURSE_PROGRESS", "bar")
    training.train(
        lambda b: {"loss": b[0].mean()},
        TensorBatches(torch.zeros(40), batch_size=8),
        2,
        name="run",
    )
    captured = capsys.readouterr()
    assert (
        captured.out == "" and "run: 100%" in captured.err and "10/10" in captured.err
    )


def test_forward_passes_read_no_values(monkeypatch) -> None:
    """Shape-only checks in forward: no network call copies a value to the host (a GPU
    stall)."""
    reads = _Reads(monkeypatch)
    images = torch.rand(8, 1, 28, 28)
    signed = images * 2 - 1
    labels = torch.arange(8) % 10
    gan.DCDiscriminator(ndf=4, n_classes=10)(signed, labels)
    gan.DCGenerator(latent_dim=8, ngf=4, n_classes=10)(torch.randn(8, 8), labels)
    gan.MLPDiscriminator(hidden=(8,), minibatch_features=4)(signed)
    vae.MLPVAE(4, (8,))(images)
    autoencoders.Autoencoder(4)(signed)
    model = aae.AdversarialAutoencoder(hidden=(8,), disc_hidden=(8,), n_classes=10)
    model.discriminate(model.encode(signed), labels)
    assert reads.count == 0
