"""Lesson 3's claims: the convolutional VAE beats the MLP VAE at the same budget; a
large beta switches code units off; a plain autoencoder's lerp paths leave its codes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from sklearn.neighbors import KNeighborsClassifier

from claims import Outcome
from course_lib.autoencoders import PCA, DeepAutoencoder, fit_autoencoder
from course_lib.data import load_mnist, to_signed, to_unit
from course_lib.evaluator import Evaluator, load_evaluator
from course_lib.objectives import elbo, test_negative_elbo
from course_lib.settings import Settings
from course_lib.vae import MLPVAE, ConvVAE, fit_vae


def claim_conv_vae_beats_mlp_vae(settings: Settings) -> Outcome:
    """Same budget: the conv VAE (output bias at the mean) beats the MLP VAE's -ELBO.

    Both train 10 epochs on the 60 000 training images (the ``vae`` and ``conv_vae``
    budgets); the conv VAE's output bias starts at the logit of the mean pixel.
    """
    images, labels = load_mnist("train")
    x_test = load_mnist("test")[0][: settings.profile.n_test]
    scores = {}
    for name, model, recipe, options in (
        ("mlp", MLPVAE(), "vae", {}),
        ("conv", ConvVAE(), "conv_vae", {"init_output_bias": True}),
    ):
        torch.manual_seed(settings.seed)
        trained, _ = fit_vae(
            model,
            images,
            labels=labels,
            budget=settings.profile.budget(recipe),
            device=settings.device,
            seed=settings.seed,
            **options,
        )
        scores[f"{name}_test_nelbo"] = test_negative_elbo(
            trained, x_test, seed=settings.seed
        )
    return Outcome(
        values=scores, passed=scores["conv_test_nelbo"] < scores["mlp_test_nelbo"]
    )


def _trained_mlp_vae(
    settings: Settings,
    images: torch.Tensor,
    labels: torch.Tensor,
    recipe: str = "ae",
    beta: float = 1.0,
    kl_warmup: float = 0.0,
) -> MLPVAE:
    """``MLPVAE()`` trained as the lesson does: the main model with the ``vae`` budget,
    the comparison models (the beta sweep) with the small ``ae`` budget."""
    torch.manual_seed(settings.seed)
    model, _ = fit_vae(
        MLPVAE(),
        images,
        labels=labels,
        budget=settings.profile.budget(recipe),
        device=settings.device,
        seed=settings.seed,
        beta=beta,
        kl_warmup=kl_warmup,
    )
    return model


def claim_beta_switches_off_units(settings: Settings) -> Outcome:
    """At the comparison budget all 20 code units are active (Var_x mu_j > 0.01) at
    beta = 1; beta = 8 switches units off (together < 0.1 nats of KL); KL warm-up over
    the first half of the run gives the beta = 8 model >= 20 % more KL and a lower test
    beta-objective."""
    images, labels = load_mnist("train")
    x_test = load_mnist("test")[0][: settings.profile.n_test].to(settings.device)
    generator = torch.Generator(settings.device).manual_seed(settings.seed)
    values: dict[str, float] = {}
    for beta, warmup in ((1.0, 0.0), (4.0, 0.0), (8.0, 0.0), (8.0, 0.5)):
        model = _trained_mlp_vae(settings, images, labels, beta=beta, kl_warmup=warmup)
        with torch.no_grad():
            mu, logvar = model.encode(x_test)
            recon = -torch.cat(
                [
                    elbo(model, x_test[i : i + 500], generator=generator).log_likelihood
                    for i in range(0, len(x_test), 500)
                ]
            ).mean()
        active = mu.var(dim=0) > 0.01
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).mean(dim=0)  # (d,) nats
        key = f"{beta:g}" + ("_warmup" if warmup else "")
        values[f"active_beta{key}"] = int(active.sum())
        values[f"kl_beta{key}"] = float(kl.sum())
        values[f"kl_inactive_beta{key}"] = float(kl[~active].sum())
        values[f"objective_beta{key}"] = float(recon) + beta * float(kl.sum())
    passed = (
        values["active_beta1"] == 20
        and values["active_beta8"] < 20
        and values["kl_inactive_beta8"] < 0.1
        and values["kl_beta8_warmup"] >= 1.2 * values["kl_beta8"]
        and values["objective_beta8_warmup"] < values["objective_beta8"]
    )
    return Outcome(values=values, passed=passed)


def _path_scores(
    encode: Callable[[torch.Tensor], torch.Tensor],
    decode: Callable[[torch.Tensor], torch.Tensor],
    x_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    evaluator: Evaluator,
) -> tuple[float, float, float]:
    """Lerp midpoints between codes of test images of different digits: (median
    distance to the nearest training code in units of the training codes' own spacing,
    at the midpoint; the frozen classifier's mean confidence at the ends; at the
    midpoint)."""
    with torch.no_grad():
        reference = encode(x_train[:5000])  # (5000, d)
        spacing = torch.cdist(reference, reference).fill_diagonal_(float("inf"))
        spacing = spacing.min(dim=1).values.median()
        half = min(len(x_test), 1000) // 2
        pairs = y_test[:half] != y_test[half : 2 * half]
        za = encode(x_test[:half])[pairs]
        zb = encode(x_test[half : 2 * half])[pairs]
        middle = 0.5 * (za + zb)
        gap = torch.cdist(middle, reference).min(dim=1).values.median() / spacing
        confidence_ends = evaluator.probs(decode(za)).max(dim=1).values.mean()
        confidence_middle = evaluator.probs(decode(middle)).max(dim=1).values.mean()
    return float(gap), float(confidence_ends), float(confidence_middle)


def claim_interpolation_ae_vs_vae(settings: Settings) -> Outcome:
    """Lerp midpoints between the codes of two test digits lie farther from the training
    codes (in units of their spacing) for the plain deep autoencoder than for the VAE;
    the classifier's confidence at the midpoint differs by < 0.05 between the two."""
    images, labels = load_mnist("train")
    test_images, test_labels = load_mnist("test")
    x_test = test_images[: settings.profile.n_test].to(settings.device)
    y_test = test_labels[: settings.profile.n_test].to(settings.device)
    x_train = images.to(settings.device)
    evaluator = load_evaluator(settings.device)
    vae = _trained_mlp_vae(settings, images, labels, recipe="vae")
    torch.manual_seed(settings.seed)
    ae, _ = fit_autoencoder(
        DeepAutoencoder(vae.latent_dim),
        to_signed(images),
        labels=labels,
        budget=settings.profile.budget("ae"),
        device=settings.device,
        seed=settings.seed,
    )
    values: dict[str, float] = {}
    for name, encode, decode in (
        ("vae", lambda x: vae.encode(x)[0], lambda z: torch.sigmoid(vae.decode(z))),
        ("ae", lambda x: ae.encode(to_signed(x)), lambda z: to_unit(ae.decode(z))),
    ):
        scores = _path_scores(encode, decode, x_train, x_test, y_test, evaluator)
        for key, value in zip(("gap", "confidence_ends", "confidence_middle"), scores):
            values[f"{name}_{key}"] = value
    passed = values["ae_gap"] > values["vae_gap"] and (
        abs(values["ae_confidence_middle"] - values["vae_confidence_middle"]) < 0.05
    )
    return Outcome(values=values, passed=passed)


def _knn_accuracy(codes: torch.Tensor, labels: torch.Tensor) -> float:
    """5-NN fitted on the first half of ``codes`` (N, d), scored on the second half:
    accuracy in [0, 1]."""
    half = len(codes) // 2
    classifier = KNeighborsClassifier(n_neighbors=5).fit(
        codes[:half].numpy(), labels[:half].numpy()
    )
    return float(classifier.score(codes[half:].numpy(), labels[half:].numpy()))


def claim_knn_codes_vs_baselines(settings: Settings) -> Outcome:
    """A 5-NN classifier on the main VAE's code means (fitted on half of the test codes,
    scored on the other half) is within 3 points of raw pixels and of PCA's 20 numbers
    (fitted on 20 000 training images); main > briefly trained > untrained encoder,
    and main > 85 %."""
    images, labels = load_mnist("train")
    test_images, test_labels = load_mnist("test")
    x_test = test_images[: settings.profile.n_test].to(settings.device)
    y_test = test_labels[: settings.profile.n_test]
    main = _trained_mlp_vae(settings, images, labels, recipe="vae")
    torch.manual_seed(settings.seed)
    untrained = MLPVAE().to(settings.device).eval()
    small = _trained_mlp_vae(settings, images, labels, recipe="ae")
    values: dict[str, float] = {}
    with torch.no_grad():
        for name, model in (("untrained", untrained), ("small", small), ("main", main)):
            codes = model.encode(x_test)[0].cpu()  # (n_test, 20)
            values[f"knn_{name}"] = _knn_accuracy(codes, y_test)
    pca = PCA(images[:20_000])
    values["knn_pixels"] = _knn_accuracy(x_test.cpu().flatten(1), y_test)
    values["knn_pca"] = _knn_accuracy(pca.encode(x_test.cpu(), main.latent_dim), y_test)
    passed = (
        abs(values["knn_main"] - values["knn_pca"]) < 0.03
        and abs(values["knn_main"] - values["knn_pixels"]) < 0.03
        and values["knn_main"] > values["knn_small"] > values["knn_untrained"]
        and values["knn_main"] > 0.85
    )
    return Outcome(values=values, passed=passed)
