"""SIFID, the single-image FID of SinGAN (Rott Shaham, Dekel & Michaeli, ICCV 2019).

Definition (SinGAN's ``SIFID/sifid_score.py``): run one real and one generated image
through a CNN, take the feature map of one early layer, treat every spatial position
as one sample (a C-dimensional vector), fit a Gaussian to each image's vectors and
report the Fréchet distance between the two Gaussians; average it over the generated
samples.  Math as small pure functions: :func:`spatial_vectors` (features), then
:func:`feature_stats` (mean and covariance, ``np.cov`` with ``rowvar=False``), then
:func:`frechet_distance`; :func:`sifid` composes them.

The published SIFID.  SinGAN's ``SIFID/sifid_score.py`` (and the SASE authors', which reuse it) calls
its Inception wrapper with ``dims=64``: the output of ``Conv2d_2b_3x3``, before the first max-pool (64
channels), of torchvision's ImageNet Inception-v3 (``inception_v3_google-0cc3c7bd.pth``), its input the
image in [0, 1] scaled as ``2x - 1``.  The script runs the stem's blocks one by one, so torchvision's
``transform_input`` re-normalisation never applies.  The paper's text names the layer before the *second*
pooling layer (``Conv2d_4a_3x3``, 192 channels) instead; SinGAN issue #155 and PRs #156-158 discuss the
mismatch, and the published numbers come from the code.  :func:`published_spatial` is that extractor,
recorded as ``inception-v3-torchvision:Conv2d_2b_3x3`` (:data:`PUBLISHED_LABEL`), and used whenever
torchvision's weights are here (``--sifid-weights PATH`` or the torch hub cache; checked against the SHA-256
prefix in the file name).  Images enter at their own size (no resize to 299), as in SinGAN's script.

The other extractors, each named in every value (``extractor:layer``; values of different extractors are not
comparable, and only the published one compares with published SIFIDs):

* with torch-fidelity's Inception-v3 weights only (``--inception-weights``, the TF-FID port), its
  ``Conv2d_4a_3x3``: the paper text's layer with other weights (``inception-v3-compat:Conv2d_4a_3x3``);
* without Inception weights, the few-shot suite's named substitute (:mod:`benchmark.metrics.extractors`, a
  Fashion-MNIST CNN) at the place of the paper text's layer in its network: the output of its second conv
  stage, before its second max-pool (32 channels), on the luma of the image at native size.

Images are quantised to uint8 first, as SinGAN's script reads saved image files (JPEG by default; ours
skip the JPEG compression).
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from scipy import linalg

from benchmark.digest import file_sha256
from benchmark.errors import UserError

log = logging.getLogger(__name__)

INCEPTION_LAYER = "Conv2d_4a_3x3"  # 192 ch, before MaxPool_2
SUBSTITUTE_LAYER = "body.stage2_relu"  # 32 ch, before the second max-pool
# the published SIFID (SinGAN's and the SASE authors' sifid_score.py, dims=64): torchvision's ImageNet weights
PUBLISHED_NAME = "inception-v3-torchvision"
PUBLISHED_LAYER = "Conv2d_2b_3x3"  # 64 ch, before MaxPool_1
PUBLISHED_CHANNELS = 64
PUBLISHED_LABEL = f"{PUBLISHED_NAME}:{PUBLISHED_LAYER}"
TORCHVISION_INCEPTION_URL = "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth"
TORCHVISION_SHA256_PREFIX = "0cc3c7bd"  # from torchvision's file name (the first 8 hex digits of its SHA-256)


def spatial_vectors(fmap: torch.Tensor) -> np.ndarray:
    """One image's feature map [C, h, w] (or [1, C, h, w]) -> [h * w, C] float64 samples."""
    if fmap.dim() == 4:
        if fmap.shape[0] != 1:
            raise ValueError(f"expected one image's feature map, got batch {fmap.shape[0]}")
        fmap = fmap[0]
    c = fmap.shape[0]
    return fmap.detach().cpu().double().reshape(c, -1).T.numpy()


def feature_stats(vectors: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mean [C] and covariance [C, C] (unbiased, ``np.cov(rowvar=False)``) of [n, C] vectors."""
    if vectors.ndim != 2 or len(vectors) < 2:
        raise ValueError(f"need at least 2 feature vectors [n, C], got shape {vectors.shape}")
    return vectors.mean(axis=0), np.atleast_2d(np.cov(vectors, rowvar=False))


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``; a singular product gets ``eps`` on the diagonals."""
    diff = mu1 - mu2
    with warnings.catch_warnings():  # few spatial positions give singular covariances: expected here
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(sigma1)) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)  # rounding leaves tiny imaginary parts
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def sifid(real_vectors: np.ndarray, fake_vectors: Sequence[np.ndarray]) -> Tuple[float, List[float]]:
    """Mean SIFID over generated images, and the value of each: one real image's vectors vs each fake's."""
    mu_r, s_r = feature_stats(real_vectors)
    values = [frechet_distance(mu_r, s_r, *feature_stats(v)) for v in fake_vectors]
    return float(np.mean(values)), values


@dataclass(frozen=True)
class SpatialExtractor:
    """A feature map of images [B, 3, H, W] in [-1, 1]; ``label`` is what every SIFID value records."""

    name: str  # the extractor's registry name (as FID records it)
    layer: str
    channels: int
    fn: Callable[[torch.Tensor], torch.Tensor]  # [B, 3, H, W] in [-1, 1] -> [B, C, h, w]

    @property
    def label(self) -> str:
        return f"{self.name}:{self.layer}"


def to_uint8_scale(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> float holding the uint8 values 0..255 (quantised as a saved PNG would be)."""
    return x.clamp(-1, 1).add(1).mul(127.5).round()


def inception_spatial(weights: str | Path, name: str = "inception-v3-compat") -> SpatialExtractor:
    """torch-fidelity's Inception-v3 up to ``Conv2d_4a_3x3`` (192 ch), at the image's own size."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3(name, ["2048"], feature_extractor_weights_path=str(weights)).eval()
    layers = [net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, net.MaxPool_1, net.Conv2d_3b_1x1,
              net.Conv2d_4a_3x3]

    @torch.no_grad()
    def fn(x: torch.Tensor) -> torch.Tensor:
        h = (to_uint8_scale(x) - 128) / 128  # torch-fidelity's input scaling
        for layer in layers:
            h = layer(h)
        return h

    return SpatialExtractor(name, INCEPTION_LAYER, 192, fn)


def published_input(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> the published script's input: 8-bit values / 255 (an image file read into [0, 1]),
    then ``2x - 1``."""
    return to_uint8_scale(x) / 255.0 * 2 - 1


def torchvision_inception(weights: Union[str, Path, None] = None) -> torch.nn.Module:
    """torchvision's Inception-v3 (the ImageNet architecture, with its aux head as in the weights file), in
    eval mode, with the weights of a local file; ``None``: torchvision's random initialisation (for tests)."""
    from torchvision.models import inception_v3

    net = inception_v3(weights=None, aux_logits=True, transform_input=False, init_weights=False)
    if weights is not None:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return net.eval()


def published_spatial(net: torch.nn.Module) -> SpatialExtractor:
    """The published SIFID's features: ``net``'s stem up to ``Conv2d_2b_3x3`` (64 ch), at the image's own size.

    ``net`` is :func:`torchvision_inception`; its ``forward`` (and so ``transform_input``) is never called."""
    stem = torch.nn.Sequential(net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3).eval()

    @torch.no_grad()
    def fn(x: torch.Tensor) -> torch.Tensor:
        return stem(published_input(x))  # [B, 3, H, W] -> [B, 64, (H - 3) // 2 - 1, (W - 3) // 2 - 1]

    return SpatialExtractor(PUBLISHED_NAME, PUBLISHED_LAYER, PUBLISHED_CHANNELS, fn)


def hub_torchvision_inception_path() -> Path:
    """Where torchvision's download of its Inception-v3 weights lands in the torch hub cache."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_INCEPTION_URL.rsplit("/", 1)[-1]


def check_torchvision_weights(path: Union[str, Path]) -> Path:
    """``path`` if it is torchvision's Inception-v3 weights file (by its SHA-256 prefix); else a UserError."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"torchvision Inception-v3 weights {path} not found; download {TORCHVISION_INCEPTION_URL}")
    digest = file_sha256(path)
    if not digest.startswith(TORCHVISION_SHA256_PREFIX):
        raise UserError(f"{path} is not torchvision's Inception-v3 file (SHA-256 {digest[:8]}, expected "
                        f"{TORCHVISION_SHA256_PREFIX}...); download {TORCHVISION_INCEPTION_URL}")
    return path


def choose_spatial_extractor(cache_dir: Path, sifid_weights=None, inception_weights=None) -> SpatialExtractor:
    """The SIFID extractor for a one-shot run, first found of:

    1. ``sifid_weights`` (torchvision's Inception-v3 file): the published SIFID;
    2. ``inception_weights`` (torch-fidelity's Inception-v3 file): its ``Conv2d_4a_3x3``;
    3. torchvision's weights in the torch hub cache: the published SIFID;
    4. :func:`benchmark.metrics.extractors.choose_extractor`'s choice (torch-fidelity's Inception-v3 from the
       hub cache, else the named substitute), at the layer :func:`spatial_extractor` gives it.
    """
    from benchmark.metrics.extractors import choose_extractor

    if sifid_weights is not None and inception_weights is not None:
        raise UserError("pass --sifid-weights (torchvision's Inception-v3: the published SIFID) or "
                        "--inception-weights (torch-fidelity's, at Conv2d_4a_3x3), not both")
    if sifid_weights is not None:
        return published_spatial(torchvision_inception(check_torchvision_weights(sifid_weights)))
    hub = hub_torchvision_inception_path()
    if inception_weights is None and hub.is_file():
        return published_spatial(torchvision_inception(check_torchvision_weights(hub)))
    extractor = spatial_extractor(choose_extractor(nc=3, cache_dir=cache_dir, inception_weights=inception_weights))
    _log_not_published_once(extractor.label)
    return extractor


@functools.lru_cache(maxsize=None)
def _log_not_published_once(label: str) -> None:
    log.warning("SIFID uses %s, not the published SIFID (%s: pass --sifid-weights with %s, or place it in %s); "
                "its values are not comparable to published SIFIDs", label, PUBLISHED_LABEL,
                TORCHVISION_INCEPTION_URL.rsplit("/", 1)[-1], hub_torchvision_inception_path().parent)


def substitute_spatial(name: str, net: torch.nn.Module, mean: float, std: float) -> SpatialExtractor:
    """The substitute CNN's second conv stage (before its second max-pool) on the image's luma, native size."""
    stage = net.body[:7].eval()  # conv-BN-ReLU-pool, conv-BN-ReLU
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)

    @torch.no_grad()
    def fn(x: torch.Tensor) -> torch.Tensor:
        grey = (to_uint8_scale(x) / 255.0 * luma.to(x.device)).sum(dim=1, keepdim=True)
        return stage((grey - mean) / std)

    channels = [m for m in stage if isinstance(m, torch.nn.Conv2d)][-1].out_channels
    return SpatialExtractor(name, SUBSTITUTE_LAYER, channels, fn)


def spatial_extractor(choice) -> SpatialExtractor:
    """The SIFID extractor for a :class:`~benchmark.metrics.extractors.ExtractorChoice` (or registered name)."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    from benchmark.metrics.extractors import FashionCNN, FashionCNNFeatures, resolve_extractor

    choice = resolve_extractor(choice)
    if choice.kind == "inception":
        return inception_spatial(choice.weights_path, choice.name)
    cls = FEATURE_EXTRACTORS_REGISTRY.get(choice.name)
    if cls is None or not issubclass(cls, FashionCNNFeatures):
        raise UserError(f"SIFID has no spatial layer for feature extractor {choice.name!r}; use Inception-v3 "
                        "(--inception-weights) or the Fashion-MNIST substitute")
    net = FashionCNN(cls.spec)
    net.load_state_dict(cls.state_dict_)
    return substitute_spatial(choice.name, net, cls.spec.mean, cls.spec.std)


def sifid_images(real: torch.Tensor, fakes: torch.Tensor, extractor: SpatialExtractor,
                 batch: int = 16) -> Tuple[float, List[float]]:
    """SIFID of generated images ``fakes`` [N, 3, H, W] against one ``real`` [1, 3, H', W'], all in [-1, 1]."""
    real_v = spatial_vectors(extractor.fn(real[:1]))
    fake_v: List[np.ndarray] = []
    for start in range(0, len(fakes), batch):
        fmap = extractor.fn(fakes[start: start + batch])
        fake_v += [spatial_vectors(f) for f in fmap]
    return sifid(real_v, fake_v)


def describe(extractor: Optional[SpatialExtractor]) -> str:
    return extractor.label if extractor is not None else "none"
