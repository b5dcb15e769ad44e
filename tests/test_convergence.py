"""The convergence tests of benchmark.convergence on synthetic learning curves: rising, flat, noisy, short."""

import json
import math

import pytest

from benchmark import convergence as cv
from benchmark.results import MalformedRecord, validate


def _epochs(values):
    return {"history": [{"epoch": e + 1, "top1": v} for e, v in enumerate(values)]}


def _fids(values, every=250, **fields):
    return {"history": [{"iteration": (i + 1) * every, "fid": v} for i, v in enumerate(values)],
            "ema_decay": 0.999, "iterations": every * len(values), **fields}


def _scales(*curves, iters=2000, every=20):
    """One history entry per scale; each curve is a function of the iteration."""
    return {"history": [{"scale": k, "curve": [{"iter": i, "critic": -1.0, "generator": 0.5,
                                                "reconstruction": f(i)} for i in range(every, iters + 1, every)]}
                        for k, f in enumerate(curves)]}


# recognition


def test_recognition_rising_is_not_converged_and_says_by_how_much():
    res = cv.recognition(_epochs([70, 75, 79, 82, 84, 86, 87.5, 89]))
    assert not res.converged and res.figure == pytest.approx(3.0)
    assert "rose 3.00 points over the last quarter" in res.what and "epochs 6-8" in res.what and "0.3" in res.what


def test_recognition_flat_and_noisy_flat_converge():
    assert cv.recognition(_epochs([70, 85, 89, 90, 90.5, 90.6, 90.6, 90.6])).converged
    noisy = cv.recognition(_epochs([60, 80, 86, 88, 89, 89.6, 89.8, 90.1, 89.9, 90.2, 90.0, 90.1, 89.9, 90.1]))
    assert noisy.converged and abs(noisy.figure) < cv.TOP1_GAIN_LIMIT


def test_recognition_one_noisy_last_epoch_moves_the_gain_less_than_an_endpoint_difference():
    res = cv.recognition(_epochs([80, 88, 89, 90, 90, 90, 90, 90, 90, 90, 90, 90.0, 90, 90, 90, 90.4]))
    assert 0 < res.figure < 0.4


def test_recognition_too_few_epochs_is_not_judged():
    res = cv.recognition(_epochs([82.69, 86.34]))
    assert not res.converged and res.figure == pytest.approx(3.65)
    assert "too few epochs to judge" in res.what and "3.65 points in the last epoch" in res.what
    assert not cv.recognition({"history": []}).converged and math.isnan(cv.recognition({}).figure)


# synthesis


def test_synthesis_falling_fid_is_not_converged():
    res = cv.synthesis(_fids([120, 90, 77, 60, 50, 41], every=1000))  # window 3,000-6,000: 77, 60, 50, 41
    assert not res.converged and res.figure < -0.5 and "fell" in res.what and "3000-6000" in res.what


def test_synthesis_flat_and_noisy_flat_converge_once_the_ema_warmed_up():
    assert cv.synthesis(_fids([80, 40, 30, 29.5, 29.6, 29.4], every=1000)).converged
    # the default runs' wobble (+-10-20% between evaluations) around a level: a trend, not the last step
    noisy = cv.synthesis(_fids([40, 14, 11.9, 14.6, 12.0, 11.0, 13.1, 11.9], every=750))
    assert noisy.converged and -0.15 < noisy.figure < -0.1
    # overfitting (FID rising) has stopped improving: converged, the best checkpoint is behind it
    assert cv.synthesis(_fids([40, 14, 12, 13, 14, 15], every=1000)).converged
    cold = cv.synthesis(_fids([80, 40, 30, 29.5, 29.6, 29.4, 29.5, 29.5], every=125))  # 0.999^1000 = 0.37
    assert not cold.converged and "0.368" in cold.what
    warm = _fids([80, 40, 30, 29.5, 29.6, 29.4, 29.5, 29.5], every=125, ema_warmup="bias-corrected")
    assert cv.synthesis(warm).converged
    assert not cv.synthesis({**warm, "ema_warmup": False}).converged


def test_synthesis_needs_four_evaluations_in_the_second_half():
    res = cv.synthesis(_fids([16.2, 11.5, 9.9, 10.8], every=250))  # the default preset: 500-1,000 has 3
    assert not res.converged and "too few FID evaluations" in res.what and "rose 9.1%" in res.what
    assert not cv.synthesis({"history": [{"iteration": i, "fid": 30.0} for i in (1, 2, 3, 4, 5, 6, 7, 8)]}).converged


# one-shot


def test_one_shot_flat_and_noisy_flat_scales_converge():
    flat = _scales(lambda i: 0.05, lambda i: 0.01 + 0.001 * ((i // 20) % 2))  # a 10% zig-zag around 0.0105
    res = cv.one_shot(flat)
    assert res.converged and res.figure < cv.RECON_CHANGE_LIMIT and "scale" in res.what


def test_one_shot_a_still_falling_scale_is_not_converged_and_is_the_figure():
    res = cv.one_shot(_scales(lambda i: 0.05, lambda i: 0.1 * math.exp(-i / 500)))
    assert not res.converged and res.figure > 0.3 and res.what.startswith("scale 1 of 2")


def test_one_shot_a_rising_scale_has_stopped_improving():
    # SinGAN and SASE-SinGAN on chelsea, seed 2, scale 0: 0.486 -> 0.543 (+11.8%) over the window is not learning
    rise = cv.one_shot(_scales(lambda i: 0.486 if i < 1800 else 0.543))
    assert rise.converged and rise.figure > cv.RECON_CHANGE_LIMIT and "rose 11.7%" in rise.what, rise.what
    fall = cv.one_shot(_scales(lambda i: 0.543 if i < 1800 else 0.486))  # the same change downwards: learning
    assert not fall.converged and "fell 10.5%" in fall.what


def test_one_shot_tiny_losses_are_flat_by_the_absolute_floor():
    assert cv.one_shot(_scales(lambda i: 1e-6 * (1 + (i > 1800)))).converged


def test_one_shot_floor_is_a_quarter_of_an_8bit_level_of_the_reconstruction():
    # SASE-SinGAN on coffee, seed 1, scale 2: a loss (10 x MSE) of 0.004 falling 12% moves the reconstruction's
    # RMSE by 0.15 of a level: flat; SinGAN's finest scale drifting 20% at 0.02 moves it 0.6 levels: not flat
    copy = cv.one_shot(_scales(lambda i: 0.00403 if i <= 1800 else 0.00356))
    assert copy.converged and copy.figure > cv.RECON_CHANGE_LIMIT and "RMSE moved 0.1" in copy.what
    drift = cv.one_shot(_scales(lambda i: 0.02 if i <= 1800 else 0.016))
    assert not drift.converged and "RMSE moved 0.5" in drift.what
    # the recipe's reconstruction weight converts the loss: at alpha 1 the same losses are 10x the MSE
    assert not cv.one_shot({**_scales(lambda i: 0.00403 if i <= 1800 else 0.00356),
                            "config": {"preset": {"recipe": {"alpha": 1.0}}}}).converged


def test_one_shot_without_a_curve_or_with_too_few_points():
    res = cv.one_shot({"history": [{"scale": 0, "rec": 0.07}]})
    assert not res.converged and res.what == "no learning curve recorded" and math.isnan(res.figure)
    assert not cv.one_shot(_scales(lambda i: 0.05, iters=80, every=40)).converged


# the record fields and the specs


def test_judge_writes_json_safe_fields_under_the_specs_test():
    fields = cv.judge("recognition", _epochs([82.69, 86.34]))
    assert fields["converged"] is False and fields["convergence_figure"] == pytest.approx(3.65)
    assert fields["convergence_rule"] == cv.RECOGNITION_RULE
    none = cv.judge("one-shot", {"history": []})
    assert none["convergence_figure"] is None and json.loads(json.dumps(none)) == none


def test_every_spec_declares_a_test_and_records_validate_its_fields():
    from benchmark.spec import load_specs

    assert all(spec.convergence is not None for spec in load_specs().values())
    base = dict(schema_version=1, run_id="r", suite="s", model="m", dataset="d", preset="p", seed=0,
                status="completed")
    validate({**base, **cv.judge("synthesis", _fids([80, 40, 30]))})
    with pytest.raises(MalformedRecord, match="converged"):
        validate({**base, "converged": "yes"})


def _singan_step(i):
    """SinGAN at 2,000 iterations: a plateau, then lr x0.1 at 1,600 drops the loss 2-3x within 40 iterations
    and it settles by 1,800 (the shape of the coffee run's scale 0)."""
    if i < 1600:
        return 0.15
    return 0.06 + 0.03 * math.exp(-(i - 1600) / 40)


def test_one_shot_shorter_than_singans_schedule_is_not_converged_however_flat():
    short = {**_scales(lambda i: 0.05, iters=80, every=1), "lr_decay_at": 0.8}
    res = cv.one_shot(short)
    assert not res.converged and "too short to judge" in res.what and "2,000" in res.what
    assert res.figure < cv.RECON_CHANGE_LIMIT  # the curve itself is flat: only the schedule refuses it


def test_one_shot_judges_after_a_learning_rate_step_inside_the_window():
    record = {**_scales(_singan_step), "config": {"preset": {"recipe": {"lr_decay_at": 0.8}}}}
    assert cv.window_start(record) == pytest.approx(0.9)
    res = cv.one_shot(record)
    assert res.converged and "within its last 10% (iterations 1800-" in res.what
    without = cv.one_shot(_scales(_singan_step))  # no recipe: the last 20%, across the step
    assert not without.converged and "last 20%" in without.what
    early = {**_scales(_singan_step), "config": {"preset": {"recipe": {"lr_decay_at": 0.5}}}}
    assert cv.window_start(early) == pytest.approx(0.8)  # a step before the window changes nothing


def test_the_tasks_tests_are_the_specs_and_reading_rejudges_under_todays_rule():
    from benchmark.results import records_frame
    from benchmark.spec import load_specs

    assert {name: spec.convergence for name, spec in load_specs().items()} == cv.BY_TASK
    stale = {"schema_version": 1, "run_id": "r", "suite": "recognition", "task": "recognition", "model": "m",
             "dataset": "d", "preset": "p", "seed": 0, "status": "completed", "converged": True,
             "convergence_what": "an old rule said so", **_epochs([80, 84, 86, 88, 90])}
    row = records_frame([stale]).iloc[0]
    assert not row["converged"] and "rose" in row["convergence_what"]
    assert cv.rejudge({**stale, "status": "interrupted"}) == {}
