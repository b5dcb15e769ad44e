"""The estimate `run` prints before the first run: every suite has one, timed here, for every model and photo."""

from pathlib import Path

import pytest

from benchmark.models import models_for
from benchmark.runner import Plan, plan_size
from benchmark.spec import load_specs
from benchmark.suites import SUITES


def _plan(suite_name: str, preset_name: str, seeds=(0,)):
    suite = SUITES.get(suite_name)
    preset = suite.preset(preset_name)
    models = models_for(suite_name, preset.model_scale)[:2]
    return Plan(suite, preset, models, list(seeds), Path("unused")), load_specs().get(suite.task).estimate_fn()


@pytest.mark.parametrize("suite_name", SUITES.names())
def test_every_suite_estimates_its_smoke_preset_per_model(suite_name):
    plan, estimate = _plan(suite_name, "smoke")
    assert estimate is not None, f"{suite_name}: its task spec names no estimate"
    seconds = estimate(plan)
    assert set(seconds) == set(plan.models) and all(s > 0 for s in seconds.values())


def test_the_one_shot_estimate_counts_every_scale_photo_seed_and_step(monkeypatch):
    monkeypatch.setattr("benchmark.tasks.estimate._singan_short_iteration", lambda *a: 0.01)
    plan, estimate = _plan("one-shot", "decide", seeds=(0, 1, 2))
    recipe = plan.preset.recipe
    assert plan_size(plan) == 3 * 3 * len(plan.models)  # three photos, three seeds
    from benchmark.data.single_image import load_single_image
    from benchmark.runner import data_units

    scales = [load_single_image(plan.preset.data, u).geometry.num_scales
              for u in data_units(plan.suite, plan.preset, None)]
    assert scales == [4, 4, 3]  # coffee and chelsea at 43x64 px, rocket's 3 scales
    # 0.01 s per short iteration (one critic and one generator step) at every scale of every photo, d_steps
    # of each per iteration, three seeds
    expected = 0.01 * sum(scales) * recipe.d_steps * recipe.iters_per_scale * 3
    assert estimate(plan) == pytest.approx({m: expected for m in plan.models})
