"""Verdicts from synthetic records: matched sizes, claim kinds, margins, Holm, not-testable premises, the
convergence gate (the synthetic runs have converged unless a test says otherwise)."""

import pandas as pd
import pytest

from benchmark.report.verdicts import COLUMNS, all_claims, budget_params, compute_verdicts, default_model

# every family at about 1M params (matched), except where a test says otherwise
MATCHED = {"sase_resnet_s32": ("SASE-ResNet", 1.00e6), "resnet_s32": ("ResNet", 1.02e6),
           "seresnet_s32": ("SE-ResNet", 1.03e6), "swin_s32": ("Swin", 0.98e6), "pvt_v2_s32": ("PVT", 1.05e6)}


def _runs(model, family, values, metric="top1", suite="recognition", **fields):
    base = dict(suite=suite, preset="default", dataset="fashion_mnist", recipe="r", model=model, family=family,
                status="completed", in_suite=not model.endswith("_softmax"), converged=True)
    return [{**base, "seed": seed, "finished_at": f"2026-01-01T00:00:{seed:02d}", metric: v, **fields}
            for seed, v in enumerate(values)]


def _recognition(sase_values, other_values, drop=(), sizes=MATCHED):
    rows = []
    for model, (family, params) in sizes.items():
        if model not in drop:
            rows += _runs(model, family, sase_values if family == "SASE-ResNet" else other_values, params=params)
    return pd.DataFrame(rows)


def _verdict(table, claim_start, budget=None):
    row = table[table["claim"].str.startswith(claim_start)]
    if budget is not None:
        row = row[row["budget"] == budget]
    assert len(row) == 1, table
    return row.iloc[0]


def test_a_clear_improvement_at_matched_size_is_reproduced():
    table = compute_verdicts(_recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8]))
    row = _verdict(table, "SASE-ResNet top-1 > ResNet")
    assert row["verdict"] == "reproduced" and row["n_a"] == 3 and row["n_b"] == 3
    assert row["p_adjusted"] < 0.05 and row["p_adjusted"] >= row["p_value"] and row["mean_a"] == pytest.approx(80.5)
    assert "Welch" in row["test"] and row["kind"] == "superiority" and row["mdd"] > 0
    assert list(table.columns) == COLUMNS


def test_one_unconverged_arm_makes_a_claim_not_testable_still_learning():
    rec = _recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8])
    late = (rec["model"] == "sase_resnet_s32") & (rec["seed"] == 2)
    rec.loc[late, ["converged", "convergence_figure", "convergence_what"]] = [
        False, 3.65, "top-1 rose 3.65 points over the last quarter of training (epochs 12-16); limit 0.3"]
    table = compute_verdicts(rec)
    row = _verdict(table, "SASE-ResNet top-1 > ResNet")
    assert row["verdict"] == "not testable: still learning" and row["p_value"] != row["p_value"]
    assert row["detail"].startswith("sase_resnet_s32 seed 2: top-1 rose 3.65 points") and "1 of 6" in row["detail"]
    assert (table["verdict"] != "reproduced").all()  # every claim of the setting involves SASE-ResNet


def test_records_without_a_convergence_field_are_still_learning():
    rec = _recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8]).drop(columns="converged")
    row = _verdict(compute_verdicts(rec), "SASE-ResNet top-1 > ResNet")
    assert row["verdict"] == "not testable: still learning" and "no convergence figure recorded" in row["detail"]


def test_a_clear_loss_is_not_reproduced():
    row = _verdict(compute_verdicts(_recognition([70.0, 70.3, 69.8], [75.0, 75.4, 74.8])), "SASE-ResNet top-1 > SE-ResNet")
    assert row["verdict"] == "not reproduced"


def test_noise_is_inconclusive():
    row = _verdict(compute_verdicts(_recognition([75.0, 76.0, 74.0], [75.5, 74.5, 75.0])), "SASE-ResNet top-1 > ResNet")
    assert row["verdict"] == "inconclusive"


def test_one_seed_is_always_inconclusive():
    table = compute_verdicts(_recognition([99.0], [10.0]))
    tested = table[table["verdict"] != "not testable"]
    assert set(tested["verdict"]) == {"inconclusive"}
    assert tested["detail"].str.contains("fewer than 2 seeds").all()


def test_unmatched_sizes_are_not_testable_never_not_reproduced():
    sizes = {**MATCHED, "swin_s32": ("Swin", 0.57e6)}  # our small Swin happens to be much smaller
    row = _verdict(compute_verdicts(_recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8], sizes=sizes)),
                   "SASE-ResNet top-1 >= Swin top-1 (matched")
    assert row["verdict"] == "not testable" and "sizes not matched" in row["detail"]


def test_a_smaller_model_claim_with_an_unmet_premise_is_not_testable():
    row = _verdict(compute_verdicts(_recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8])),
                   "SASE-ResNet top-1 >= Swin top-1 with a smaller")
    assert row["verdict"] == "not testable" and "fewer params" in row["detail"]


def test_non_inferiority_uses_the_margin():
    # SASE 0.2 points below PVT, tight seeds: not worse by the 0.5-point margin -> reproduced
    table = compute_verdicts(_recognition([80.0, 80.02, 79.98], [80.2, 80.22, 80.18]))
    row = _verdict(table, "SASE-ResNet top-1 >= PVT top-1 (matched")
    assert row["kind"] == "non-inferiority" and row["margin"] == 0.5 and row["verdict"] == "reproduced"
    # ... but 2 points below is worse than the margin -> not reproduced
    row = _verdict(compute_verdicts(_recognition([78.0, 78.02, 77.98], [80.2, 80.22, 80.18])),
                   "SASE-ResNet top-1 >= PVT top-1 (matched")
    assert row["verdict"] == "not reproduced"


def test_ladder_members_pair_by_budget_and_smaller_claims_use_the_next_budget():
    rows = []
    for budget, params, top1 in (("b300k", 3e5, 80.0), ("b1m", 1e6, 85.0)):
        for model, family in (("sase", "SASE-ResNet"), ("swin", "Swin")):
            gain = 1.0 if family == "SASE-ResNet" else 0.0
            rows += _runs(f"{model}_{budget}", family, [top1 + gain, top1 + gain + 0.1, top1 + gain - 0.1],
                          params=params * (1.02 if family == "Swin" else 1.0), budget=budget, in_suite=False)
    table = compute_verdicts(pd.DataFrame(rows))
    assert _verdict(table, "SASE-ResNet top-1 >= Swin top-1 (matched", "b300k")["verdict"] == "reproduced"
    assert _verdict(table, "SASE-ResNet top-1 >= Swin top-1 (matched", "b1m")["model_b"] == "swin_b1m"
    smaller = _verdict(table, "SASE-ResNet top-1 >= Swin top-1 with a smaller", "b300k vs b1m")
    assert smaller["model_a"] == "sase_b300k" and smaller["model_b"] == "swin_b1m"
    assert smaller["verdict"] == "not reproduced"  # 81 at 0.3M is 4 points below Swin's 85 at 1M
    top = _verdict(table, "SASE-ResNet top-1 >= Swin top-1 with a smaller", "b1m")
    assert top["verdict"] == "not testable" and "budget above" in top["detail"]


def test_holm_adjusts_within_a_setting():
    table = compute_verdicts(_recognition([80.0, 80.5, 81.0], [79.0, 79.6, 79.9]))
    tested = table.dropna(subset=["p_adjusted"])
    assert len(tested) >= 2 and (tested["p_adjusted"] >= tested["p_value"]).all()


def test_fid_is_lower_is_better():
    lower = _runs("sase_gan", "SASE-GAN", [40.0, 41.0, 40.5], "fid", "synthesis", feature_extractor="x", params=1.9e6)
    higher = _runs("fastgan", "FastGAN", [50.0, 51.0, 50.5], "fid", "synthesis", feature_extractor="x", params=1.95e6)
    row = _verdict(compute_verdicts(pd.DataFrame(lower + higher)), "SASE-GAN FID")
    assert row["verdict"] == "reproduced" and row["feature_extractor"] == "x"
    swapped = [{**r, "fid": r["fid"] + 20} for r in lower]
    assert _verdict(compute_verdicts(pd.DataFrame(swapped + higher)), "SASE-GAN FID")["verdict"] == "not reproduced"


def test_settings_feature_extractors_and_recipes_are_never_mixed():
    a = _runs("sase_gan", "SASE-GAN", [40.0, 41.0], "fid", "synthesis", feature_extractor="x", params=1e6)
    b = _runs("fastgan", "FastGAN", [50.0, 51.0], "fid", "synthesis", feature_extractor="y", params=1e6)
    table = compute_verdicts(pd.DataFrame(a + b))
    assert len(table) == 2 and set(table["verdict"]) == {"not testable"}
    rec = _recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8])
    rec.loc[rec["family"] == "ResNet", "recipe_id"] = "r+1234abcd"  # an override: another recipe
    table = compute_verdicts(rec)
    row = _verdict(table[table["recipe_id"] == "r"], "SASE-ResNet top-1 > ResNet")
    assert row["verdict"] == "not testable" and "no completed run of the default ResNet" in row["detail"]


def test_failed_runs_and_ablations_are_ignored():
    rows = _recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8]).to_dict("records")
    rows += [{**rows[0], "status": "failed", "top1": 0.0, "seed": 9}]
    assert _verdict(compute_verdicts(pd.DataFrame(rows)), "SASE-ResNet top-1 > ResNet")["n_a"] == 3
    both = pd.DataFrame(_runs("sase_resnet_s32_softmax", "SASE-ResNet", [1.0]) +
                        _runs("sase_resnet_s32", "SASE-ResNet", [1.0]))
    assert default_model("SASE-ResNet", both) == "sase_resnet_s32"


def test_repeated_seed_keeps_the_latest_run():
    rows = _recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8]).to_dict("records")
    rows += [{**rows[0], "top1": 10.0, "finished_at": "2027-01-01T00:00:00"}]
    row = _verdict(compute_verdicts(pd.DataFrame(rows)), "SASE-ResNet top-1 > ResNet")
    assert row["n_a"] == 3 and row["mean_a"] == pytest.approx((10.0 + 80.5 + 81.0) / 3)


def test_no_records_give_no_rows():
    from benchmark.results import COLUMNS as RECORD_COLUMNS

    assert compute_verdicts(pd.DataFrame(columns=list(RECORD_COLUMNS))).empty


def test_every_claim_is_registered_once_with_a_known_kind():
    claims = all_claims()
    assert len({c.name for _, c in claims}) == len(claims) >= 9
    assert all(c.kind in ("superiority", "non-inferiority") and (c.kind == "superiority") == (c.margin == 0)
               for _, c in claims)


def test_budget_tags():
    assert budget_params("b300k") == 3e5 and budget_params("b1m") == 1e6 and budget_params("b2.5m") == 2.5e6
    assert budget_params("x") != budget_params("x")


def test_confidence_interval_is_t_based():
    from benchmark.report.tables import ci95_halfwidth, ci_text, spec_table, summarize
    from benchmark.specs.recognition import COLUMNS as RECOGNITION_COLUMNS

    assert ci95_halfwidth(2 ** 0.5, 2) == pytest.approx(12.7062, rel=1e-4)  # t(0.975, 1) * std / sqrt(2)
    assert ci_text(91.0, 2 ** 0.5, 2, 2) == "[78.29, 103.71]" and ci_text(91.0, float("nan"), 1, 2) == "-"
    rows = _runs("resnet_s32", "ResNet", [90.0, 92.0], top5=99.0, params=1e6, gmacs=0.01, train_img_per_s=1.0,
                 infer_img_per_s=1.0, wall_s=1.0, device="cpu", precision="fp32")
    summary = summarize(pd.DataFrame(rows), ["top1", "top5", "params", "gmacs", "train_img_per_s",
                                             "infer_img_per_s", "wall_s"])
    assert summary.loc[0, "top1_ci95"] == pytest.approx(12.7062, rel=1e-4)
    assert spec_table(summary, RECOGNITION_COLUMNS).loc[0, "top-1 95% CI"] == "[78.29, 103.71]"


def test_paper_scale_picks_the_param_matched_sase_and_the_small_one_for_smaller_claims():
    sizes = {"sase_resnet50": ("SASE-ResNet", 17.2e6), "sase_resnet50_4x24d": ("SASE-ResNet", 25.6e6),
             "resnet50": ("ResNet", 25.6e6), "swin_tiny_patch4_window7_224": ("Swin", 28.3e6)}
    table = compute_verdicts(_recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8], sizes=sizes))
    assert _verdict(table, "SASE-ResNet top-1 > ResNet")["model_a"] == "sase_resnet50_4x24d"
    smaller = _verdict(table, "SASE-ResNet top-1 >= Swin top-1 with a smaller")
    assert smaller["model_a"] == "sase_resnet50" and smaller["verdict"] == "reproduced"
