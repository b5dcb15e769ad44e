"""One-shot data: a single real photo, resized and cut into SinGAN's pyramid.

The embedded set ``skimage-photos`` is the natural RGB photos that ship inside
scikit-image (no download): :data:`SKIMAGE_PHOTOS`.  ``--data PATH`` is one image file
or a folder of images; a folder gives one run per image (:func:`list_units`).  A file unit is named by
its full file name (``cat.png`` and ``cat.jpg`` are two images, never two seeds of one), and
:func:`check_units` reads every unit before the first run starts.

Every file is read by the project's one image loader (:func:`benchmark.data.images.load_image`: 16-bit
scaled, alpha composited on white, EXIF rotation applied, decompression bombs refused), as 8-bit RGB,
scaled to [-1, 1] like SinGAN's ``norm``, and shrunk (never enlarged) so that its long side is ``max_size``,
with the pyramid geometry of :func:`baselines.singan.pyramid_geometry` computed from
the original height and width, as SinGAN does.

Resizing is antialiased bicubic (``torch.nn.functional.interpolate``, a = -0.5, the
kernel of MATLAB's ``imresize``); SinGAN uses its own port of ``imresize``.  Sizes are
identical, pixel values differ slightly at borders (padding rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from baselines.singan import PyramidGeometry, pyramid_geometry
from baselines.singan.geometry import real_pyramid, resize  # noqa: F401  (re-exported)
from benchmark.data.image_folder import IMG_EXTENSIONS
from benchmark.data.images import load_image
from benchmark.errors import UserError

SET_NAME = "skimage-photos"


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        if name == "motorcycle":
            return skimage.data.stereo_motorcycle()[0]  # the left view
        return getattr(skimage.data, name)()

    return load


# natural RGB photos in scikit-image's own data folder (present offline), name -> loader
SKIMAGE_PHOTOS: Dict[str, Callable[[], np.ndarray]] = {
    name: _skimage(name) for name in
    ("astronaut", "chelsea", "coffee", "rocket", "motorcycle", "immunohistochemistry", "hubble_deep_field")
}


@dataclass(frozen=True)
class OneShotData:
    """Which photo, at which pyramid bounds (defaults: SinGAN's published 250 / 25 px)."""

    name: str = SET_NAME
    images: Tuple[str, ...] = ("astronaut",)  # names in SKIMAGE_PHOTOS, one run each (unless --data is given)
    max_size: int = 250
    min_size: int = 25
    scale_factor: float = 0.75


@dataclass(frozen=True)
class ImageUnit:
    """One image to train on: ``source`` is ``skimage:<name>`` or a file path."""

    name: str
    source: str
    dataset: str


@dataclass(frozen=True)
class SingleImage:
    """The training image [1, 3, H, W] in [-1, 1] (finest scale) and its pyramid geometry."""

    image: torch.Tensor
    name: str
    dataset: str
    geometry: PyramidGeometry

    @property
    def orig_size(self) -> Tuple[int, int]:
        return self.geometry.orig_size


def skimage_units(names: Optional[Sequence[str]] = None) -> List[ImageUnit]:
    """Units of the embedded set (all photos, or ``names``)."""
    names = list(SKIMAGE_PHOTOS) if names is None else list(names)
    for n in names:
        if n not in SKIMAGE_PHOTOS:
            raise UserError(f"unknown photo {n!r} in {SET_NAME}; choose from: {', '.join(SKIMAGE_PHOTOS)}")
    return [ImageUnit(n, f"skimage:{n}", SET_NAME) for n in names]


def list_units(data_path: Optional[str | Path], spec: OneShotData = OneShotData()) -> List[ImageUnit]:
    """The images one ``--data`` value stands for: the preset's photo, one file, or every image of a folder."""
    if data_path is None:
        return skimage_units(spec.images)
    if str(data_path).startswith("skimage:"):
        return skimage_units([str(data_path).split(":", 1)[1]])
    path = Path(data_path).expanduser()
    if not path.exists():
        raise UserError(f"data path {path} does not exist; pass --data PATH to an image file or a folder of images")
    if path.is_file():
        if path.suffix.lower() not in IMG_EXTENSIONS:  # as in a folder, where such files are not images
            raise UserError(f"{path}: {path.suffix or 'no extension'} is not an image kind read here "
                            f"({', '.join(IMG_EXTENSIONS)}); convert it (e.g. to .png)")
        return [ImageUnit(path.name, str(path), f"file:{path.parent.name}")]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS)
    if not files:
        raise UserError(f"{path} holds no images ({', '.join(IMG_EXTENSIONS)}); one-shot data is an image "
                        "file or a folder of images")
    return [ImageUnit(p.name, str(p), f"folder:{path.name}") for p in files]  # the full name: cat.png != cat.jpg


def _read_file(path: Path) -> np.ndarray:
    if not path.is_file():
        raise UserError(f"image {path} does not exist or is not a file")
    return np.asarray(load_image(path, "RGB"))  # the one loader: bit depth, alpha, EXIF, bombs


def check_units(spec: OneShotData, data_path: Optional[str | Path]) -> None:
    """Read every unit of ``data_path`` and check its size, so a bad image in a folder is a user error
    before the first run starts, not after the earlier images have trained."""
    for unit in list_units(data_path, spec):
        if not unit.source.startswith("skimage:"):
            _check_min_size(unit, read_rgb(unit).shape[:2], spec)


def _check_min_size(unit: ImageUnit, size: Tuple[int, int], spec: OneShotData) -> None:
    if min(size) < spec.min_size:
        raise UserError(f"image {unit.source} is {size[0]}x{size[1]} px; its short side must be at least "
                        f"min_size={spec.min_size} px (the coarsest scale). Use a larger image")


def unit_sources(preset, data_path: Optional[str | Path]) -> List[str]:
    """The data of each run of a one-shot preset: one source per image (``skimage:<name>`` or a file)."""
    return [u.source for u in list_units(data_path, preset.data)]


def read_rgb(unit: ImageUnit) -> np.ndarray:
    """uint8 [H, W, 3] of a unit."""
    if unit.source.startswith("skimage:"):
        arr = SKIMAGE_PHOTOS[unit.source.split(":", 1)[1]]()
    else:
        arr = _read_file(Path(unit.source))
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return np.ascontiguousarray(arr[:, :, :3]).astype(np.uint8)


def to_unit_range(arr: np.ndarray) -> torch.Tensor:
    """uint8 [H, W, 3] -> float [1, 3, H, W] in [-1, 1]."""
    return torch.from_numpy(arr).permute(2, 0, 1)[None].float().div(127.5).sub(1)


def load_unit(unit: ImageUnit, spec: OneShotData = OneShotData()) -> SingleImage:
    """Read, check and shrink one image; its pyramid geometry comes from its original size."""
    arr = read_rgb(unit)
    h, w = arr.shape[:2]
    _check_min_size(unit, (h, w), spec)
    geometry = pyramid_geometry(h, w, spec.max_size, spec.min_size, spec.scale_factor)
    image = resize(to_unit_range(arr), geometry.sizes[-1]).clamp(-1, 1)
    return SingleImage(image.contiguous(), unit.name, unit.dataset, geometry)


def load_single_image(spec: OneShotData, data_path: Optional[str | Path] = None) -> SingleImage:
    """The one image a run trains on: ``data_path`` (a file) or the preset's photo."""
    units = list_units(data_path, spec)
    if len(units) != 1:
        raise UserError(f"{data_path} holds {len(units)} images; a one-shot run trains on one image "
                        "(list them with benchmark.data.single_image.list_units)")
    return load_unit(units[0], spec)
