"""Your runs beside the reference: matched by setting, agreement against the reference CI, machine ratios."""

import pandas as pd
import pytest

from benchmark.report.reference import compare
from benchmark.specs import recognition, synthesis


def _rows(values, machine, speed, model="resnet_s32_b1m", **fields):
    return [dict(suite="recognition", task="recognition", preset="default", recipe="r", recipe_id="r",
                 dataset="fashion_mnist-train10k", model=model, family="ResNet", seed=s, status="completed",
                 top1=v, train_img_per_s=speed, infer_img_per_s=2 * speed, machine=machine, **fields)
            for s, v in enumerate(values)]


def test_agreement_and_throughput_ratio_per_machine():
    ref = pd.DataFrame(_rows([85.0, 85.5, 86.0], "EPYC / 2 threads", 800.0))
    mine = pd.DataFrame(_rows([85.4], "laptop / 8 threads", 1600.0))
    row = compare(mine, ref, recognition.SPEC).iloc[0]
    assert row["agreement"].startswith("agrees") and row["train img/s ratio"] == "2.00x"
    assert row["your machine"] == "laptop / 8 threads" and row["reference machine"] == "EPYC / 2 threads"
    far = compare(pd.DataFrame(_rows([80.0], "laptop", 1.0)), ref, recognition.SPEC).iloc[0]
    assert "differs" in far["agreement"]


def test_other_settings_are_never_matched():
    ref = pd.DataFrame(_rows([85.0, 85.5], "m", 1.0))
    assert compare(pd.DataFrame(_rows([85.0], "m", 1.0, model="other")), ref, recognition.SPEC).empty
    other_recipe = pd.DataFrame(_rows([85.0], "m", 1.0)).assign(recipe_id="r+1234abcd")
    assert compare(other_recipe, ref, recognition.SPEC).empty
    fid = [dict(r, task="synthesis", suite="synthesis", fid=10.0 + i, feature_extractor=x)
           for i, (r, x) in enumerate(zip(_rows([0, 0], "m", 1.0), ("fmnist-cnn-a", "fmnist-cnn-a")))]
    mine = [dict(fid[0], feature_extractor="fmnist-cnn-b")]  # a substitute retrained elsewhere: other features
    assert compare(pd.DataFrame(mine), pd.DataFrame(fid), synthesis.SPEC).empty
    assert not compare(pd.DataFrame(fid[:1]), pd.DataFrame(fid), synthesis.SPEC).empty


def test_agreement_uses_a_prediction_interval_for_the_mean_of_your_seeds():
    import math

    from scipy import stats as st

    from benchmark.report.reference import prediction_halfwidth

    # issue 20: one seed of Swin read "differs" against the reference's CI of its mean, [78.03, 78.55]
    ref = pd.DataFrame(_rows([78.19, 78.29, 78.39], "EPYC", 1.0))
    half = prediction_halfwidth(0.1, 3, 1)
    assert half == pytest.approx(st.t.ppf(0.975, 2) * 0.1 * math.sqrt(1 / 3 + 1))
    ci_half = st.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    one_seed = 78.29 + 0.4  # outside the CI of the mean, inside the prediction interval for one new seed
    assert ci_half < 0.4 < half
    row = compare(pd.DataFrame(_rows([one_seed], "laptop", 1.0)), ref, recognition.SPEC).iloc[0]
    assert row["agreement"].startswith("agrees") and "prediction" in row["agreement"]
    assert row["95% prediction interval"] == f"[{78.29 - half:.2f}, {78.29 + half:.2f}]"
    # with more seeds of yours the interval narrows towards the CI: the same mean over 10 seeds differs
    ten = compare(pd.DataFrame(_rows([one_seed] * 10, "laptop", 1.0)), ref, recognition.SPEC).iloc[0]
    assert prediction_halfwidth(0.1, 3, 10) < 0.4 and "differs" in ten["agreement"]
    assert math.isnan(prediction_halfwidth(0.1, 1, 1))


def test_no_match_names_every_field_that_differed():
    from benchmark.report.reference import unmatched

    ref = [dict(r, task="synthesis", suite="synthesis", fid=10.0 + i, feature_extractor="fmnist-cnn-059bff30")
           for i, r in enumerate(_rows([0, 0], "m", 1.0))]
    mine = [dict(ref[0], feature_extractor="fmnist-cnn-de327523", recipe_id="r+1234abcd")]
    (line,) = unmatched(pd.DataFrame(mine), pd.DataFrame(ref), synthesis.SPEC)
    assert "`resnet_s32_b1m` (synthesis, preset default)" in line
    assert "feature extractor yours `fmnist-cnn-de327523`, reference `fmnist-cnn-059bff30`" in line
    assert "recipe identity yours `r+1234abcd`, reference `r`" in line and "dataset" not in line
    # a model the reference never ran: the nearest setting is another model's, and the model is named
    (other,) = unmatched(pd.DataFrame([dict(ref[0], model="sase_gan_s32")]), pd.DataFrame(ref), synthesis.SPEC)
    assert other.endswith("model yours `sase_gan_s32`, reference `resnet_s32_b1m`")
    assert unmatched(pd.DataFrame(ref[:1]), pd.DataFrame(ref), synthesis.SPEC) == []
    assert "no completed synthesis run" in unmatched(pd.DataFrame(mine), pd.DataFrame(), synthesis.SPEC)[0]


def test_the_report_section_lists_what_differs(tmp_path, monkeypatch):
    from benchmark.report import render
    from benchmark.spec import load_specs

    (tmp_path / "records").mkdir()
    ref = pd.DataFrame([dict(_rows([0], "m", 1.0)[0], task="synthesis", suite="synthesis", fid=10.0, run_id="x",
                             finished_at="2026-01-01T00:00:00", feature_extractor="fmnist-cnn-059bff30")])
    monkeypatch.setattr(render, "load_records", lambda folder: ref)
    mine = ref.assign(feature_extractor="fmnist-cnn-c5e6ce44")
    text = render._reference_section(mine, tmp_path, load_specs())
    assert "None of your completed runs matches" in text
    assert "feature extractor yours `fmnist-cnn-c5e6ce44`, reference `fmnist-cnn-059bff30`" in text
