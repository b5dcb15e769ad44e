"""The recognition task as data: top-1/top-5, cost columns, the paper's recognition claims."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from benchmark import convergence
from benchmark.config import Recipe
from benchmark.spec import NON_NEGATIVE, PERCENT, Claim, Column, TaskSpec

NAME = "recognition"

COLUMNS = (
    Column("params", "params (M)", 2, 1e-6, spread=False, valid=NON_NEGATIVE),
    Column("gmacs", "GMACs", 4, spread=False, valid=NON_NEGATIVE),
    Column("train_img_per_s", "train img/s", 0, valid=NON_NEGATIVE),
    Column("infer_img_per_s", "infer img/s", 0, valid=NON_NEGATIVE),
    Column("top1", "top-1 (%)", 2, better="higher", ci=True, valid=PERCENT),
    Column("top5", "top-5 (%)", 2, better="higher", valid=PERCENT),
)

# "slightly better than Swin and PVT" is read as "at least as good, up to MARGIN top-1 points": a
# non-inferiority test.  0.5 points is our choice (about the spread between recipes of one model); it is
# in every verdict row, so a reader can disagree with it.
MARGIN = 0.5

CLAIMS = (
    Claim("SASE-ResNet top-1 > ResNet top-1 (matched params)", "SASE-ResNet", "ResNet", "top1", True),
    Claim("SASE-ResNet top-1 > SE-ResNet top-1 (matched params)", "SASE-ResNet", "SE-ResNet", "top1", True),
    Claim("SASE-ResNet top-1 > ResNeXt control (same grouped conv, no SASE)", "SASE-ResNet", "ResNeXt", "top1",
          True),
    Claim("SASE-ResNet top-1 > SE-ResNeXt control (grouped conv + plain SE)", "SASE-ResNet", "SE-ResNeXt", "top1",
          True),
    Claim("SASE-ResNet top-1 >= Swin top-1 (matched params)", "SASE-ResNet", "Swin", "top1", True,
          kind="non-inferiority", margin=MARGIN),
    Claim("SASE-ResNet top-1 >= PVT top-1 (matched params)", "SASE-ResNet", "PVT", "top1", True,
          kind="non-inferiority", margin=MARGIN),
    Claim("SASE-ResNet top-1 >= Swin top-1 with a smaller model", "SASE-ResNet", "Swin", "top1", True,
          kind="non-inferiority", margin=MARGIN, fewer_params=True),
    Claim("SASE-ResNet top-1 >= PVT top-1 with a smaller model", "SASE-ResNet", "PVT", "top1", True,
          kind="non-inferiority", margin=MARGIN, fewer_params=True),
)

NOTES = (
    "Dataset: {dataset}. Recipe: {recipe} (the same for every model). "
    "GMACs: fvcore multiply-adds of one image at the evaluation resolution ({flops_counter}; attention "
    "matmuls of fused `scaled_dot_product_attention` counted by our handle). "
    "Throughput: images/s, median of timed windows after warm-up, at batch {train_batch} (train) / "
    "{infer_batch} (inference), on the device and precision shown. Top-1/top-5: percent on the held-out "
    "split after the last epoch. Mean ± std over seeds where there are several; 95% CI: "
    "mean ± t(0.975, n-1) * std / sqrt(n) over seeds."
)


def console(r: Mapping[str, Any]) -> str:
    return (f"top-1 {r['top1']:.2f}%  top-5 {r['top5']:.2f}%  {r['params'] / 1e6:.2f} M params  "
            f"{r['gmacs']:.3f} GMACs  train {r['train_img_per_s']:.0f} img/s")


def published_key(row: Mapping[str, Any]) -> Optional[str]:
    """The paper preset's ImageFolder is taken for ImageNet-1k; nothing else meets a published number.  Which
    published numbers then stand beside the runs is the recipe's business: optimiser family, epochs,
    resolution and number of classes must equal the published row's (:mod:`benchmark.report.published`)."""
    if row.get("preset") == "paper" and str(row.get("dataset")).startswith("image_folder"):
        return "imagenet-1k"
    return None


def not_comparable(row: Mapping[str, Any]) -> str:
    preset, dataset = row.get("preset"), row.get("dataset")
    if preset == "paper":
        return (f"no published number on ImageNet-1k was trained under the kind of recipe these runs on `{dataset}` "
                "were (optimiser family, epochs, resolution and classes must all match).")
    return (f"these runs train small 32 px models on `{dataset}` (preset `{preset}`), while the published "
            "numbers are ImageNet-1k at 224 px with the papers' recipes: different data, resolution, model "
            "size and recipe, so no difference is shown.")


SPEC = TaskSpec(
    name=NAME, title="Recognition", recipe_type=Recipe, data_kinds=("fashion_mnist", "image_folder"),
    identity=("device", "precision", "machine"),
    run="benchmark.tasks.recognition:run_recognition", estimate="benchmark.tasks.estimate:recognition_seconds", columns=COLUMNS, console=console, quality="top1",
    split_by=("dataset", "recipe_id"), plots=("quality_vs_gmacs", "quality_vs_params", "throughput", "learning_curve"),
    notes=NOTES, claims=CLAIMS, published=published_key, not_comparable=not_comparable,
    published_metrics={"top1": ("top1", 1.0), "params_m": ("params", 1e-6), "gmacs": ("gmacs", 1.0)},
    convergence=convergence.RECOGNITION,
    palette={"ResNet": "#1f77b4", "SE-ResNet": "#2ca02c", "Swin": "#ff7f0e", "PVT": "#9467bd",
             "SASE-ResNet": "#d62728", "ResNeXt": "#8c564b", "SE-ResNeXt": "#17becf"},
)
