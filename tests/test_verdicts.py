"""Verdicts from synthetic records: direction, seeds, missing models, params and settings."""

import pandas as pd
import pytest

from benchmark.report.verdicts import COLUMNS, all_claims, compute_verdicts, default_model

RECOGNITION = {"sase_resnet_s32": ("SASE-ResNet", 0.9e6), "resnet_s32": ("ResNet", 1.2e6),
               "seresnet_s32": ("SE-ResNet", 1.25e6), "swin_s32": ("Swin", 0.6e6), "pvt_v2_s32": ("PVT", 1.4e6)}


def _runs(model, family, values, metric="top1", suite="recognition", **fields):
    return [dict(suite=suite, preset="default", dataset="fashion_mnist", model=model, family=family, seed=seed,
                 status="completed", in_suite=not model.endswith("_softmax"), finished_at=f"2026-01-01T00:00:{seed:02d}", **{metric: v}, **fields)
            for seed, v in enumerate(values)]


def _recognition(sase_values, other_values, drop=()):
    rows = []
    for model, (family, params) in RECOGNITION.items():
        if model not in drop:
            values = sase_values if family == "SASE-ResNet" else other_values
            rows += _runs(model, family, values, params=params)
    return pd.DataFrame(rows)


def _verdict(table, claim_start):
    row = table[table["claim"].str.startswith(claim_start)]
    assert len(row) == 1, table
    return row.iloc[0]


def test_a_clear_improvement_over_three_seeds_is_reproduced():
    table = compute_verdicts(_recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8]))
    row = _verdict(table, "SASE-ResNet top-1 > ResNet")
    assert row["verdict"] == "reproduced" and row["n_a"] == 3 and row["n_b"] == 3
    assert row["p_value"] < 0.05 and row["mean_a"] == pytest.approx(80.5)
    assert "Welch" in row["test"] and row["alpha"] == 0.05
    assert list(table.columns) == COLUMNS


def test_a_clear_loss_is_not_reproduced():
    row = _verdict(compute_verdicts(_recognition([70.0, 70.3, 69.8], [75.0, 75.4, 74.8])), "SASE-ResNet top-1 > SE")
    assert row["verdict"] == "not reproduced" and row["p_value"] > 0.95


def test_noise_is_inconclusive():
    row = _verdict(compute_verdicts(_recognition([75.0, 76.0, 74.0], [75.5, 74.5, 75.0])), "SASE-ResNet top-1 > ResNet")
    assert row["verdict"] == "inconclusive"


def test_one_seed_is_always_inconclusive():
    table = compute_verdicts(_recognition([99.0], [10.0]))
    assert set(table["verdict"]) == {"inconclusive"}
    assert (table["n_a"] == 1).all() and table["detail"].str.contains("fewer than 2 seeds").all()


def test_a_missing_model_is_inconclusive():
    table = compute_verdicts(_recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8], drop=("resnet_s32",)))
    row = _verdict(table, "SASE-ResNet top-1 > ResNet")
    assert row["verdict"] == "inconclusive" and row["model_b"] == "-" and "ResNet" in row["detail"]
    assert _verdict(table, "SASE-ResNet top-1 > SE")["verdict"] == "reproduced"


def test_param_claims_need_fewer_params():
    table = compute_verdicts(_recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8]))
    swin = _verdict(table, "SASE-ResNet top-1 >= Swin")  # better top-1, but Swin is smaller
    pvt = _verdict(table, "SASE-ResNet top-1 >= PVT")  # better top-1 and smaller
    assert swin["verdict"] == "not reproduced" and "params" in swin["detail"]
    assert pvt["verdict"] == "reproduced"


def test_fid_is_lower_is_better():
    lower = _runs("sase_gan", "SASE-GAN", [40.0, 41.0, 40.5], "fid", "synthesis", feature_extractor="x")
    higher = _runs("fastgan", "FastGAN", [50.0, 51.0, 50.5], "fid", "synthesis", feature_extractor="x")
    row = _verdict(compute_verdicts(pd.DataFrame(lower + higher)), "SASE-GAN FID")
    assert row["verdict"] == "reproduced" and row["feature_extractor"] == "x"
    swapped = [{**r, "fid": r["fid"] + 20} for r in lower]
    row = _verdict(compute_verdicts(pd.DataFrame(swapped + higher)), "SASE-GAN FID")
    assert row["verdict"] == "not reproduced"


def test_settings_and_feature_extractors_are_never_mixed():
    a = _runs("sase_gan", "SASE-GAN", [40.0, 41.0], "fid", "synthesis", feature_extractor="x")
    b = _runs("fastgan", "FastGAN", [50.0, 51.0], "fid", "synthesis", feature_extractor="y")
    table = compute_verdicts(pd.DataFrame(a + b))
    assert len(table) == 2 and set(table["verdict"]) == {"inconclusive"}


def test_failed_runs_and_ablations_are_ignored():
    rows = _recognition([80.0, 80.5, 81.0], [75.0, 75.4, 74.8]).to_dict("records")
    rows += [{**rows[0], "status": "failed", "top1": 0.0, "seed": 9}]
    table = compute_verdicts(pd.DataFrame(rows))
    assert _verdict(table, "SASE-ResNet top-1 > ResNet")["n_a"] == 3
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


def test_every_claim_is_registered_once():
    claims = all_claims()
    assert len({c.name for _, c in claims}) == len(claims) >= 5


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
