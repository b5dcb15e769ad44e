"""FID and KID through torch-fidelity, plus patch SWD: one call, one flat record.

FID (Heusel et al. 2017) and KID (Binkowski et al. 2018) are computed by torch-fidelity 0.4.0 (pinned in
pyproject; FID values shift between versions, so the version goes into every result) in the feature space of
the extractor chosen by :func:`benchmark.metrics.extractors.choose_extractor`.  SWD is
:func:`benchmark.metrics.swd.sliced_wasserstein_distance` on the raw pixels (x 1e3, mean over levels).

Protocol details recorded with each value: the extractor's name, both set sizes, the KID subset size (the
requested one clamped to the smaller set, since torch-fidelity refuses larger ones) and the seed (KID subsets
and SWD patches/directions).  The real set's features and FID statistics are cached by torch-fidelity in
``cache_dir`` under ``real-<hash>``, the hash covering the real images' bytes and shape, the extractor name,
the preprocessing and the torch-fidelity version, so evaluating many checkpoints against one training set
extracts its features once.  Generated sets are never cached.  SWD's sorted projections of the real patches
are kept in memory for the process (when under 256 MB per level), so later evaluations in one training run
skip that half of the SWD work; the value is identical.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import torch
import torch_fidelity
from torch.utils.data import Dataset

from benchmark.errors import UserError
from benchmark.metrics.extractors import ExtractorChoice, resolve_extractor
from benchmark.metrics.swd import sliced_wasserstein_distance

log = logging.getLogger(__name__)

KID_SUBSET_DEFAULT = 1000  # torch-fidelity's default, used when none is requested
KID_SUBSETS = 100
_SWD_REAL: dict = {}  # in-process cache of the real sets' sorted SWD projections, keyed by set and seed


@dataclass(frozen=True)
class FidelityResult:
    """One evaluation; ``swd`` is SWD x 1e3 averaged over the pyramid levels."""

    fid: float
    kid: float
    kid_std: float
    swd: float
    feature_extractor: str
    fid_samples: int
    real_samples: int
    kid_subset_size: int
    torch_fidelity_version: str
    seed: int
    fid_kid_s: float = 0.0  # wall time of the torch-fidelity part (features of both sets, FID, KID)
    swd_s: float = 0.0  # wall time of SWD


class UInt8Images(Dataset):
    """An in-memory uint8 [N, C, H, W] set served one image at a time, grey repeated to RGB if asked."""

    def __init__(self, images: torch.Tensor, rgb: bool) -> None:
        self.images, self.rgb = images, rgb

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = self.images[i]
        return x.expand(3, -1, -1).contiguous() if self.rgb and x.shape[0] == 1 else x


def _check(images: torch.Tensor, what: str) -> None:
    if not torch.is_tensor(images) or images.dtype != torch.uint8 or images.dim() != 4:
        got = f"{images.dtype} {tuple(images.shape)}" if torch.is_tensor(images) else type(images).__name__
        raise UserError(f"{what} must be a uint8 tensor [N, C, H, W], got {got}")
    if images.shape[1] not in (1, 3):
        raise UserError(f"{what} must have 1 or 3 channels, got {images.shape[1]}")
    if len(images) < 2:
        raise UserError(f"{what} needs at least 2 images for FID/KID, got {len(images)}")


def clamp_kid_subset(requested: Optional[int], n_fake: int, n_real: int) -> int:
    """The KID subset size actually used: the request (default 1000) capped at the smaller set."""
    want = KID_SUBSET_DEFAULT if requested is None else int(requested)
    if want < 2:
        raise UserError(f"kid_subset_size must be at least 2, got {want}")
    size = min(want, n_fake, n_real)
    if size < want:
        level = logging.INFO if requested is None else logging.WARNING
        log.log(level, "KID subset size %d clamped to %d (fake %d, real %d images)", want, size, n_fake, n_real)
    return size


def real_cache_name(real: torch.Tensor, extractor: str, preprocessing: str) -> str:
    """``real-<hash>``: the real set's cache entry, keyed by everything that affects its features."""
    h = hashlib.sha256()
    h.update(f"{tuple(real.shape)}|{real.dtype}|{extractor}|{preprocessing}|{torch_fidelity.__version__}|".encode())
    h.update(real.contiguous().view(-1).numpy().tobytes())
    return f"real-{h.hexdigest()[:24]}"


def evaluate_fidelity(fake: torch.Tensor, real: torch.Tensor, extractor: Union[ExtractorChoice, str],
                      kid_subset_size: Optional[int], cache_dir: Path, seed: int, *,
                      cuda: Optional[bool] = None, batch_size: int = 64) -> FidelityResult:
    """FID, KID (mean and std over 100 subsets) and SWD of ``fake`` against ``real`` (uint8 [N, C, H, W])."""
    _check(fake, "the generated set")
    _check(real, "the real set")
    if fake.shape[1:] != real.shape[1:]:
        raise UserError(f"generated images are {tuple(fake.shape[1:])} but real ones {tuple(real.shape[1:])}; "
                        "generate at the real images' size and channel count")
    choice = resolve_extractor(extractor)
    fake, real = fake.cpu(), real.cpu()
    rgb = choice.kind == "inception"  # Inception takes 3 channels; the substitute converts to grey itself
    preprocessing = "grey-to-rgb" if rgb and real.shape[1] == 1 else "none"
    kid_size = clamp_kid_subset(kid_subset_size, len(fake), len(real))
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    weights = {"feature_extractor_weights_path": str(choice.weights_path)} if choice.weights_path else {}
    real_name = real_cache_name(real, choice.name, preprocessing)  # hashes the real set: once per evaluation
    use_cuda = torch.cuda.is_available() if cuda is None else cuda
    t0 = time.perf_counter()
    metrics = torch_fidelity.calculate_metrics(
        input1=UInt8Images(fake, rgb), input2=UInt8Images(real, rgb), fid=True, kid=True,
        kid_subset_size=kid_size, kid_subsets=KID_SUBSETS, feature_extractor=choice.name, **weights,
        cache=True, cache_root=str(cache_dir), input2_cache_name=real_name,
        rng_seed=seed, cuda=use_cuda, batch_size=batch_size,
        save_cpu_ram=True, verbose=False)
    t1 = time.perf_counter()
    swd_device = torch.device("cuda") if use_cuda else None
    swd_cache = _SWD_REAL.setdefault(f"{real_name}|{seed}|{swd_device}", {})
    swd = sliced_wasserstein_distance(fake, real, torch.Generator().manual_seed(seed), b_cache=swd_cache,
                                      device=swd_device)
    return FidelityResult(
        fid=float(metrics[torch_fidelity.KEY_METRIC_FID]), kid=float(metrics[torch_fidelity.KEY_METRIC_KID_MEAN]),
        kid_std=float(metrics[torch_fidelity.KEY_METRIC_KID_STD]), swd=swd.mean_x1e3,
        feature_extractor=choice.name, fid_samples=len(fake), real_samples=len(real), kid_subset_size=kid_size,
        torch_fidelity_version=torch_fidelity.__version__, seed=seed, fid_kid_s=t1 - t0,
        swd_s=time.perf_counter() - t1)
