"""SIFID, the single-image FID of SinGAN (Rott Shaham, Dekel & Michaeli, ICCV 2019).

Definition (SinGAN's ``SIFID/sifid_score.py``): run one real and one generated image
through a CNN, take the feature map of one early layer, treat every spatial position
as one sample (a C-dimensional vector), fit a Gaussian to each image's vectors and
report the Fréchet distance between the two Gaussians; average it over the generated
samples.  Math as small pure functions: :func:`spatial_vectors` (features), then
:func:`feature_stats` (mean and covariance, ``np.cov`` with ``rowvar=False``), then
:func:`frechet_distance`; :func:`sifid` composes them.

The layer.  SinGAN's paper: "the output of the convolutional layer just before the
second pooling layer" of Inception-v3, i.e. ``Conv2d_4a_3x3`` (192 channels); its
script's default argument (``dims=64``) takes the block before the first pooling
instead.  We follow the paper.  Images enter at their own size (no resize to 299),
as in SinGAN's script.

The extractor.  With Inception weights (``--inception-weights`` or the torch hub
cache) we use torch-fidelity's Inception-v3 (the TF-FID port, not the torchvision
ImageNet weights SinGAN's script loads) up to ``Conv2d_4a_3x3``.  Without them, the
few-suite's named substitute (:mod:`benchmark.metrics.extractors`, a Fashion-MNIST CNN)
is used at the same place in its network: the output of its second conv stage, before
its second max-pool (32 channels), on the luma of the image at native size.  Every
value records ``extractor:layer``; values from different extractors are not comparable.
Images are quantised to uint8 first, as SinGAN's script reads PNG files.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from scipy import linalg

from benchmark.errors import UserError

INCEPTION_LAYER = "Conv2d_4a_3x3"  # 192 ch, before MaxPool_2
SUBSTITUTE_LAYER = "body.stage2_relu"  # 32 ch, before the second max-pool


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
