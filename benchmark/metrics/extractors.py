"""Feature extractors for FID and KID: Inception-v3 when its weights are here, else a named substitute.

FID and KID compare the statistics of two image sets in the feature space of a fixed network.  The standard
network is torch-fidelity's Inception-v3 (``inception-v3-compat``, TF-2015 weights), which torch-fidelity
downloads on first use.  :func:`choose_extractor` uses it when the weights are available: a file the user
passes (``inception_weights=PATH``, checked against the published SHA-256 prefix ``6726825d``) or a copy
already in the torch hub cache.

Offline, without those weights, it falls back (logging it once) to a **substitute**: a small CNN classifier
trained on the Fashion-MNIST train split.  Its weights are **shipped with the package**
(``benchmark/metrics/weights/fmnist-cnn-c5e6ce44.pt``, :data:`PINNED_NAME`) and loaded after their digest is
checked, so every machine measures FID/KID/SIFID with the same features and a newcomer's values can be set
beside the reference's.  Training is deterministic on one machine but not bit-identical across CPUs and
torch builds (a retrained copy gets another name, and its values compare with nothing measured before), so
it happens only when asked: a non-default :class:`TrainConfig` or :class:`CNNSpec`, ``retrain=True``, or
``SASE_BENCH_RETRAIN_EXTRACTOR=1`` in the environment.  Why this CNN is a sensible substitute:

- The embedded synthesis data *is* Fashion-MNIST.  A classifier trained on it has penultimate features that
  separate exactly the garment shapes and textures a generator must reproduce, which is the property that
  makes Inception features useful for FID on natural images (Heusel et al. 2017 use a network trained on the
  data domain).  A randomly initialised network would measure mostly low-level statistics.
- It is small enough to train in about a minute on a CPU and needs no download.

Its values are **not comparable to Inception FID/KID**, nor to values from a substitute with other weights:
every value is recorded with the extractor's name, and the name ``fmnist-cnn-<8 hex>`` carries the first
digits of the SHA-256 of the weights themselves, so it identifies the exact weights.  For other data
(colour, larger images) the substitute converts to grey and resizes to 28 px, so it sees only coarse shape:
use Inception there when you can.

A retrained substitute's weights are cached in ``cache_dir`` under a key hashing everything that affects them
(the architecture spec, the training config, the SHA-256 of the data files, :data:`VERSION` and the torch
version) and written atomically.  The extractor is registered in torch-fidelity's feature-extractor registry, so
``torch_fidelity.calculate_metrics(feature_extractor=choice.name, ...)`` works.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Dict, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch_fidelity
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from benchmark.atomic import atomic_save
from benchmark.data import fashion_mnist
from benchmark.digest import file_sha256, tensor_digest
from benchmark.errors import UserError

log = logging.getLogger(__name__)

VERSION = "2"  # bump when code that changes the substitute's weights or features changes
INCEPTION_NAME = "inception-v3-compat"
INCEPTION_SHA256_PREFIX = "6726825d"  # from torch-fidelity's published file name
SUBSTITUTE_PREFIX = "fmnist-cnn"
# The shipped substitute: the weights this project's deciding synthesis and one-shot runs are measured with.
PINNED_NAME = "fmnist-cnn-c5e6ce44"
PINNED_SHA256 = "c5e6ce4439a90da8fa0eea84365149ed0fe540e5182c40c3243c5488e01ffa74"  # weights_digest of its state dict
PINNED_PATH = Path(__file__).resolve().parent / "weights" / f"{PINNED_NAME}.pt"
RETRAIN_ENV = "SASE_BENCH_RETRAIN_EXTRACTOR"
_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as PIL's convert("L")


@dataclass(frozen=True)
class CNNSpec:
    """Architecture and input convention of the substitute classifier."""

    channels: Tuple[int, ...] = (16, 32)  # conv3x3-BN-ReLU-maxpool stages
    feature_dim: int = 128  # penultimate layer: the FID/KID features
    dropout: float = 0.2
    input_size: int = 28
    mean: float = 0.2860  # Fashion-MNIST train pixel mean and std in [0, 1]
    std: float = 0.3530
    num_classes: int = 10


@dataclass(frozen=True)
class TrainConfig:
    """How the substitute is trained; ``train_subset``/``epochs`` make a cheap one for tests."""

    epochs: int = 2
    batch_size: int = 128
    lr: float = 3e-3  # peak of a one-cycle schedule, AdamW
    weight_decay: float = 1e-4
    train_subset: Optional[int] = None  # None: all 60,000 train images
    seed: int = 0


@dataclass(frozen=True)
class ExtractorChoice:
    """The extractor used for FID/KID; ``name`` is what every value records."""

    name: str
    kind: str  # "inception" or "substitute"
    weights_path: Optional[Path] = None  # passed as torch-fidelity's feature_extractor_weights_path
    test_accuracy: Optional[float] = None  # percent on the Fashion-MNIST test split (substitute only)
    train_seconds: Optional[float] = None  # when the weights were trained (substitute only)
    cache_key: Optional[str] = None


class FashionCNN(nn.Module):
    """A small classifier with a timm-like split into ``forward_features`` and ``forward_head``."""

    def __init__(self, spec: CNNSpec) -> None:
        super().__init__()
        layers, c_in = [], 1
        for c in spec.channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c_in = c
        side = spec.input_size // 2 ** len(spec.channels)
        self.body = nn.Sequential(*layers)
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(c_in * side * side, spec.feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(spec.dropout), nn.Linear(spec.feature_dim, spec.num_classes))
        # set after training to 1 / RMS of the train-set features, so FID/KID see unit-RMS features:
        # KID's cubic kernel (x.y/d + 1)^3 is scale-sensitive, and Inception's pool features are O(1) too
        self.register_buffer("feature_scale", torch.ones(()))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(self.body(x))  # [B, 1, S, S] -> [B, feature_dim]

    def forward_head(self, f: torch.Tensor) -> torch.Tensor:
        return self.head(f)  # [B, feature_dim] -> [B, num_classes]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def to_model_input(x: torch.Tensor, spec: CNNSpec) -> torch.Tensor:
    """uint8 [B, 1 or 3, H, W] -> normalised grey float [B, 1, S, S] (antialiased bilinear resize)."""
    if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected uint8 images [B, 1 or 3, H, W], got {x.dtype} {tuple(x.shape)}")
    x = x.float() / 255.0
    if x.shape[1] == 3:
        x = (x * x.new_tensor(_LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    if x.shape[-2:] != (spec.input_size, spec.input_size):
        x = F.interpolate(x, size=(spec.input_size,) * 2, mode="bilinear", antialias=True, align_corners=False)
    return (x - spec.mean) / spec.std


class FashionCNNFeatures(FeatureExtractorBase):
    """torch-fidelity wrapper; :func:`register_substitute` subclasses it with the weights of one name."""

    spec: ClassVar[CNNSpec]
    state_dict_: ClassVar[Dict[str, torch.Tensor]]

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **_metric_kwargs) -> None:
        # torch-fidelity passes all calculate_metrics kwargs to every extractor; only this one concerns us.
        if feature_extractor_weights_path is not None:
            raise ValueError(f"{name} carries its own weights; do not pass feature_extractor_weights_path")
        super().__init__(name, features_list)
        self.net = FashionCNN(self.spec)
        self.net.load_state_dict(self.state_dict_)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple:
        f = self.net.forward_features(to_model_input(x, self.spec))  # [B, feature_dim]
        out = {"penultimate": f * self.net.feature_scale, "logits": self.net.forward_head(f)}
        return tuple(out[name] for name in self.features_list)

    @staticmethod
    def get_provided_features_list():
        return "penultimate", "logits"

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"fid": "penultimate", "kid": "penultimate", "prc": "penultimate", "isc": "logits"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 1, 28, 28, dtype=torch.uint8)


weights_digest = tensor_digest


def data_hashes(root: Optional[Path] = None) -> Dict[str, str]:
    """SHA-256 of the four Fashion-MNIST IDX files (train and test, images and labels)."""
    return {p.name: file_sha256(p) for p in fashion_mnist.idx_files(root)}


def cache_key(spec: CNNSpec, config: TrainConfig, data: Dict[str, str]) -> str:
    """SHA-256 of everything that affects the substitute's weights."""
    blob = {"version": VERSION, "torch": torch.__version__, "spec": dataclasses.asdict(spec),
            "train": dataclasses.asdict(config), "data": data}
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def train_substitute(spec: CNNSpec, config: TrainConfig, data_root: Optional[Path] = None) -> Dict:
    """Train on the train split with a fixed seed; returns the state dict and its test accuracy (percent)."""
    x, y = fashion_mnist.load_split("train", data_root)
    if config.train_subset is not None:
        idx = fashion_mnist.stratified_subset(y, config.train_subset, seed=config.seed)
        x, y = x[idx], y[idx]
    x = to_model_input(x[:, None], spec)
    g = torch.Generator().manual_seed(config.seed)
    steps = config.epochs * -(-len(x) // config.batch_size)
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)  # init and dropout
        model = FashionCNN(spec)
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=steps)
        model.train()
        for _ in range(config.epochs):
            for idx in torch.randperm(len(x), generator=g).split(config.batch_size):
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    seconds = time.perf_counter() - t0
    model.feature_scale.fill_(1.0 / feature_rms(model, x))
    return {"state_dict": model.state_dict(), "test_accuracy": evaluate_accuracy(model, spec, data_root),
            "train_seconds": seconds}


@torch.no_grad()
def feature_rms(model: FashionCNN, x: torch.Tensor) -> float:
    """Root-mean-square of the penultimate features over (model-ready) images ``x``."""
    model.eval()
    sq = sum(float(model.forward_features(xb).pow(2).sum()) for xb in x.split(2000))
    return max(1e-8, (sq / (len(x) * model.embed[1].out_features)) ** 0.5)


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, spec: CNNSpec, data_root: Optional[Path] = None) -> float:
    """Top-1 accuracy (percent) on the 10,000 Fashion-MNIST test images."""
    x, y = fashion_mnist.load_split("test", data_root)
    model.eval()
    correct = sum(int((model(to_model_input(xb[:, None], spec)).argmax(1) == yb).sum())
                  for xb, yb in zip(x.split(1000), y.split(1000)))
    return 100.0 * correct / len(y)


def _atomic_save(obj, path: Path) -> None:
    atomic_save(path, lambda tmp: torch.save(obj, tmp))


def register_substitute(spec: CNNSpec, state_dict: Dict[str, torch.Tensor]) -> str:
    """Register these weights in torch-fidelity's registry as ``fmnist-cnn-<digest8>``; returns the name."""
    digest = weights_digest(state_dict)
    name = f"{SUBSTITUTE_PREFIX}-{digest[:8]}"
    existing = FEATURE_EXTRACTORS_REGISTRY.get(name)
    if existing is not None:
        if not (issubclass(existing, FashionCNNFeatures) and weights_digest(existing.state_dict_) == digest):
            raise ValueError(f"feature extractor {name!r} is already registered with other weights")
        return name
    cls = type(f"FashionCNNFeatures_{digest[:8]}", (FashionCNNFeatures,),
               {"spec": spec, "state_dict_": {k: v.clone() for k, v in state_dict.items()}})
    torch_fidelity.register_feature_extractor(name, cls)
    return name


def _retrain_requested(spec: CNNSpec, config: TrainConfig, retrain: bool) -> bool:
    """Training is asked for explicitly: other settings than the shipped weights', ``retrain``, or the env."""
    return retrain or spec != CNNSpec() or config != TrainConfig() or os.environ.get(RETRAIN_ENV, "") == "1"


def _pinned_problem(path: Path, why: str) -> UserError:
    return UserError(f"the shipped substitute feature extractor {path} {why}; restore it (`git checkout -- "
                     f"benchmark/metrics/weights/{PINNED_NAME}.pt`, or reinstall sase-bench), or set "
                     f"{RETRAIN_ENV}=1 to train one here (its FID/KID/SIFID then compare with no reference run)")


def read_pinned(path: Path = PINNED_PATH) -> Dict:
    """The shipped weights and their provenance, checked: the file loads, holds the architecture of
    :class:`CNNSpec`, and its state dict has the digest :data:`PINNED_SHA256`; else a :class:`UserError`."""
    if not path.is_file():
        raise _pinned_problem(path, "is missing")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        digest = weights_digest(blob["state_dict"])
    except Exception as e:  # a truncated zip, a file swapped for another: all one corrupt file
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise _pinned_problem(path, f"cannot be read ({type(e).__name__}: {first})") from None
    if digest != PINNED_SHA256:
        raise _pinned_problem(path, f"is corrupt (weights SHA-256 {digest[:8]}, expected {PINNED_SHA256[:8]})")
    spec = dict(blob.get("spec") or {}, channels=tuple((blob.get("spec") or {}).get("channels", ())))
    if spec != dataclasses.asdict(CNNSpec()):
        raise _pinned_problem(path, f"was made for another architecture ({spec}, this code: {CNNSpec()})")
    return blob


def pinned_extractor(path: Path = PINNED_PATH) -> ExtractorChoice:
    """The shipped substitute, registered as :data:`PINNED_NAME`."""
    blob = read_pinned(path)
    name = register_substitute(CNNSpec(), blob["state_dict"])
    assert name == PINNED_NAME, name  # the digest was checked above
    return ExtractorChoice(name, "substitute", None, blob["test_accuracy"], blob["train_seconds"], blob.get("cache_key"))


def substitute_extractor(cache_dir: Path, spec: CNNSpec = CNNSpec(), config: TrainConfig = TrainConfig(),
                         data_root: Optional[Path] = None, retrain: bool = False) -> ExtractorChoice:
    """The shipped Fashion-MNIST CNN; trained (once, then cached) only when :func:`_retrain_requested`."""
    if not _retrain_requested(spec, config, retrain):
        return pinned_extractor()
    key = cache_key(spec, config, data_hashes(data_root))
    path = Path(cache_dir) / f"{SUBSTITUTE_PREFIX}-{key[:16]}.pt"
    if path.is_file():
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob.get("cache_key") != key or weights_digest(blob["state_dict"]) != blob.get("weights_sha256"):
            raise UserError(f"{path} does not match its cache key or weights hash; delete it to retrain")
    else:
        log.info("training the substitute feature extractor %s (cache %s)", dataclasses.asdict(config), path)
        blob = train_substitute(spec, config, data_root)
        blob.update(cache_key=key, weights_sha256=weights_digest(blob["state_dict"]),
                    spec=dataclasses.asdict(spec), train=dataclasses.asdict(config), version=VERSION)
        _atomic_save(blob, path)
    name = register_substitute(spec, blob["state_dict"])
    log.info("feature extractor %s: Fashion-MNIST test accuracy %.2f%%", name, blob["test_accuracy"])
    return ExtractorChoice(name, "substitute", None, blob["test_accuracy"], blob["train_seconds"], key)


def hub_inception_path() -> Path:
    """Where torch-fidelity's download of the Inception weights lands in the torch hub cache."""
    return Path(torch.hub.get_dir()) / "checkpoints" / URL_INCEPTION_V3.rsplit("/", 1)[-1]


def inception_extractor(weights: Union[str, Path]) -> ExtractorChoice:
    """torch-fidelity's Inception-v3 with a local weights file, checked against the published hash."""
    weights = Path(weights)
    if not weights.is_file():
        raise UserError(f"Inception weights {weights} not found; download {URL_INCEPTION_V3} there, "
                        "or leave the option out to use the offline substitute")
    digest = file_sha256(weights)
    if not digest.startswith(INCEPTION_SHA256_PREFIX):
        raise UserError(f"{weights} is not torch-fidelity's Inception file (SHA-256 {digest[:8]}, expected "
                        f"{INCEPTION_SHA256_PREFIX}...); download {URL_INCEPTION_V3}")
    return ExtractorChoice(INCEPTION_NAME, "inception", weights_path=weights)


@functools.lru_cache(maxsize=1)
def _log_no_inception_once() -> None:
    log.warning("Inception-v3 weights are unavailable (not passed, not in %s): FID/KID use the Fashion-MNIST "
                "substitute extractor; its values are not comparable to Inception FID/KID", hub_inception_path())


def choose_extractor(nc: int = 1, cache_dir: Path = Path("results/cache"), inception_weights=None,
                     spec: CNNSpec = CNNSpec(), config: TrainConfig = TrainConfig(),
                     data_root: Optional[Path] = None) -> ExtractorChoice:
    """Inception-v3 if its weights are passed or cached by torch hub, else the substitute (logged once): the
    shipped one, unless ``spec``/``config`` ask for another (see :func:`substitute_extractor`).

    ``nc`` is the channel count of the images to evaluate (1 or 3); both extractors accept either.
    """
    if nc not in (1, 3):
        raise UserError(f"FID/KID need 1- or 3-channel images, got {nc} channels")
    if inception_weights is not None:
        return inception_extractor(inception_weights)
    if hub_inception_path().is_file():
        return inception_extractor(hub_inception_path())
    _log_no_inception_once()
    return substitute_extractor(cache_dir, spec, config, data_root)


def resolve_extractor(extractor: Union[ExtractorChoice, str]) -> ExtractorChoice:
    """An :class:`ExtractorChoice` from a choice or a registered name (Inception only if its weights are cached)."""
    if isinstance(extractor, ExtractorChoice):
        return extractor
    if extractor == INCEPTION_NAME:
        return inception_extractor(hub_inception_path())
    if extractor == PINNED_NAME:
        return pinned_extractor()
    if extractor not in FEATURE_EXTRACTORS_REGISTRY:
        names = ", ".join(sorted(FEATURE_EXTRACTORS_REGISTRY))
        raise UserError(f"unknown feature extractor {extractor!r}; choose one of: {names} (substitute names "
                        "appear once benchmark.metrics.extractors.substitute_extractor has loaded them)")
    kind = "substitute" if extractor.startswith(SUBSTITUTE_PREFIX) else "registered"
    return ExtractorChoice(extractor, kind)
