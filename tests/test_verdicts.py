"""Verdicts from synthetic records: matched sizes, claim kinds, margins, Holm, not-testable premises, the
convergence gate (the synthetic runs have converged unless a test says otherwise)."""

import numpy as np
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


def _recognition(sase_values, other_values, drop=(), sizes=MATCHED, paper_names=None):
    rows = []
    for model, (family, params) in sizes.items():
        if model not in drop:
            rows += _runs(model, family, sase_values if family == "SASE-ResNet" else other_values, params=params,
                          paper_name=(paper_names or {}).get(model))
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


def test_a_smaller_model_claim_on_models_we_sized_is_not_testable():
    # issue 20: sase_resnet_s32 (0.948M) against pvt_v2_s32 (1.43M) met the premise, but both sizes are ours
    sizes = {**MATCHED, "pvt_v2_s32": ("PVT", 1.43e6)}
    table = compute_verdicts(_recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8], sizes=sizes))
    row = _verdict(table, "SASE-ResNet top-1 >= PVT top-1 with a smaller")
    assert row["verdict"] == "not testable" and "sized by this benchmark" in row["detail"]
    assert "our sizing would decide" in row["detail"] and "ladder" in row["detail"]
    assert row["p_value"] != row["p_value"]  # no test ran, so it takes no part in Holm's family


def test_a_smaller_model_claim_with_an_unmet_premise_is_not_testable():
    names = {"sase_resnet_s32": "SASE-X", "swin_s32": "Swin-X"}  # published architectures of equal size
    row = _verdict(compute_verdicts(_recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8], paper_names=names)),
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
    names = {"sase_resnet50": "SASE-ResNet-50", "resnet50": "ResNet-50", "swin_tiny_patch4_window7_224": "Swin-T"}
    table = compute_verdicts(_recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8], sizes=sizes, paper_names=names))
    assert _verdict(table, "SASE-ResNet top-1 > ResNet")["model_a"] == "sase_resnet50_4x24d"
    smaller = _verdict(table, "SASE-ResNet top-1 >= Swin top-1 with a smaller")
    assert smaller["model_a"] == "sase_resnet50" and smaller["verdict"] == "reproduced"


# --- issue 20: what the report says is what the test does ---------------------------------------------------


def test_rows_carry_welchs_95_ci_of_the_difference():
    from scipy import stats as st

    sase, other = [80.0, 80.5, 81.0], [79.0, 79.6, 79.9]
    table = compute_verdicts(_recognition(sase, other))
    ci = st.ttest_ind(sase, other, equal_var=False).confidence_interval(0.95)
    for _, row in table[(table["n_a"] >= 2) & (table["n_b"] >= 2)].iterrows():  # two seeds a side, tested or not
        assert row["diff"] == pytest.approx(row["mean_a"] - row["mean_b"])
        assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((ci.low, ci.high))
    assert "95% CI [" in _verdict(table, "SASE-ResNet top-1 > ResNet")["detail"]


def test_mdd_is_at_the_first_holm_step_of_the_family_and_stated():
    from benchmark.report import stats

    sase, other = [80.0, 80.5, 81.0], [79.0, 79.6, 79.9]
    table = compute_verdicts(_recognition(sase, other))
    tested = table[table["p_value"].notna()]
    m = 2 * len(tested)  # both directions of each tested claim
    assert m == 8 and (tested["family_tests"] == m).all()  # 4 matched claims; the 2 "smaller" ones not testable
    row = _verdict(table, "SASE-ResNet top-1 > ResNet")
    assert row["mdd_alpha"] == pytest.approx(0.05 / m) and row["mdd_power"] == 0.8
    sd = pd.Series(sase).std(), pd.Series(other).std()
    assert row["mdd"] == pytest.approx(stats.min_detectable_difference(3, 3, *sd, alpha=0.05 / m))
    assert row["mdd"] > stats.min_detectable_difference(3, 3, *sd, alpha=0.05)  # not the unadjusted one any more
    assert f"first Holm step's alpha {0.05 / m:.2g}" in row["detail"] and "power 0.8" in row["detail"]
    ni = _verdict(table, "SASE-ResNet top-1 >= PVT top-1 (matched")
    assert "measured from the margin (A - B = -0.5)" in ni["detail"]
    assert f"A - B >= {ni['mdd'] - 0.5:+.3g}" in ni["detail"]


def test_each_direction_is_in_the_family_and_the_test_says_so():
    table = compute_verdicts(_recognition([70.0, 70.3, 69.8], [75.0, 75.4, 74.8]))
    row = _verdict(table, "SASE-ResNet top-1 > ResNet")
    assert "one-sided each way" in row["test"] and "(claim)" in row["test"] and "(opposite)" in row["test"]
    assert row["verdict"] == "not reproduced" and row["p_opposite_adjusted"] <= 0.05 < row["p_adjusted"]
    assert row["p_value"] + row["p_opposite"] == pytest.approx(1.0)
    assert f"Holm over the {row['family_tests']} one-sided tests" in row["detail"]
    # alpha_step: the level of the claim's own test at its Holm step, alpha / (m - rank)
    tested = table[table["p_value"].notna()]
    ps = sorted(list(tested["p_value"]) + list(tested["p_opposite"]))
    for _, r in tested.iterrows():  # tied p-values (the baselines share their values here) share the steps
        levels = [0.05 / (len(ps) - i) for i, p in enumerate(ps) if p == r["p_value"]]
        assert any(r["alpha_step"] == pytest.approx(level) for level in levels)


def test_a_verdict_is_exactly_holms_rejection_p_adjusted_at_most_alpha():
    from benchmark.report import verdicts

    # the claim's p of 0.0125 in a family of 4 is adjusted to exactly 4 * 0.0125 = alpha: Holm rejects (p <= alpha)
    mdd = {"detail": "d", "kind": "superiority", "mdd": 1.0, "mdd_power": 0.8, "mdd_alpha": 0.0125}
    rows = [{"p_value": 0.0125, "p_opposite": 0.9875, **mdd},
            {"p_value": 0.5, "p_opposite": 0.5, **mdd}]
    verdicts._decide(rows, 0.05)
    assert rows[0]["p_adjusted"] == 4 * 0.0125 and rows[0]["verdict"] == "reproduced"
    assert rows[1]["verdict"] == "inconclusive"
    rng = np.random.default_rng(0)
    for _ in range(20):
        sase = list(75 + rng.normal(0, 1, 3))
        table = compute_verdicts(_recognition(sase, list(75 + rng.normal(0, 1, 3))))
        tested = table[table["p_value"].notna()]
        assert ((tested["verdict"] == "reproduced") == (tested["p_adjusted"] <= 0.05)).all()
        assert ((tested["verdict"] == "not reproduced") == (tested["p_opposite_adjusted"] <= 0.05)).all()


def test_summary_n_counts_distinct_seeds_like_the_verdict():
    from benchmark.report.tables import summarize

    rows = _recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8]).to_dict("records")
    # an old record without a run key and a keyed re-run of seed 0: both survive count_once, one value counts
    rows += [{**rows[0], "top1": 10.0, "finished_at": "2027-01-01T00:00:00", "run_key": "k"}]
    frame = pd.DataFrame(rows)
    summary = summarize(frame, ["top1"], ["suite", "preset", "dataset", "model", "family"]).set_index("model")
    row = _verdict(compute_verdicts(frame), "SASE-ResNet top-1 > ResNet")
    assert summary.loc["sase_resnet_s32", "n"] == row["n_a"] == 3
    assert summary.loc["sase_resnet_s32", "top1_mean"] == pytest.approx(row["mean_a"])


def _record(model, family, seed, top1, recipe, **fields):
    return {"run_id": f"{model}-{seed}-{recipe['lr']}", "suite": "recognition", "task": "recognition",
            "model": model, "family": family, "dataset": "fashion_mnist", "preset": "default", "seed": seed,
            "status": "completed", "in_suite": True, "converged": True, "params": 1e6, "top1": top1,
            "recipe": recipe["name"], "recipe_id": recipe["name"],  # the old id: the bare registered name
            "finished_at": f"2026-01-01T00:00:0{seed}", "config": {"preset": {"recipe": recipe}}, **fields}


def test_a_registered_recipe_edited_without_renaming_is_another_setting(tmp_path):
    from benchmark.recipes import recipe_identity
    from benchmark.report.tables import with_defaults
    from benchmark.results import count_once, load_records, write_record

    old, edited = {"name": "r", "lr": 0.002}, {"name": "r", "lr": 0.004}  # same name, another content
    for seed in range(3):
        write_record(tmp_path, _record("sase_resnet_s32", "SASE-ResNet", seed, 80.0 + seed / 2, old))
        write_record(tmp_path, _record("resnet_s32", "ResNet", seed, 75.0 + seed / 3, edited))
    frame = load_records(tmp_path)
    assert set(frame["recipe_id"]) == {recipe_identity(old), recipe_identity(edited)}
    assert recipe_identity(old).startswith("r@") and recipe_identity(old) != recipe_identity(edited)
    table = compute_verdicts(count_once(with_defaults(frame)))
    assert len(set(table["setting"])) == 2 and set(table["verdict"]) == {"not testable"}  # never paired


def test_recipe_ids_are_name_and_content_hash_for_registered_recipes_too():
    import dataclasses

    from benchmark.recipes import RECIPES, recipe_id, recipe_identity

    recipe = RECIPES.get("adamw-fmnist-2ep-bs64")
    rid = recipe_id(recipe)
    assert rid.startswith("adamw-fmnist-2ep-bs64@") and len(rid.split("@")[1]) == 8
    assert rid == recipe_identity(dataclasses.asdict(recipe))  # what load_records recomputes from a record
    assert recipe_id(dataclasses.replace(recipe, lr=1e-3)) != rid


def _one_shot(ssim, diversity):
    """SASE-SinGAN and SinGAN on one photo: ssim and diversity as ((A values), (B values))."""
    rows = []
    for i, (model, family) in enumerate((("sase_singan", "SASE-SinGAN"), ("singan", "SinGAN"))):
        runs = _runs(model, family, ssim[i], "ssim_coarse", "one-shot", image="coffee", sifid_extractor="x",
                     params=1e5)
        rows += [{**r, "diversity": d, "sifid": 1.0 + 0.1 * r["seed"] + i} for r, d in zip(runs, diversity[i])]
    return pd.DataFrame(rows)


def test_structure_and_sifid_are_decided_only_together_with_diversity():
    from benchmark.specs.one_shot import DIVERSITY_MARGIN

    better_ssim = ([0.25, 0.26, 0.24], [0.12, 0.13, 0.125])
    same_diversity = ([0.500, 0.502, 0.498], [0.501, 0.503, 0.499])
    row = _verdict(compute_verdicts(_one_shot(better_ssim, same_diversity)), "SASE-SinGAN preserves structure")
    assert row["verdict"] == "reproduced" and row["guard_p_adjusted"] <= 0.05
    assert "diversity A - B" in row["guard"] and f"-{DIVERSITY_MARGIN:g}" in row["guard"]
    assert "together with the guard" in row["test"] and "decided together with diversity" in row["detail"]
    assert row["family_tests"] == 6  # SSIM both ways, SIFID both ways, diversity both ways (shared by the two)
    sifid = _verdict(compute_verdicts(_one_shot(better_ssim, same_diversity)), "SASE-SinGAN SIFID")
    assert sifid["verdict"] == "reproduced" and sifid["guard_p_adjusted"] == row["guard_p_adjusted"]
    # better structure bought with much less diversity (copying the photo) is not the claim
    copying = ([0.35, 0.352, 0.348], [0.50, 0.502, 0.498])
    row = _verdict(compute_verdicts(_one_shot(better_ssim, copying)), "SASE-SinGAN preserves structure")
    assert row["p_adjusted"] <= 0.05 and row["guard_p_opposite_adjusted"] <= 0.05
    assert row["verdict"] == "not reproduced"
    # a lower SIFID bought the same way is not the claim either: a copy of the photo has the photo's statistics
    assert _verdict(compute_verdicts(_one_shot(better_ssim, copying)), "SASE-SinGAN SIFID")["verdict"] == \
        "not reproduced"
    # diversity too noisy to show "not worse": inconclusive, however clear the structure gain
    noisy = ([0.3, 0.5, 0.7], [0.45, 0.5, 0.55])
    assert _verdict(compute_verdicts(_one_shot(better_ssim, noisy)), "SASE-SinGAN preserves")["verdict"] == \
        "inconclusive"
    # no diversity recorded: never reproduced
    missing = compute_verdicts(_one_shot(better_ssim, same_diversity).drop(columns="diversity"))
    row = _verdict(missing, "SASE-SinGAN preserves structure")
    assert row["verdict"] == "inconclusive" and row["family_tests"] == 4


def test_arms_of_other_precisions_or_device_kinds_are_never_paired(tmp_path):
    from benchmark.report.tables import with_defaults
    from benchmark.results import count_once, load_records, write_record

    recipe = {"name": "r", "lr": 0.002}
    for seed in range(3):  # SASE on a GPU in bf16, the baseline on a CPU in fp32
        write_record(tmp_path, _record("sase_resnet_s32", "SASE-ResNet", seed, 80.0 + seed / 2, recipe,
                                       precision="bf16", config={"preset": {"recipe": recipe}, "device": "cuda:0"}))
        write_record(tmp_path, _record("resnet_s32", "ResNet", seed, 75.0 + seed / 3, recipe, precision="fp32",
                                       config={"preset": {"recipe": recipe}, "device": "cpu"}))
    frame = load_records(tmp_path)
    assert set(frame["device_kind"]) == {"cuda", "cpu"}
    table = compute_verdicts(count_once(with_defaults(frame)))
    assert set(table["verdict"]) == {"not testable"} and len(set(table["setting"])) == 2
    assert any(s.endswith("bf16, cuda") for s in table["setting"])


def test_claims_with_no_run_on_one_side_are_listed_below_the_table_not_in_it(tmp_path):
    from benchmark.report import render
    from benchmark.report.verdicts import one_sided

    frame = _recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8], drop=("resnet_s32",))
    table = compute_verdicts(frame)
    assert one_sided(table).any() and not one_sided(table[table["n_b"] > 0]).any()
    section = render._verdict_section(frame, tmp_path)
    table_part, listed = section.split("Not tested in these settings", 1)
    resnet = [c for c in table["claim"] if "> ResNet" in c]
    assert resnet and all(c not in table_part and c in listed for c in resnet)
    assert "no completed run of the default ResNet" in listed
    assert "SE-ResNet" in table_part  # a claim with runs on both sides stays in the table
    assert len(pd.read_csv(tmp_path / "verdicts.csv")) == len(table)  # the CSV keeps every claim
