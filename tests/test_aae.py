"""Adversarial autoencoder: shapes, the two training phases on a tiny batch, and clear
errors."""

import pytest
import torch

from course_lib import aae as aae_module
from course_lib.aae import AdversarialAutoencoder, encode_all, fit_aae
from course_lib.errors import CourseInputError
from course_lib.priors import mixture_prior
from course_lib.profiles import Budget


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_PROGRESS", "off")
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: one thread is faster
    yield
    torch.set_num_threads(threads)


def tiny_digits(n=100):
    """Bars at ten positions: ten easy classes, in [-1, 1]."""
    labels = torch.arange(n) % 10
    images = -torch.ones(n, 1, 28, 28)
    for i, k in enumerate(labels.tolist()):
        images[i, 0, 4:24, 2 + 2 * k : 4 + 2 * k] = 1.0
    return images, labels


def test_shapes_and_ranges():
    model = AdversarialAutoencoder(hidden=(32,), disc_hidden=(16,))
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    z = model.encode(x)
    assert z.shape == (5, 2)
    out = model.decode(z)
    assert out.shape == (5, 1, 28, 28) and out.abs().max() <= 1
    assert model.discriminate(z).shape == (5,)
    assert encode_all(model, x, batch_size=2).shape == (5, 2)


def test_reconstruction_loss_falls_and_both_phases_run():
    torch.manual_seed(0)
    images, labels = tiny_digits()
    model = AdversarialAutoencoder(hidden=(128,), disc_hidden=(32,))
    with torch.no_grad():
        start = ((model(images) - images) ** 2).mean().item()
    model, history = fit_aae(
        model, images, labels=labels, budget=Budget(30, None, 25), prior="gaussian"
    )
    assert set(history.keys()) >= {"recon", "d_loss", "g_loss", "d_prior", "d_code"}
    assert history["recon"][-1] < 0.6 * start
    assert history["recon"][-1] < history["recon"][0]
    assert all(0 <= v <= 1 for v in history["d_prior"] + history["d_code"])


def test_gaussian_prior_in_any_code_size():
    """With prior="gaussian" the discriminator's real samples are N(0, I) in the
    model's code size (every third discriminator call of a step is on prior
    samples)."""
    torch.manual_seed(0)
    images, labels = tiny_digits()
    model = AdversarialAutoencoder(latent_dim=8, hidden=(32,), disc_hidden=(16,))
    seen: list[torch.Tensor] = []
    model.discriminator.register_forward_hook(
        lambda module, inputs, output: seen.append(inputs[0].detach().clone())
    )
    model, history = fit_aae(
        model, images, labels=labels, budget=Budget(20, None, 25), prior="gaussian"
    )
    assert len(seen) == 3 * 20 * 4  # three calls per step, 4 steps per epoch
    prior_samples = torch.cat(seen[0::3])
    assert prior_samples.shape == (20 * 100, 8)
    assert prior_samples.mean(dim=0).abs().max() < 0.1
    assert (prior_samples.std(dim=0) - 1).abs().max() < 0.1
    assert encode_all(model, images).shape == (100, 8)
    assert model.decode(torch.zeros(3, 8)).shape == (3, 1, 28, 28)
    assert all(0 <= v <= 1 for v in history["d_prior"] + history["d_code"])


def test_supervised_variant_and_cache(monkeypatch):
    images, labels = tiny_digits(50)
    torch.manual_seed(0)
    model, history = fit_aae(
        AdversarialAutoencoder(hidden=(16,), disc_hidden=(8,), n_classes=10),
        images,
        labels=labels,
        budget=Budget(2, None, 25),
        prior="mixture",
        supervised=True,
    )
    with monkeypatch.context() as patch:
        patch.setattr(
            aae_module,
            "train",
            lambda *a, **k: pytest.fail("trained instead of loading the cache"),
        )
        torch.manual_seed(5)  # other initial weights: a cache hit replaces them
        again, history_again = fit_aae(
            AdversarialAutoencoder(hidden=(16,), disc_hidden=(8,), n_classes=10),
            images,
            labels=labels,
            budget=Budget(2, None, 25),
            prior="mixture",
            supervised=True,
        )
    assert history_again.values == history.values  # loaded from the cache
    assert torch.equal(model.encoder[0].weight, again.encoder[0].weight)
    _, swiss = fit_aae(
        AdversarialAutoencoder(hidden=(16,), disc_hidden=(8,)),
        images,
        labels=labels,
        budget=Budget(1, None, 25),
        prior="swiss_roll",
        cache=False,
    )
    assert swiss.epochs == 1


def test_bad_inputs_raise_clear_errors():
    images, labels = tiny_digits(20)
    plain = AdversarialAutoencoder(hidden=(8,), disc_hidden=(8,))
    budget = Budget(1, None, 10)
    with pytest.raises(CourseInputError, match=r"\[-1, 1\]"):
        fit_aae(plain, images * 10, labels=labels, budget=budget, cache=False)
    with pytest.raises(CourseInputError, match="unknown prior"):
        fit_aae(
            plain, images, labels=labels, budget=budget, prior="laplace", cache=False
        )
    with pytest.raises(CourseInputError, match="n_classes=10"):
        fit_aae(
            plain, images, labels=labels, budget=budget, supervised=True, cache=False
        )
    with pytest.raises(CourseInputError, match="components"):
        fit_aae(
            AdversarialAutoencoder(n_classes=10),
            images,
            labels=labels,
            budget=budget,
            prior="gaussian",
            supervised=True,
            cache=False,
        )
    with pytest.raises(CourseInputError, match="supervised=False"):
        fit_aae(
            AdversarialAutoencoder(hidden=(8,), n_classes=10),
            images,
            labels=labels,
            budget=budget,
            cache=False,
        )
    with pytest.raises(CourseInputError, match="latent_dim=2.*prior='gaussian'"):
        fit_aae(
            AdversarialAutoencoder(latent_dim=3, hidden=(8,)),
            images,
            labels=labels,
            budget=budget,
            prior="swiss_roll",
            cache=False,
        )
    with pytest.raises(CourseInputError, match=r"shape \(N, 2\)"):
        plain.decode(torch.zeros(4, 3))
    with pytest.raises(CourseInputError, match=r"shape \(N, 1, 28, 28\)"):
        plain.encode(torch.zeros(4, 784))


def test_train_code_discriminator_tells_far_codes_from_the_prior() -> None:
    # codes piled at one point far outside the ten petals (radius about 4): any working
    # discriminator rates prior samples near 1 and these codes near 0
    far = torch.full((500, 2), 12.0)
    critic = aae_module.train_code_discriminator(far, steps=200)
    prior, _ = mixture_prior(500, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.sigmoid(critic(prior)).mean() > 0.8
        assert torch.sigmoid(critic(far)).mean() < 0.2


def test_train_code_discriminator_rejects_codes_of_the_wrong_shape() -> None:
    with pytest.raises(CourseInputError, match="codes"):
        aae_module.train_code_discriminator(torch.zeros(10, 3))
