"""Choose the VAEs' peak learning rates on a validation split, never on the test set.

Not part of the benchmark: the experiment behind ``MLPVAE.default_lr`` and
``ConvVAE.default_lr`` (``course_lib/vae.py``), quoted in lesson 3. Each model trains
with the lesson's own recipe (``course_lib.vae.fit_vae``: Adam, cosine decay to 0,
the ``vae`` / ``conv_vae`` budget of the chosen profile, the conv VAE with its output
bias at the mean pixel as in the lesson) on the **first 50 000** training images, and
is scored by the negative ELBO (``z`` sampled, ``test_negative_elbo``) of the **last
10 000** training images. The test images are never read.

Results go to ``benchmarks/<profile>/vae_lr_validation.json`` (one row per model and
learning rate, written after each run, so an interrupted run keeps what it finished
and a rerun skips it) and a table in ``vae_lr_validation.txt`` beside it.

Usage (the run quoted in lesson 3; about 25 minutes on one CPU thread)::

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/experiments/vae_lr_validation.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import course_lib
from course_lib.data import load_mnist
from course_lib.objectives import test_negative_elbo
from course_lib.vae import MLPVAE, ConvVAE, fit_vae

REPO = Path(__file__).resolve().parents[2]
N_FIT = 50_000  # the first N_FIT training images train; the rest score
MODELS = {"mlp": (MLPVAE, "vae", False), "conv": (ConvVAE, "conv_vae", True)}
DEFAULT_LRS = {"mlp": [1e-3, 2e-3, 4e-3, 8e-3], "conv": [1e-3, 2e-3, 4e-3]}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--mlp-lrs", type=float, nargs="+", default=DEFAULT_LRS["mlp"])
    parser.add_argument(
        "--conv-lrs", type=float, nargs="+", default=DEFAULT_LRS["conv"]
    )
    parser.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "gpu"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, help="JSON file (default benchmarks/<profile>/...)"
    )
    return parser.parse_args()


def split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fitting images ``(50000, 1, 28, 28)`` and their labels, and the validation
    images ``(10000, 1, 28, 28)``, all in ``[0, 1]``."""
    images, labels = load_mnist("train")
    return images[:N_FIT], labels[:N_FIT], images[N_FIT:]


def validate(
    model_name: str, lr: float, settings: course_lib.settings.Settings
) -> dict[str, float | int | str]:
    """Train one model at peak learning rate ``lr``; its validation negative ELBO."""
    fit_images, fit_labels, val_images = split()
    model_class, recipe, init_bias = MODELS[model_name]
    budget = settings.profile.budget(recipe)
    torch.manual_seed(settings.seed)
    started = time.perf_counter()
    model, history = fit_vae(
        model_class(),
        fit_images,
        labels=fit_labels,
        budget=budget,
        device=settings.device,
        seed=settings.seed,
        cache=False,
        lr=lr,
        init_output_bias=init_bias,
    )
    nelbo = test_negative_elbo(model, val_images, seed=settings.seed)
    return {
        "model": model_name,
        "lr": lr,
        "validation_nelbo": round(nelbo, 3),
        "train_nelbo_last_epoch": round(float(history["loss"][-1]), 3),
        "epochs": budget.epochs,
        "n_fit": len(fit_images) if budget.n_train is None else budget.n_train,
        "n_validation": len(val_images),
        "batch_size": budget.batch_size,
        "seconds": round(time.perf_counter() - started, 1),
    }


def best(rows: list[dict], model_name: str) -> dict | None:
    """The row with the lowest validation negative ELBO for ``model_name``."""
    mine = [row for row in rows if row["model"] == model_name]
    return min(mine, key=lambda row: row["validation_nelbo"]) if mine else None


def write(rows: list[dict], out: Path, profile: str, seed: int) -> None:
    """The JSON rows and the text table."""
    chosen = {name: best(rows, name) for name in MODELS}
    data = {
        "what": "peak learning rate of lesson 3's VAEs, chosen on a validation split",
        "split": f"fit on training images [0, {N_FIT}), score on [{N_FIT}, 60000)",
        "score": "negative ELBO, z sampled, nats per image (lower is better)",
        "profile": profile,
        "seed": seed,
        "threads": torch.get_num_threads(),
        "rows": rows,
        "chosen_lr": {k: v["lr"] for k, v in chosen.items() if v is not None},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    lines = [
        f"{data['what']} ({profile} profile, seed {seed})",
        data["split"],
        "model  peak lr  validation -ELBO  train -ELBO (last epoch)  seconds",
    ]
    for row in sorted(rows, key=lambda r: (r["model"], r["lr"])):
        mark = " <- chosen" if row is chosen[row["model"]] else ""
        lines.append(
            f"{row['model']:<6} {row['lr']:<8g} {row['validation_nelbo']:>16.2f}"
            f"  {row['train_nelbo_last_epoch']:>24.2f}  {row['seconds']:>7.0f}{mark}"
        )
    out.with_suffix(".txt").write_text("\n".join(lines) + "\n")


def main() -> None:
    args = parse_args()
    out = args.out or REPO / "benchmarks" / args.profile / "vae_lr_validation.json"
    rows: list[dict] = json.loads(out.read_text())["rows"] if out.exists() else []
    lrs = {"mlp": args.mlp_lrs, "conv": args.conv_lrs}
    for model_name in args.models:
        for lr in lrs[model_name]:
            if any(r["model"] == model_name and r["lr"] == lr for r in rows):
                continue  # measured by an earlier run
            settings = course_lib.setup(
                seed=args.seed, profile=args.profile, quiet=True
            )
            rows.append(validate(model_name, lr, settings))
            print(json.dumps(rows[-1]), flush=True)
            write(rows, out, args.profile, args.seed)
    print(out.with_suffix(".txt").read_text())


if __name__ == "__main__":
    main()
