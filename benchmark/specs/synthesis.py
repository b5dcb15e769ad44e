"""The few-shot synthesis task as data: FID/KID/SWD, generator cost, the paper's low-shot claim."""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

from benchmark import convergence
from benchmark.config import GANRecipe
from benchmark.spec import FRECHET, NON_NEGATIVE, Claim, Column, Option, TaskSpec

NAME = "synthesis"

# KID is an unbiased estimate of a squared MMD: negative when the sets are close, so it has no lower bound
# (only the store's magnitude guard, benchmark.results.MAX_MAGNITUDE, applies to it)
KID = (-math.inf, math.inf)

COLUMNS = (
    Column("params", "params G (M)", 3, 1e-6, spread=False, valid=NON_NEGATIVE),
    Column("params_d", "params D (M)", 3, 1e-6, spread=False, valid=NON_NEGATIVE),
    Column("gmacs", "GMACs G", 4, spread=False, valid=NON_NEGATIVE),
    Column("infer_img_per_s", "G img/s", 0, valid=NON_NEGATIVE),
    Column("fid", "FID", 2, better="lower", ci=True, valid=FRECHET),
    Column("kid", "KID (x1e3)", 2, 1e3, better="lower", valid=KID),
    Column("swd", "SWD (x1e3)", 2, better="lower", valid=NON_NEGATIVE),
)

CLAIMS = (Claim("SASE-GAN FID < FastGAN FID", "SASE-GAN", "FastGAN", "fid", False, matched_size=False),)

NOTES = (
    "FID/KID: {fid_samples} images from the {fid_generator} generator (BatchNorm in {fid_mode} mode, generated "
    "in batches of {fid_gen_batch}), at the {fid_selection} of the evaluated checkpoints, against "
    "the whole training set (few-shot sets have no test split), features from `{feature_extractor}`. KID is "
    "shown x1e3 (its ± over seeds; the within-run KID std is of kind {kid_std_kind}). Recipe fields: "
    "reconstruction loss {recon_reduction} over the batch, horizontal flip {hflip}, {sampling} sampling. "
    "SWD: sliced Wasserstein distance on 7x7 patches of a Laplacian pyramid (x1e3), weight-free. "
    "GMACs of G per image (fvcore multiply-adds); G img/s: generator images/s at batch {infer_batch}. "
    "Mean ± std over seeds (sample std, one run per seed); 95% CI: mean ± t(0.975, n-1) * std / sqrt(n) over "
    "seeds."
)

# few-shot folder names (lower case, any separator) -> published dataset key; first match wins
FOLDER_ALIASES = (("obama", "obama-100shot"), ("grumpy", "grumpy-cat-100shot"), ("panda", "panda-100shot"),
                  ("dog", "animalface-dog"), ("cat", "animalface-cat"))


def console(r: Mapping[str, Any]) -> str:
    return (f"FID {r['fid']:.2f}  KID {r['kid']:.4f}  SWD {r['swd']:.1f} [{r['feature_extractor']}, "
            f"{r['fid_samples']} samples]  G {_params_g(r) / 1e6:.2f} M params  {r['gmacs']:.4f} GMACs")


def _params_g(r: Mapping[str, Any]) -> float:
    return r.get("params", r.get("params_g"))


def _eval_mode_ok(row: Mapping[str, Any]) -> bool:
    """Published FIDs generate with train-mode BatchNorm (the reference eval.py); eval mode is another number."""
    return str(row.get("fid_mode", "eval")) in ("train", "recalibrated")


def published_key(row: Mapping[str, Any]) -> Optional[str]:
    dataset, extractor = str(row.get("dataset")), str(row.get("feature_extractor")).lower()
    if row.get("preset") not in ("paper", "paper1024") or not dataset.startswith("folder:"):
        return None
    if "inception" not in extractor or not _eval_mode_ok(row):
        return None
    name = dataset.split(":", 1)[1].lower()
    return next((key for alias, key in FOLDER_ALIASES if alias in name), None)


def not_comparable(row: Mapping[str, Any]) -> str:
    extractor, dataset, preset = row.get("feature_extractor"), row.get("dataset"), row.get("preset")
    if "inception" not in str(extractor).lower():
        return (f"FID here uses `{extractor}` features on `{dataset}` (preset `{preset}`); published FIDs use "
                "Inception-v3 features on the 256 px few-shot sets, so the values are on different scales.")
    if not _eval_mode_ok(row):
        return (f"these FIDs were generated with BatchNorm in eval mode (`fid_mode` {row.get('fid_mode')}); the "
                "reference evaluation generates in train mode, so the numbers are not the published quantity.")
    return (f"`{dataset}` (preset `{preset}`) is not one of the published few-shot sets at 256 px "
            f"({', '.join(k for _, k in FOLDER_ALIASES)}).")


def caveat(split: Mapping[str, Any]) -> str:
    if "inception" in str(split.get("feature_extractor")).lower():
        return ""
    return (f"FID/KID features: `{split.get('feature_extractor')}`, a substitute for Inception-v3, so these "
            "values are NOT comparable to published FIDs.")


SPEC = TaskSpec(
    name=NAME, title="Synthesis", recipe_type=GANRecipe, data_kinds=("fmnist_few_shot", "folder"),
    identity=("device", "precision", "machine"), profile="benchmark.profile_cmd:profile_gan",
    run="benchmark.tasks.synthesis:run_synthesis", estimate="benchmark.tasks.estimate:synthesis_seconds", columns=COLUMNS, console=console, quality="fid",
    split_by=("dataset", "feature_extractor", "recipe_id"), plots=("learning_curve", "sample_grids"), notes=NOTES,
    claims=CLAIMS, published=published_key, not_comparable=not_comparable,
    published_metrics={"fid": ("fid", 1.0)}, caveat=caveat,
    options=(Option("--inception-weights", "inception_weights",
                    "local Inception-v3 weights (pt_inception-2015-12-05) for paper-comparable FID", is_file=True),
             Option("--fid-images", "fid_images",
                    "write the last FID evaluation's generated images and the real set as PNG folders under "
                    "DIR/<run id>/ (generated/, real/), to cross-check with torch-fidelity's own `fidelity` CLI; "
                    "a completed run is kept unless --rerun", measures=False)),
    convergence=convergence.SYNTHESIS,
    palette={"FastGAN": "#1f77b4", "SASE-GAN": "#d62728"},
)
