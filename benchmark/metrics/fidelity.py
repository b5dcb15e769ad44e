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
skip that half of the SWD work; the value is identical.  :func:`clear_caches` forgets them.

The generated set can be streamed (:func:`evaluate_fidelity_stream`): each batch becomes its features and its
SWD patches and is dropped, so no tensor of all generated images is ever built (5,000 images at 1024 px would
be 15.7 GB).  The computation is torch-fidelity's own (its feature extractor, FID statistics, KID subsets and
real-set cache), only fed batch by batch.

Resizing before the features (:class:`FeatureResize`, FID/KID only; SWD always sees the images as they are):
by default none, and torch-fidelity's Inception resizes to 299 px itself.  FastGAN's reference pipeline at
1024 px differs, and a recipe can follow it: its ``eval.py`` saves the samples nearest-resized to 512 px, and its
``benchmarking/fid.py`` (``--size 256``) resizes both sets to 256 x 256 with torchvision's ``Resize`` on PIL
images, PIL's bilinear filter, which widens with the shrink factor (antialiasing), and 8-bit output.  Here:
``F.interpolate`` nearest, then bilinear with ``antialias=True`` (the same filter as PIL's), rounded to uint8.

KID: with a 100-image real set and a subset size of 100, every subset holds the whole real set, so ``kid_std``
only reflects the variation of the generated subsets and is not a confidence interval; the result says so in
``kid_std_kind`` (``fake-subsets-only``, or ``both-sets-subsampled`` when the subset is smaller than the real
set).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Optional, Union

import torch
import torch.nn.functional as F
import torch_fidelity
from torch.utils.data import Dataset
from torch_fidelity import metric_fid, metric_kid
from torch_fidelity import utils as tf_utils

from benchmark.errors import UserError
from benchmark.metrics.extractors import ExtractorChoice, resolve_extractor
from benchmark.metrics.swd import PatchCollector, compare, make_plan

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
    generate_s: float = 0.0  # wall time spent waiting for the streamed generated batches
    kid_std_kind: str = "both-sets-subsampled"  # or fake-subsets-only: see kid_std_kind()


def nearest_resize(images: torch.Tensor, side: int) -> torch.Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, C, side, side], nearest neighbour (``F.interpolate``'s default mode)."""
    return F.interpolate(images, size=(side, side), mode="nearest")


def antialiased_resize(images: torch.Tensor, side: int, chunk: int = 16) -> torch.Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, C, side, side]: bilinear with antialiasing (PIL's filter), rounded;
    ``chunk`` images at a time, so a 1024 px set never exists in float at once."""
    out = [F.interpolate(x.float(), size=(side, side), mode="bilinear", align_corners=False, antialias=True)
           .round_().clamp_(0, 255).to(torch.uint8) for x in images.split(chunk)]
    return torch.cat(out) if out else images


@dataclass(frozen=True)
class FeatureResize:
    """What happens to the images before the feature extractor (see the module docstring); the default: nothing.

    ``gen_nearest``: generated images first nearest-resized to this side; ``size``: then both sets resized to
    ``size`` x ``size``, antialiased."""

    size: Optional[int] = None
    gen_nearest: Optional[int] = None

    def real(self, images: torch.Tensor) -> torch.Tensor:
        return images if self.size is None else antialiased_resize(images, self.size)

    def fake(self, images: torch.Tensor) -> torch.Tensor:
        if self.gen_nearest is not None:
            images = nearest_resize(images, self.gen_nearest)
        return self.real(images)

    @property
    def tag(self) -> str:
        """What the real set's feature cache must tell apart: empty when nothing is resized."""
        return "" if self.size is None else f"|resize{self.size}"


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


def clear_caches() -> None:
    """Forget this process's in-memory SWD projections of real sets: the next evaluation starts cold, like the
    first evaluation of a run.  (torch-fidelity's on-disk cache of real statistics lives in ``cache_dir``.)"""
    _SWD_REAL.clear()


def kid_std_kind(kid_subset_size: int, n_real: int) -> str:
    """What ``kid_std`` measures.  When the KID subset is as large as the real set, every subset holds every
    real image, so the std over subsets reflects the generated subsets alone: it is not a confidence interval."""
    return "fake-subsets-only" if kid_subset_size >= n_real else "both-sets-subsampled"


def evaluate_fidelity(fake: torch.Tensor, real: torch.Tensor, extractor: Union[ExtractorChoice, str],
                      kid_subset_size: Optional[int], cache_dir: Path, seed: int, *,
                      cuda: Optional[bool] = None, batch_size: int = 64,
                      resize: FeatureResize = FeatureResize()) -> FidelityResult:
    """FID, KID (mean and std over 100 subsets) and SWD of ``fake`` against ``real`` (uint8 [N, C, H, W])."""
    _check(fake, "the generated set")
    return evaluate_fidelity_stream(fake.split(batch_size), len(fake), real, extractor, kid_subset_size, cache_dir,
                                    seed, cuda=cuda, batch_size=batch_size, resize=resize)


def evaluate_fidelity_stream(fake_batches: Iterable[torch.Tensor], n_fake: int, real: torch.Tensor,
                             extractor: Union[ExtractorChoice, str], kid_subset_size: Optional[int],
                             cache_dir: Path, seed: int, *, cuda: Optional[bool] = None,
                             batch_size: int = 64, resize: FeatureResize = FeatureResize()) -> FidelityResult:
    """:func:`evaluate_fidelity` with the generated set streamed: ``fake_batches`` yields ``n_fake`` images in
    uint8 [b, C, H, W] batches (e.g. straight from a generator).  Each batch is turned into its features and
    its SWD patches and dropped, so memory grows with the batch plus, per image, one feature vector and
    ``patches_per_image`` patches per pyramid level, never with the image size times the sample count.
    ``resize`` changes what the features see (FID/KID), never SWD."""
    _check(real, "the real set")
    if n_fake < 2:
        raise UserError(f"the generated set needs at least 2 images for FID/KID, got {n_fake}")
    choice = resolve_extractor(extractor)
    real = real.cpu()
    rgb = choice.kind == "inception"  # Inception takes 3 channels; the substitute converts to grey itself
    preprocessing = "grey-to-rgb" if rgb and real.shape[1] == 1 else "none"
    kid_size = clamp_kid_subset(kid_subset_size, n_fake, len(real))
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    real_name = real_cache_name(real, choice.name, preprocessing + resize.tag)  # hashes the set once
    use_cuda = torch.cuda.is_available() if cuda is None else cuda
    weights = {"feature_extractor_weights_path": str(choice.weights_path)} if choice.weights_path else {}
    real_seen = UInt8Images(resize.real(real), rgb)  # what the features see of the real set
    kw = dict(input2=real_seen, fid=True, kid=True, kid_subset_size=kid_size, kid_subsets=KID_SUBSETS,
              feature_extractor=choice.name, **weights, cache=True, cache_root=str(cache_dir),
              input2_cache_name=real_name, rng_seed=seed, cuda=use_cuda, batch_size=batch_size, save_cpu_ram=True,
              verbose=False)
    layers = {m: tf_utils.resolve_feature_layer_for_metric(m, **kw) for m in ("fid", "kid")}
    fe = tf_utils.create_feature_extractor(choice.name, list(dict.fromkeys(layers.values())), **kw)
    swd_device = torch.device("cuda") if use_cuda else None
    plan = make_plan(real.shape[1:], max(n_fake, len(real)), torch.Generator().manual_seed(seed))
    fake_feats, patches, t = _consume(fake_batches, n_fake, real, fe, plan, rgb, use_cuda, resize)
    t0 = time.perf_counter()
    real_feats = tf_utils.extract_featuresdict_from_input_id_cached(2, fe, **kw)
    stats_fake = metric_fid.fid_featuresdict_to_statistics(fake_feats, layers["fid"])
    stats_real = metric_fid.fid_featuresdict_to_statistics_cached(real_feats, real_name, fe, layers["fid"], **kw)
    fid = metric_fid.fid_statistics_to_metric(stats_fake, stats_real, False)[torch_fidelity.KEY_METRIC_FID]
    kid = metric_kid.kid_featuresdict_to_metric(fake_feats, real_feats, layers["kid"], **kw)
    t1 = time.perf_counter()
    swd_cache = _SWD_REAL.setdefault(f"{real_name}|{seed}|{swd_device}", {})
    swd = compare(plan, patches, real, b_cache=swd_cache, device=swd_device)
    return FidelityResult(
        fid=float(fid), kid=float(kid[torch_fidelity.KEY_METRIC_KID_MEAN]),
        kid_std=float(kid[torch_fidelity.KEY_METRIC_KID_STD]), swd=swd.mean_x1e3, feature_extractor=choice.name,
        fid_samples=n_fake, real_samples=len(real), kid_subset_size=kid_size,
        torch_fidelity_version=torch_fidelity.__version__, seed=seed, fid_kid_s=t["features"] + t1 - t0,
        swd_s=t["patches"] + time.perf_counter() - t1, generate_s=t["generate"],
        kid_std_kind=kid_std_kind(kid_size, len(real)))


def _consume(batches: Iterable[torch.Tensor], n: int, real: torch.Tensor, fe, plan, rgb: bool, cuda: bool,
             resize: FeatureResize = FeatureResize()):
    """Features and SWD patches of the streamed generated images, and the time spent on each part."""
    feats: Dict[str, list] = {}
    patches = PatchCollector(plan, "the generated set")
    t = {"generate": 0.0, "features": 0.0, "patches": 0.0}
    count, it = 0, iter(batches)
    while True:
        t0 = time.perf_counter()
        batch = next(it, None)
        t1 = time.perf_counter()
        t["generate"] += t1 - t0
        if batch is None:
            break
        _check_batch(batch, real, count, n)
        x = resize.fake(batch)
        x = x.expand(-1, 3, -1, -1) if rgb and x.shape[1] == 1 else x
        with torch.no_grad():
            out = fe.convert_features_tuple_to_dict(fe(x.cuda(non_blocking=True) if cuda else x))
        for k, v in out.items():
            feats.setdefault(k, []).append(v.cpu())
        t2 = time.perf_counter()
        patches.add(batch)
        t["features"] += t2 - t1
        t["patches"] += time.perf_counter() - t2
        count += len(batch)
    if count != n:
        raise UserError(f"the generated set was announced as {n} images but {count} came")
    return {k: torch.cat(v) for k, v in feats.items()}, patches, t


def _check_batch(batch: torch.Tensor, real: torch.Tensor, count: int, n: int) -> None:
    if not torch.is_tensor(batch) or batch.dtype != torch.uint8 or batch.dim() != 4:
        got = f"{batch.dtype} {tuple(batch.shape)}" if torch.is_tensor(batch) else type(batch).__name__
        raise UserError(f"the generated set must come as uint8 tensors [b, C, H, W], got {got}")
    if batch.shape[1:] != real.shape[1:]:
        raise UserError(f"generated images are {tuple(batch.shape[1:])} but real ones {tuple(real.shape[1:])}; "
                        "generate at the real images' size and channel count")
    if count + len(batch) > n:
        raise UserError(f"the generated set was announced as {n} images but more came")
