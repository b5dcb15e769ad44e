"""ImageNet-style data: ``ROOT/train/<class>/*`` and ``ROOT/val/<class>/*``.

The layout is checked before anything trains, so a bad folder fails at once with
a message that names the problem: a missing path, no ``train/`` or ``val/``, a
class folder with no images, a file that is not a readable image.  Headers are
checked up front, once per listing of a split (paths, sizes, modification times)
and shared by every rank and run (:mod:`benchmark.data.folder_index`); a file that
fails to decode later is named in the error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Tuple

from PIL import Image, UnidentifiedImageError

from benchmark.data import folder_index
from benchmark.data.images import check_size, load_image
from benchmark.errors import UserError

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


def list_images(folder: Path) -> List[Path]:
    return [folder / name for name, _, _ in list_image_stats(folder)]


def list_image_stats(folder: Path) -> List[Tuple[str, int, int]]:
    """``(name, size, mtime_ns)`` of the image files in ``folder``, sorted by name (one stat per file)."""
    out = []
    with os.scandir(folder) as entries:
        for e in entries:
            if os.path.splitext(e.name)[1].lower() in IMG_EXTENSIONS and e.is_file():
                st = e.stat()
                out.append((e.name, st.st_size, st.st_mtime_ns))
    return sorted(out)


def check_image(path: Path) -> None:
    """Raise :class:`UserError` naming ``path`` if its header cannot be read as an image."""
    try:
        with Image.open(path) as im:  # the header; small files are verified whole
            check_size(im, path)  # a decompression bomb is refused before anything decodes it
            if path.stat().st_size < 4_000_000:
                im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise UserError(f"unreadable image {path}: {e}. Remove or replace the file.") from None


def scan_split(root: Path, split: str, verify: bool = True) -> Tuple[List[Tuple[str, int]], List[str]]:
    """``(samples [(path, class_index)], class_names)`` of ``root/split``, validated."""
    folder = root / split
    if not folder.is_dir():
        raise UserError(f"{root} has no '{split}/' folder; expected {root}/{split}/<class>/<image files>")
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir())
    if not classes:
        raise UserError(f"{folder} holds no class folders; expected {folder}/<class>/<image files>")
    samples: List[Tuple[str, int]] = []
    listing: List[folder_index.Entry] = []
    for index, name in enumerate(classes):
        files = list_image_stats(folder / name)
        if not files:
            raise UserError(f"class folder {folder / name} holds no images ({', '.join(IMG_EXTENSIONS)})")
        for file, size, mtime_ns in files:
            samples.append((str(folder / name / file), index))
            listing.append((f"{name}/{file}", size, mtime_ns))
    if verify:
        paths = [p for p, _ in samples]
        folder_index.check_once(listing, lambda: folder_index.check_all(paths, check_image), str(folder))
    return samples, classes


def check_root(path: str | Path) -> Path:
    root = Path(path).expanduser()
    if not root.exists():
        raise UserError(f"data path {root} does not exist; pass --data PATH to a folder with train/ and val/")
    if not root.is_dir():
        raise UserError(f"data path {root} is not a folder; expected a folder with train/ and val/")
    return root


class NamedImageDataset:
    """A map-style dataset over ``samples`` whose decode errors name the file."""

    def __init__(self, samples: List[Tuple[str, int]], transform) -> None:
        self.samples = samples
        self.transform = transform
        self.targets = [c for _, c in samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, target = self.samples[i]
        return self.transform(load_image(path, "RGB")), target  # any mode, to 8-bit RGB (data/images.py)
