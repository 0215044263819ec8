"""Lighter figures on the HTML pages: 2x PNGs stored with a 256-colour palette.

The chapters send their figures as 2x ("retina") PNGs, sharp on high-density screens
but up to 400 KB each in true colour, so a chapter with several figures weighed more
than the 1.5 MB a page may transfer (tests/test_browser.py). A plot is mostly a few
flat colours plus their anti-aliased edges; 256 colours hold it with a peak
signal-to-noise ratio above 40 dB (no difference a reader can see) at a third to a
quarter of the bytes.

After an HTML build, each PNG in ``_images`` is replaced by its palette version when
that version is at least 10% smaller and its PSNR against the original is at least
``MIN_PSNR_DB``; otherwise (a photograph, a smooth colour map that needs more than
256 colours) the original stays. The notebooks, the downloads and the PDF keep the
true-colour figures.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

MIN_PSNR_DB = 40.0
MIN_SAVING = 0.10


def psnr_db(a, b) -> float:
    """Peak signal-to-noise ratio of two 8-bit images of one shape, in dB."""
    import numpy as np

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} and {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def palette_png(data: bytes) -> tuple[bytes, float] | None:
    """The PNG ``data`` with a 256-colour palette and its PSNR, or None if not better.

    None when the image is not RGB/RGBA, when 256 colours lose more than
    ``MIN_PSNR_DB`` allows, or when the result saves less than ``MIN_SAVING``.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        if image.mode not in ("RGB", "RGBA"):
            return None
        method = (Image.Quantize.FASTOCTREE if image.mode == "RGBA"
                  else Image.Quantize.MEDIANCUT)
        small = image.quantize(colors=256, method=method, dither=Image.Dither.NONE)
        quality = psnr_db(image, small.convert(image.mode))
        if quality < MIN_PSNR_DB:
            return None
        out = io.BytesIO()
        small.save(out, "PNG", optimize=True)
    new = out.getvalue()
    if len(new) > (1.0 - MIN_SAVING) * len(data):
        return None
    return new, quality


def lighten_images(app, exception) -> None:
    """``build-finished``: store the HTML build's PNGs with a palette where it pays."""
    if exception is not None or app.builder.format != "html":
        return
    folder = Path(app.outdir) / "_images"
    before = after = 0
    for path in sorted(folder.glob("*.png")):
        data = path.read_bytes()
        before += len(data)
        better = palette_png(data)
        if better is not None:
            data = better[0]
            path.write_bytes(data)
        after += len(data)
    if before:
        from sphinx.util import logging

        logging.getLogger(__name__).info(
            f"ngd_image_weight: PNG figures {before / 2**20:.1f} MB -> "
            f"{after / 2**20:.1f} MB (256-colour palette where PSNR >= "
            f"{MIN_PSNR_DB:.0f} dB)")


def setup(app):
    app.connect("build-finished", lighten_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
