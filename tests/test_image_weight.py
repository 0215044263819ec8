"""book/_ext/ngd_image_weight.py: a palette only where no one can see it."""

from __future__ import annotations

import io
import sys

import matplotlib
import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import ngd_image_weight as weight  # noqa: E402


def _figure_png() -> bytes:
    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 3), dpi=200)
    x = rng.normal(size=800)
    axes[0].scatter(x, 2 * x + rng.normal(size=800), s=2, alpha=0.5)
    axes[0].plot([-3, 3], [-6, 6], "k--", label="fit")
    axes[0].legend()
    t = np.linspace(0, 6, 200)
    for k in range(4):
        axes[1].plot(t, np.sin(t + k), label=f"k = {k}")
    axes[1].set_title("Curves")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def test_a_plot_gets_much_lighter_and_looks_the_same():
    data = _figure_png()
    result = weight.palette_png(data)
    assert result is not None
    small, quality = result
    assert len(small) < 0.6 * len(data)
    original = Image.open(io.BytesIO(data))
    again = Image.open(io.BytesIO(small)).convert(original.mode)
    assert again.size == original.size
    # the PSNR it reports is the one of the image it wrote
    assert weight.psnr_db(original, again) == pytest.approx(quality)
    assert quality >= weight.MIN_PSNR_DB


def test_an_image_256_colours_cannot_hold_is_left_alone():
    noise = np.random.default_rng(1).integers(0, 256, size=(300, 300, 3),
                                              dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "PNG")
    assert weight.palette_png(buf.getvalue()) is None


def test_psnr_of_equal_and_different_images():
    a = np.zeros((4, 4, 3), dtype=np.uint8)
    b = a.copy()
    assert weight.psnr_db(a, b) == float("inf")
    b[0, 0, 0] = 255  # one error of 255 in 48 values: MSE = 255^2 / 48
    assert weight.psnr_db(a, b) == pytest.approx(10 * np.log10(48))
    with pytest.raises(ValueError, match="differ in shape"):
        weight.psnr_db(a, b[:2])
