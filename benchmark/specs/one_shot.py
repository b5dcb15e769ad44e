"""The one-shot task as data: SIFID, structure and diversity on single photos, the paper's one-shot claim.

The paper claims SASE-SinGAN "preserves structure better than SinGAN".  Our reading, as data: a lower SIFID
(the published measure; as published only with torchvision's Inception-v3 weights, :data:`PUBLISHED_SIFID`)
and a higher SSIM at the coarsest scale (the weight-free structure measure), each a superiority test per
image over seeds, and each only together with diversity not worse by more than ``DIVERSITY_MARGIN``:
copying the photo wins both (a pyramid that reconstructs the photo for any noise has SIFID near 0 and SSIM
near 1; measured: SASE-SinGAN on coffee, seed 0 of the deciding preset, diversity 0.04 against SinGAN's 0.36).
"""

from __future__ import annotations

from typing import Any, Mapping

from benchmark import convergence
from benchmark.config import SinGANRecipe
from benchmark.spec import FRECHET, NON_NEGATIVE, POSITIVE_COUNT, Claim, Column, Guard, Option, TaskSpec

NAME = "one-shot"
# the published SIFID's features, as ``sifid_extractor`` records them (benchmark.metrics.sifid.PUBLISHED_LABEL):
# SinGAN's script, torchvision's ImageNet Inception-v3, the 64 channels of Conv2d_2b_3x3 (before its first max-pool)
PUBLISHED_SIFID = "inception-v3-torchvision:Conv2d_2b_3x3"

COLUMNS = (
    Column("params", "params G (M)", 3, 1e-6, spread=False, valid=NON_NEGATIVE),
    Column("params_d", "params D (M)", 3, 1e-6, spread=False, valid=NON_NEGATIVE),
    Column("gmacs", "GMACs G (all scales)", 4, spread=False, valid=NON_NEGATIVE),
    Column("num_scales", "scales", 0, spread=False, valid=POSITIVE_COUNT),
    Column("train_s_per_scale", "s / scale", 1, valid=NON_NEGATIVE),
    Column("sifid", "SIFID", 4, better="lower", ci=True, valid=FRECHET),
    Column("ssim_coarse", "SSIM coarse", 3, better="higher", ci=True, valid=(-1.0, 1.0)),
    Column("patch_swd", "patch SWD", 3, better="lower", valid=NON_NEGATIVE),
    Column("diversity", "diversity", 3, valid=NON_NEGATIVE),
)

# SSIM at the coarsest scale rewards samples that copy the photo's layout, i.e. low diversity (issue 20), and
# so does SIFID (a copy's spatial statistics are the photo's), so both claims are decided together with
# diversity: SASE-SinGAN's diversity not below SinGAN's by more than DIVERSITY_MARGIN.  0.05 (diversity is a
# ratio of stds; SinGAN's is 0.42-0.56 on the reference photos, so about a tenth of it) is our choice; it is in
# every verdict row, so a reader can disagree with it.  The two claims share the guard's tests (one Holm entry).
DIVERSITY_MARGIN = 0.05
DIVERSITY_GUARD = Guard("diversity", True, DIVERSITY_MARGIN, "diversity")

CLAIMS = (
    Claim("SASE-SinGAN preserves structure better: SSIM at the coarsest scale > SinGAN's, diversity not worse",
          "SASE-SinGAN", "SinGAN", "ssim_coarse", True, matched_size=False, guard=DIVERSITY_GUARD),
    Claim("SASE-SinGAN SIFID < SinGAN SIFID, diversity not worse", "SASE-SinGAN", "SinGAN", "sifid", False,
          matched_size=False, guard=DIVERSITY_GUARD),
)

NOTES = (
    "Image `{image}` of `{dataset}`, resized to {img_h}x{img_w} px ({num_scales} scales, factor {scale_factor}), "
    "{iters_per_scale} iterations per scale. SIFID: Fréchet distance between the spatial features of the real "
    "image and of each of {sifid_samples} random samples, averaged (SinGAN's measure), features "
    "`{sifid_extractor}`: comparable to published SIFIDs only when that is `" + PUBLISHED_SIFID + "` (SinGAN's "
    "script: torchvision's ImageNet Inception-v3, the 64 channels before its first max-pool, input 2x-1). SSIM "
    "coarse: SSIM between the real image and the samples at the coarsest scale (weight-free; higher keeps more "
    "structure). "
    "patch SWD: sliced Wasserstein distance between 7x7 patches (weight-free). Diversity: SinGAN's per-pixel "
    "std over samples divided by the image's std. GMACs: fvcore multiply-adds of one sample through every "
    "scale ({flops_counter}). s / scale: mean training seconds per scale on the device shown. Mean ± std "
    "over seeds; 95% CI: mean ± t(0.975, n-1) * std / sqrt(n)."
)


def console(r: Mapping[str, Any]) -> str:
    return (f"{r['image']}: SIFID {r['sifid']:.4f}  SSIM coarse {r['ssim_coarse']:.3f}  diversity "
            f"{r['diversity']:.3f}  G {r['params'] / 1e6:.3f} M params, {r['num_scales']} scales")


def caveat(split: Mapping[str, Any]) -> str:
    label = str(split.get("sifid_extractor"))
    if label == PUBLISHED_SIFID:
        return ""
    if "inception" in label.lower():
        return (f"SIFID features: `{label}`, Inception-v3 but not the published SIFID's features "
                f"(`{PUBLISHED_SIFID}`: torchvision's ImageNet weights, 64 channels before the first max-pool): "
                "not comparable to published SIFIDs.")
    return (f"SIFID features: `{label}`, a substitute for Inception-v3: not comparable to published SIFIDs.")


SPEC = TaskSpec(
    name=NAME, title="One-shot synthesis", recipe_type=SinGANRecipe, data_kinds=("skimage-photos",),
    run="benchmark.tasks.one_shot:run_one_shot", units="benchmark.data.single_image:unit_sources",
    estimate="benchmark.tasks.estimate:one_shot_seconds",
    columns=COLUMNS, console=console, quality="sifid",
    split_by=("dataset", "image", "sifid_extractor", "recipe_id"), identity=("device", "precision", "machine"),
    profile="benchmark.profile_cmd:profile_one_shot",
    plots=("learning_curve", "sample_grids"), notes=NOTES, claims=CLAIMS, caveat=caveat,
    options=(Option("--sifid-weights", "sifid_weights",
                    "torchvision's ImageNet Inception-v3 weights (inception_v3_google-0cc3c7bd.pth; also found in "
                    "the torch hub cache) for the published SIFID: Conv2d_2b_3x3, 64 channels", is_file=True),
             Option("--inception-weights", "inception_weights",
                    "local Inception-v3 weights (pt_inception-2015-12-05): SIFID at their Conv2d_4a_3x3, not the "
                    "published SIFID (--sifid-weights)", is_file=True)),
    convergence=convergence.ONE_SHOT,
    palette={"SinGAN": "#1f77b4", "SASE-SinGAN": "#d62728"},
)
