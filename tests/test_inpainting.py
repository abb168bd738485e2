"""Inpainting: masks, paste-back, the OpenCV baselines on real digits, and the
comparison table."""

from __future__ import annotations

import pytest
import torch

from course_lib.corruption import corrupt_dropout
from course_lib.data import load_mnist, to_signed
from course_lib.errors import CourseInputError
from course_lib.inpainting import (
    format_table,
    inpaint_navier_stokes,
    inpaint_telea,
    inpainting_table,
    paste_back,
)
from course_lib.metrics import psnr


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return load_mnist("test")[0][:200]


def drop(
    images: torch.Tensor, p: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrupted images and mask (1 = kept), as the table draws them."""
    return corrupt_dropout(
        images, p, torch.Generator().manual_seed(seed), value_range=(0.0, 1.0)
    )


def test_paste_back_keeps_known_pixels_and_fills_only_holes(digits) -> None:
    corrupted, mask = drop(digits, 0.5, seed=1)
    output = torch.full_like(digits, 0.7)
    pasted = paste_back(output, corrupted, mask)
    assert torch.equal(pasted[mask == 1], digits[mask == 1])
    assert torch.all(pasted[mask == 0] == 0.7)


def test_classical_methods_leave_a_full_mask_unchanged(digits) -> None:
    mask = torch.ones_like(digits)
    quantised = torch.round(digits[:10] * 255) / 255
    assert torch.allclose(inpaint_telea(digits[:10], mask[:10]), quantised)
    assert torch.allclose(inpaint_navier_stokes(digits[:10], mask[:10]), quantised)


@pytest.mark.parametrize("method", [inpaint_telea, inpaint_navier_stokes])
def test_classical_methods_beat_the_zero_filled_image_on_real_digits(
    digits, method
) -> None:
    corrupted, mask = drop(digits, 0.5, seed=2)
    filled = method(corrupted, mask)
    # known pixels kept
    assert torch.equal(filled[mask == 1], torch.round(digits[mask == 1] * 255) / 255)
    assert psnr(filled, digits).mean() > psnr(corrupted, digits).mean() + 2.0


def test_table_uses_identical_masks_for_every_method(digits) -> None:
    seen: list[torch.Tensor] = []

    def copy_input(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.clone())
        return x

    rows = inpainting_table(digits[:50], copy_input, drop_rates=(0.25, 0.5), seed=4)
    # nested masks: dropped at 25 % means dropped at 50 %
    assert bool((seen[1][seen[0] == 0] == 0).all())
    corrupted, mask = drop(digits[:50], 0.5, seed=4)
    # the model saw exactly these pixels, dropped ones black
    assert torch.equal(seen[1], digits[:50] * mask)
    assert abs(float(1 - mask.mean()) - 0.5) < 0.02
    by_method = {r["method"]: r for r in rows if r["drop_rate"] == 0.5}
    expected = float(psnr(corrupted, digits[:50]).mean())
    # Returning the corrupted input unchanged scores exactly the zero-filled figures,
    # raw and pasted.
    for method in ("zero-filled", "DAE raw", "DAE pasted"):
        assert by_method[method]["psnr"] == pytest.approx(expected)
    assert (
        by_method["Telea"]["psnr"] > expected
        and by_method["Navier-Stokes"]["psnr"] > expected
    )


def test_table_of_a_perfect_model_has_ssim_one_and_more_drops_hurt(digits) -> None:
    clean = digits[:40]
    rows = inpainting_table(
        clean, lambda x: clean, drop_rates=(0.25, 0.75), name="oracle"
    )
    perfect = [r for r in rows if r["method"].startswith("oracle")]
    assert all(
        r["ssim"] == pytest.approx(1.0) and r["psnr"] == float("inf") for r in perfect
    )
    telea = {r["drop_rate"]: r["psnr"] for r in rows if r["method"] == "Telea"}
    assert telea[0.25] > telea[0.75]


def test_table_rejects_a_model_returning_signed_images(digits) -> None:
    with pytest.raises(CourseInputError, match="to_unit"):
        inpainting_table(digits[:10], lambda x: to_signed(x), drop_rates=(0.5,))


def test_format_table_has_a_line_per_method(digits) -> None:
    rows = inpainting_table(digits[:20], None, drop_rates=(0.25, 0.5))
    text = format_table(rows)
    lines = text.splitlines()
    assert lines[0].startswith("| method | 25 % PSNR (dB) | 25 % SSIM | 50 % PSNR (dB)")
    assert [line.split("|")[1].strip() for line in lines[2:]] == [
        "zero-filled",
        "Telea",
        "Navier-Stokes",
    ]


def test_table_rejects_a_drop_rate_of_one(digits) -> None:
    with pytest.raises(CourseInputError, match=r"\[0, 1\)"):
        inpainting_table(digits[:10], None, drop_rates=(1.0,))
