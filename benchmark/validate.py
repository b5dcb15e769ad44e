"""Everything a run needs, checked before it starts: recipe values, sizes and cheap data checks.

A NaN learning rate, zero epochs or a truncated IDX file used to surface mid-run as a ``failed``
record (exit 1) or a traceback.  They are user errors: :func:`check_preset` and :func:`check_data`
raise :class:`UserError` (one line, exit 2) before any run folder or record exists.  The checks are
by field name, so they cover both recipe types (:class:`~benchmark.config.Recipe` and
:class:`~benchmark.config.GANRecipe`) and any field a recipe gains later keeps its own checks.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
import unicodedata
import zlib
from pathlib import Path
from typing import Any, Optional

from benchmark.errors import UserError

# field names by the values they allow
POSITIVE_INT = ("epochs", "iterations", "batch_size", "ngf", "ndf", "nz", "fid_samples", "kid_subset_size",
                "eval_batch", "recal_batches", "img_size", "infer_batch", "train_batch", "iters", "windows",
                "repeated_aug")
OPTIONAL_POSITIVE_INT = ("max_steps_per_epoch", "lr_ref_batch", "train_subset", "val_subset", "shots")
NON_NEGATIVE_INT = ("eval_every", "sample_every", "ckpt_every", "ckpt_every_steps", "warmup", "num_workers")
POSITIVE_FLOAT = ("lr", "lr_gamma")
OPTIONAL_POSITIVE_FLOAT = ("grad_clip",)
NON_NEGATIVE_FLOAT = ("weight_decay", "momentum", "warmup_epochs", "mixup", "cutmix", "color_jitter", "warmup_lr",
                      "min_lr")
UNIT_INTERVAL = ("label_smoothing", "random_erasing", "drop_path", "model_ema", "ema_decay", "beta1", "beta2")
IDX_PREFIXES = ("train", "t10k")


def _where(owner: str, key: str) -> str:
    return f"{owner}.{key}" if owner else key


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_name(value: Any, where: str) -> None:
    """A name (``--set name=...``) is non-empty text on one line: it goes into records, tables and headings
    (any length: run ids and report files shorten it, :func:`benchmark.names.safe_part` makes it a path)."""
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{where}={value!r}: must be a non-empty name")
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise UserError(f"{where}={value[:60]!r}: a name cannot hold control characters (a newline, a tab)")


def _check_fields(obj: Any, owner: str) -> None:
    for f in dataclasses.fields(obj):
        key, v = f.name, getattr(obj, f.name)
        where = _where(owner, key)
        if key == "name":
            check_name(v, where)
        if key in POSITIVE_INT and not (_is_int(v) and v >= 1):
            raise UserError(f"{where}={v!r}: must be a whole number >= 1")
        if key in OPTIONAL_POSITIVE_INT and v is not None and not (_is_int(v) and v >= 1):
            raise UserError(f"{where}={v!r}: must be a whole number >= 1, or none")
        if key in NON_NEGATIVE_INT and not (_is_int(v) and v >= 0):
            raise UserError(f"{where}={v!r}: must be a whole number >= 0")
        if key in POSITIVE_FLOAT and not (_is_number(v) and math.isfinite(v) and v > 0):
            raise UserError(f"{where}={v!r}: must be a finite number > 0")
        if key in OPTIONAL_POSITIVE_FLOAT and v is not None and not (_is_number(v) and math.isfinite(v) and v > 0):
            raise UserError(f"{where}={v!r}: must be a finite number > 0, or none")
        if key in NON_NEGATIVE_FLOAT and not (_is_number(v) and math.isfinite(v) and v >= 0):
            raise UserError(f"{where}={v!r}: must be a finite number >= 0")
        top_ok = key == "random_erasing" and v == 1  # a probability: 1 is allowed
        if key in UNIT_INTERVAL and not ((_is_number(v) and 0 <= v < 1) or top_ok):
            raise UserError(f"{where}={v!r}: must be a number in [0, 1)")


def check_recipe(recipe: Any) -> None:
    """Raise :class:`UserError` naming the first impossible value of ``recipe`` (a recipe dataclass), in it or
    in any row of its per-family table (each row checked as the recipe its models train under)."""
    _check_fields(recipe, "recipe")
    for key, row in getattr(recipe, "per_family", None) or ():
        _check_fields(dataclasses.replace(recipe, per_family=None, **dict(row)), f"recipe.per_family[{key}]")
    milestones = getattr(recipe, "milestones", ())
    if any(not _is_int(m) or m < 0 for m in milestones):
        raise UserError(f"recipe.milestones={milestones!r}: must be whole epochs >= 0")
    if hasattr(recipe, "fid_samples") and hasattr(recipe, "kid_subset_size") and \
            recipe.kid_subset_size > recipe.fid_samples:
        raise UserError(f"recipe.kid_subset_size={recipe.kid_subset_size} is larger than "
                        f"recipe.fid_samples={recipe.fid_samples}")


def check_preset(preset: Any) -> None:
    """The preset's name, recipe, data sizes, profiling sizes and runtime settings."""
    check_name(preset.name, "name")
    check_recipe(preset.recipe)
    _check_fields(preset.data, "data")
    if getattr(preset.data, "channels", 1) not in (1, 3):
        raise UserError(f"data.channels={preset.data.channels!r}: must be 1 (grey) or 3 (RGB)")
    _check_fields(preset.profile, "profile")
    _check_fields(preset.runtime, "runtime")


def check_data(preset: Any, data_path: Optional[str]) -> None:
    """Cheap checks of the data a run will read, so a broken file is a user error before anything starts.

    Fashion-MNIST IDX files (used by the recognition presets, the embedded few-shot set, or ``--data``
    pointing at an IDX folder) are read whole and checked: magic, shape, payload size, labels < 10.
    An ImageFolder's layout is checked without decoding images (the loader checks headers later).  One-shot
    photos are read whole, every image of a folder, and sized (a bad or oversized one is found before the
    first image trains).
    """
    from benchmark.data.single_image import OneShotData, check_units

    if isinstance(preset.data, OneShotData):  # every photo read and sized before the first run
        check_units(preset.data, data_path)
        return
    kind = preset.data.name
    root = Path(data_path).expanduser() if data_path else None
    idx_folder = root is not None and root.is_dir() and any(root.glob("train-images-idx3-ubyte*"))
    if kind == "fashion_mnist" or idx_folder or (kind == "fmnist_few_shot" and root is None):
        check_fashion_mnist(root)
    elif kind == "image_folder" and root is not None:
        from benchmark.data.image_folder import check_root, scan_split

        for split in ("train", "val"):
            scan_split(check_root(root), split, verify=False)


def check_fashion_mnist(root: Optional[Path] = None) -> None:
    """The four IDX files exist, parse, and agree with each other; a :class:`UserError` otherwise."""
    from benchmark.data import fashion_mnist

    root = Path(root) if root else fashion_mnist.DEFAULT_ROOT
    if not root.is_dir():
        raise UserError(f"Fashion-MNIST folder {root} does not exist; install 'dataset-fashion-mnist' "
                        "or pass --data PATH to a folder holding the IDX files")
    for prefix in IDX_PREFIXES:
        images = _idx_shape(fashion_mnist._find(root, f"{prefix}-images-idx3-ubyte"), 3)
        labels = _idx_shape(fashion_mnist._find(root, f"{prefix}-labels-idx1-ubyte"), 1, max_value=9)
        if images[1:] != (28, 28):
            raise UserError(f"{root}/{prefix}-images: images are {images[1]}x{images[2]}, Fashion-MNIST's are 28x28")
        if images[0] != labels[0]:
            raise UserError(f"{root}: {prefix} has {images[0]} images but {labels[0]} labels; the files do not match")


def _idx_shape(path: Path, ndim: int, max_value: Optional[int] = None) -> tuple:
    """Shape of a uint8 IDX file whose payload is exactly that size; label values too if ``max_value``.

    Cheap: the header and the size only (for ``.gz``, the uncompressed size in the gzip trailer), so a
    truncated or swapped file is caught in milliseconds; label files are small and read whole.
    """
    fix = "reinstall dataset-fashion-mnist or replace the file"
    gz = path.suffix == ".gz"
    try:
        opener = gzip.open if gz else open
        with opener(path, "rb") as f:
            data = f.read() if max_value is not None else f.read(4 + 4 * ndim)
        size = len(data) if max_value is not None else (_gzip_isize(path) if gz else path.stat().st_size)
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"{path} is damaged ({type(e).__name__}: {e}); {fix}") from None
    head = 4 + 4 * ndim
    if len(data) < head or data[:4] != bytes([0, 0, 0x08, ndim]):
        raise UserError(f"{path} is not a {ndim}-D uint8 IDX file (header {data[:4].hex() or 'empty'}); {fix}")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if size - head != math.prod(shape):
        raise UserError(f"{path}: its header says {shape} ({math.prod(shape)} bytes) but it holds {size - head} "
                        f"bytes (truncated or padded); {fix}")
    if max_value is not None and shape[0] and max(data[head:]) > max_value:
        raise UserError(f"{path}: a label is {max(data[head:])}, Fashion-MNIST labels are 0-{max_value}; {fix}")
    return shape


def _gzip_isize(path: Path) -> int:
    """The uncompressed size a gzip file's trailer states (mod 2**32; IDX files are far smaller)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() < 18:
            raise EOFError("too short to be a gzip file")
        f.seek(-4, 2)
        return int.from_bytes(f.read(4), "little")


def check_run(preset: Any, data_path: Optional[str]) -> None:
    """Everything :mod:`benchmark.cli` checks before a suite starts: the preset's values, then its data."""
    check_preset(preset)
    check_data(preset, data_path)
