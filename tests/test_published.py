"""The published-numbers CSV and its join with reproduced summaries."""

import pandas as pd
import pytest

from benchmark.errors import UserError
from benchmark.models import MODELS
from benchmark.report import published as P
from benchmark.report.render import render_report
from benchmark.report.tables import summarize
from benchmark.results import write_record
from benchmark.specs import recognition as REC
from benchmark.specs import synthesis as SYN


@pytest.fixture(scope="module")
def paper() -> pd.DataFrame:
    return P.load_published(P.REPO_CSV)


def test_csv_loads_with_required_columns_and_sources(paper):
    assert set(P.COLUMNS) <= set(paper.columns)
    assert (paper["source"].str.strip() != "").all()
    assert paper["verified"].isin(P.VERIFIED).all() and paper["metric"].isin(list(P.metric_tasks())).all()
    assert pd.api.types.is_float_dtype(paper["value"])


def test_no_sase_numbers_are_invented(paper):
    names = paper["model"].str.lower() + " " + paper["paper_name"].str.lower()
    assert not names.str.contains("sase").any()


def test_models_are_registry_names_or_empty(paper):
    named = paper[paper["model"] != ""]
    assert all(m in MODELS for m in named["model"])
    assert (paper[paper["paper_name"].str.startswith("PVT-")]["model"] == "").all()  # PVT v1: reference only


def test_the_baselines_of_every_claim_are_present(paper):
    key = set(zip(paper["model"], paper["dataset"], paper["metric"]))
    for model in ("resnet50", "seresnet50", "swin_tiny_patch4_window7_224", "pvt_v2_b2"):
        assert (model, "imagenet-1k", "top1") in key
    assert ("fastgan", "obama-100shot", "fid") in key


@pytest.mark.parametrize("edit, message", [
    (lambda f: f.drop(columns=["source"]), "lack columns"),
    (lambda f: f.assign(value=["x"] + list(f["value"][1:])), "non-numeric"),
    (lambda f: f.assign(metric=["top9"] + list(f["metric"][1:])), "metric"),
    (lambda f: f.assign(verified=["maybe"] + list(f["verified"][1:])), "verified"),
    (lambda f: f.assign(source=[""] + list(f["source"][1:])), "empty source"),
    (lambda f: pd.concat([f, f.iloc[:1]]), "repeats"),
    (lambda f: f.drop(columns=["epoch_pick"]), "lack columns"),
    (lambda f: f.assign(epochs=["ninety"] + list(f["epochs"][1:])), "whole number"),
    (lambda f: f.assign(epoch_pick=["middle"] + list(f["epoch_pick"][1:])), "epoch_pick"),
    (lambda f: f.assign(optimizer=[""] + list(f["optimizer"][1:])), "without its whole recipe"),
])
def test_malformed_csv_is_a_user_error(paper, tmp_path, edit, message):
    path = tmp_path / "published.csv"
    edit(paper.copy()).to_csv(path, index=False)
    with pytest.raises(UserError, match=message):
        P.load_published(path)


def test_unreadable_csv_is_a_user_error(tmp_path):
    path = tmp_path / "published.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UserError):
        P.load_published(path)


SGD_90 = dict(optimizer="sgd", epochs=90, eval_img_size=224, num_classes=1000)  # the resnet-sgd recipe's kind
ADAMW_300 = dict(optimizer="adamw", epochs=300, eval_img_size=224, num_classes=1000)  # deit's kind


def _runs(preset: str, dataset: str, top1=(75.0, 77.0), model="resnet50", recipe=SGD_90, best=2.0) -> pd.DataFrame:
    return pd.DataFrame([dict(suite="recognition", preset=preset, dataset=dataset, model=model, family="ResNet",
                              device="cuda", precision="bf16", seed=s, status="completed", top1=v, top1_best=v + best,
                              params=25_557_032.0, gmacs=4.11, **recipe) for s, v in enumerate(top1)])


def _summary(preset: str, dataset: str, top1=(75.0, 77.0), **kw) -> pd.DataFrame:
    return summarize(_runs(preset, dataset, top1, **kw), ["top1", "top1_best", "params", "gmacs"])


def _compare(runs: pd.DataFrame, paper) -> pd.DataFrame:
    return P.compare(summarize(runs, ["top1", "top1_best", "params", "gmacs"]), paper, REC.SPEC, runs)


def test_join_gives_the_difference_where_the_setting_matches(paper):
    runs = _runs("paper", "image_folder:imagenet")
    table = _compare(runs, paper).set_index("metric")
    assert set(table.index) == {"top1", "params_m", "gmacs"}
    assert table.loc["top1", "paper_name"] == "ResNet-50" and table.loc["top1", "compared"] == "top1"
    assert table.loc["top1", "reproduced"] == 76.0 and table.loc["top1", "published"] == 76.13
    assert table.loc["top1", "difference"] == pytest.approx(-0.13)
    assert table.loc["params_m", "difference"] == pytest.approx(0.0, abs=1e-3)
    assert (table["seeds"] == 2).all()


def test_a_best_epoch_number_meets_top1_best_under_its_own_recipe(paper):
    """A DeiT-kind run meets the DeiT-kind ResNet-50 number (reported at the best epoch), never torchvision's."""
    table = _compare(_runs("paper", "image_folder:imagenet", recipe=ADAMW_300), paper)
    top1 = table[table["metric"] == "top1"]
    assert list(top1["published"]) == [78.8] and list(top1["compared"]) == ["top1_best"]
    assert top1["reproduced"].iloc[0] == 78.0  # the mean of top1_best, not of top1
    assert "adamw, 300 epochs" in top1["recipe"].iloc[0]


def test_cross_recipe_pairs_are_refused_with_the_reason(paper):
    """Issue 21: a 2-class, 1-epoch AdamW run on a fake folder was set against torchvision's 76.13."""
    fake = dict(optimizer="adamw", epochs=1, eval_img_size=224, num_classes=2)
    runs = _runs("paper", "image_folder:fake", top1=(50.0,), recipe=fake)
    summary = summarize(runs, ["top1", "top1_best", "params", "gmacs"])
    assert P.compare(summary, paper, REC.SPEC, runs).empty
    lines = P.refusals(summary, paper, REC.SPEC, runs)
    assert any("76.13" in line and "epochs 1 (published: 90)" in line and "num_classes 2 (published: 1000)" in line
               and "optimizer adamw (published: sgd)" in line for line in lines), lines
    swin = _runs("paper", "image_folder:imagenet", model="swin_tiny_patch4_window7_224", recipe=SGD_90)
    table = _compare(swin, paper)
    assert "top1" not in set(table["metric"]) and {"params_m", "gmacs"} <= set(table["metric"])


def test_runs_without_recorded_recipe_are_not_compared(paper):
    runs = _runs("paper", "image_folder:imagenet").drop(columns=["optimizer", "epochs", "num_classes"])
    summary = summarize(runs, ["top1", "params", "gmacs"])
    assert "top1" not in set(P.compare(summary, paper, REC.SPEC, runs)["metric"])
    assert any("not recorded" in line for line in P.refusals(summary, paper, REC.SPEC, runs))


def test_optimizer_families():
    assert P.optimizer_family("momentum") == "sgd" and P.optimizer_family("AdamW") == "adamw"
    assert P.optimizer_family("lamb") == "lamb"


def test_no_join_when_the_setting_differs(paper):
    assert P.compare(_summary("default", "fashion_mnist"), paper, REC.SPEC).empty
    reason = REC.not_comparable({"preset": "default", "dataset": "fashion_mnist"})
    assert "ImageNet-1k at 224 px" in reason and "32 px" in reason


def _key(preset, dataset, extractor, mode="train"):
    return SYN.published_key({"preset": preset, "dataset": dataset, "feature_extractor": extractor, "fid_mode": mode})


def test_few_shot_folders_match_only_with_inception_features():
    assert _key("paper", "folder:100-shot-obama", "inception-v3-compat") == "obama-100shot"
    assert _key("paper", "folder:grumpy_cat", "inception-v3") == "grumpy-cat-100shot"
    assert _key("paper", "folder:AnimalFace-dog", "inception") == "animalface-dog"
    assert _key("paper", "folder:100-shot-obama", "fmnist-cnn") is None
    assert _key("default", "fmnist-100shot-sneaker", "inception") is None


def test_eval_mode_fids_are_never_set_beside_published_ones():
    assert _key("paper", "folder:100-shot-obama", "inception-v3", mode="eval") is None
    assert _key("paper", "folder:100-shot-obama", "inception-v3", mode="recalibrated") == "obama-100shot"
    reason = SYN.not_comparable({"preset": "paper", "dataset": "folder:obama", "feature_extractor": "inception-v3",
                                 "fid_mode": "eval"})
    assert "eval mode" in reason


def test_reference_table_marks_unverified_values(paper):
    table = P.reference_table(paper, "recognition")
    se = table[table["paper_name"] == "SE-ResNet-50"].iloc[0]
    assert se["top1"].endswith("?") and "source" in table.columns


def test_report_shows_published_beside_paper_preset_runs(tmp_path):
    for seed, top1 in enumerate((75.9, 76.3)):
        write_record(tmp_path, dict(run_id=f"r{seed}", suite="recognition", model="resnet50", family="ResNet",
                                    dataset="image_folder:imagenet", preset="paper", recipe="deit-300ep", seed=seed,
                                    status="completed", top1=top1, top5=93.0, top1_best=top1 + 0.2,
                                    top1_best_epoch=290, top5_at_best=93.1, optimizer="adamw", epochs=300,
                                    eval_img_size=224, num_classes=1000, params=25_557_032, gmacs=4.11,
                                    train_img_per_s=900.0, infer_img_per_s=3000.0, device="NVIDIA H100",
                                    precision="bf16", wall_s=1.0, finished_at="2026-01-01T00:00:00"))
    out = render_report(tmp_path)
    readme = (out / "README.md").read_text()
    assert readme.index("## Verdicts") < readme.index("## Recognition")
    assert "Reproduced vs published" in readme and any(out.glob("recognition_paper_*_vs_published.csv"))
    assert "| top1_best | 76.3 | 78.8 |" in readme  # ConvNeXt's DeiT-kind ResNet-50, at the best epoch
    assert "Not compared" in readme and "76.13" in readme.split("Not compared")[1]  # torchvision's: SGD, 90 epochs
    assert (out / "verdicts.csv").exists() and "## Published reference numbers" in readme


def test_few_shot_fids_meet_runs_at_their_resolution_only(paper):
    def runs(size):
        return pd.DataFrame([dict(suite="synthesis", preset="paper", dataset="folder:100-shot-obama", model="fastgan",
                                  family="FastGAN", feature_extractor="inception-v3-compat", fid_mode="train",
                                  device="cuda", precision="fp32", seed=0, status="completed", fid=40.0,
                                  img_size=size)])
    at_256, at_1024 = runs(256), runs(1024)
    table = P.compare(summarize(at_256, ["fid"], ["preset", "dataset", "model", "feature_extractor", "fid_mode"]),
                      paper, SYN.SPEC, at_256)
    assert list(table["published"]) == [41.05] and list(table["compared"]) == ["fid"]
    summary = summarize(at_1024, ["fid"], ["preset", "dataset", "model", "feature_extractor", "fid_mode"])
    assert P.compare(summary, paper, SYN.SPEC, at_1024).empty
    assert any("img_size 1024 (published: 256)" in line for line in P.refusals(summary, paper, SYN.SPEC, at_1024))
