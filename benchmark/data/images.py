"""Decode any image Pillow reads to correct 8-bit RGB or grey, or fail with the file's name.

``Image.convert("RGB")`` is wrong for several common files without a word: a 16-bit grey PNG
(mode ``I;16``/``I``) is clipped at 255 and comes out almost all white, a transparent palette or RGBA
image shows whatever colour its transparent pixels happen to hold, and a phone photo's EXIF rotation
is ignored.  :func:`load_image` handles, in this order:

* EXIF orientation: applied (``ImageOps.exif_transpose``), so the pixels are as a viewer shows them.
* 16-bit and 32-bit integers (``I;16*``, ``I``): scaled from 0-65535 to 0-255 (an ``I`` image with
  negative values or values above 65535 is min-max scaled instead).
* 32-bit float (``F``): values in [0, 1] are scaled by 255, any other range is min-max scaled.
* Alpha (``LA``, ``RGBA``, ``PA``, ``P`` with a transparent colour, premultiplied ``La``/``RGBa``):
  **composited on white**, the usual background of object-centric few-shot sets; dropping the alpha
  would instead expose the undefined colour of transparent pixels.
* ``CMYK``, ``YCbCr``, palette ``P`` and 1-bit ``1``: Pillow's conversion (1-bit becomes 0/255).

Decompression bombs: :data:`MAX_PIXELS` caps width x height (Pillow's own limit is set to it, so its
error is a backstop); a larger image is a :class:`UserError` naming the file, never a memory blow-up.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from benchmark.errors import UserError

MAX_PIXELS = 128 * 2**20  # ~134 MP: far above any training image (ImageNet's largest are ~30 MP)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ALPHA_MODES = ("LA", "La", "RGBA", "RGBa", "PA")
READ_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def load_image(path: str | Path, mode: str = "RGB") -> Image.Image:
    """The image at ``path`` as 8-bit ``mode`` (``"RGB"`` or ``"L"``), decoded as described above."""
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be RGB or L, not {mode!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below by size instead
            with Image.open(path) as im:
                check_size(im, path)
                im = ImageOps.exif_transpose(im)
                return to_8bit(im, mode)
    except UserError:
        raise
    except Image.DecompressionBombError as e:
        raise UserError(f"image {path} is too large to decode safely ({e}); a decompression bomb?") from None
    except READ_ERRORS as e:
        raise UserError(f"unreadable image {path}: {e}. Remove or replace the file.") from None


def check_size(im: Image.Image, path: str | Path) -> None:
    """Refuse an image whose pixel count is over :data:`MAX_PIXELS`, before decoding it."""
    w, h = im.size
    if w * h > MAX_PIXELS:
        raise UserError(f"image {path} is {w}x{h} = {w * h:,} pixels, over the limit of {MAX_PIXELS:,} "
                        "(a decompression bomb, or far larger than training needs); remove or shrink it")


def to_8bit(im: Image.Image, mode: str = "RGB") -> Image.Image:
    """``im`` (any Pillow mode) as 8-bit ``mode``; see the module doc for each mode."""
    if im.mode == mode:
        return im.copy()
    if im.mode.startswith("I") or im.mode == "F":
        grey = _scale_to_uint8(np.asarray(im), im.mode)
        return Image.fromarray(grey, "L").convert(mode)
    if (im.mode == "P" and "transparency" in im.info) or im.mode in ALPHA_MODES:
        return _on_white(im.convert("RGBA")).convert(mode)
    if mode == "RGB" or im.mode in ("L", "1"):
        return im.convert(mode)
    return im.convert("RGB").convert("L")  # CMYK, YCbCr, P...: through RGB, the modes Pillow maps to L


def _scale_to_uint8(a: np.ndarray, mode: str) -> np.ndarray:
    a = a.astype(np.float64)
    if mode == "F":
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if lo >= 0.0 and hi <= 1.0:
            lo, hi = 0.0, 1.0
        a = np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo)
    else:
        lo, hi = float(a.min(initial=0)), float(a.max(initial=0))
        if lo >= 0 and hi <= 65535:
            lo, hi = 0.0, 65535.0
    span = (hi - lo) or 1.0
    return np.clip(np.rint((a - lo) * (255.0 / span)), 0, 255).astype(np.uint8)


def _on_white(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")
