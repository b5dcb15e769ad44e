import dataclasses

import pytest

from benchmark.config import Recipe, override
from benchmark.errors import UserError
from benchmark.models import MODELS, models_for
from benchmark.registry import Registry
from benchmark.suites import SUITES


def test_registry_rejects_duplicates_and_lists_choices():
    reg = Registry("thing")
    reg.add("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.add("a", 2)
    with pytest.raises(UserError, match="choose one of: a"):
        reg.get("b")


def test_expected_names_are_registered():
    assert {"recognition"} <= set(SUITES.names())
    assert [p.name for p in SUITES.get("recognition").presets] == [
        "smoke", "default", "decide", "decide-long", "ladder", "ablation", "paper"]
    families = {MODELS.get(n).family for n in models_for("recognition", "small")}
    assert {"ResNet", "SE-ResNet", "Swin", "PVT"} <= families
    paper = models_for("recognition", "paper")
    assert {"resnet50", "seresnet50", "swin_tiny_patch4_window7_224", "pvt_v2_b2"} <= set(paper)


def test_override_applies_and_rejects_unknown_keys():
    preset = SUITES.get("recognition").preset("default")
    changed = override(preset, {"recipe.epochs": "1", "data.augment": "false", "recipe.lr": "0.01"})
    assert (changed.recipe.epochs, changed.data.augment, changed.recipe.lr) == (1, False, 0.01)
    assert preset.recipe.epochs == 2  # frozen: the original is untouched
    with pytest.raises(UserError, match="unknown config key 'recipe.epoch'"):
        override(preset, {"recipe.epoch": "1"})
    with pytest.raises(UserError, match="recipe.epochs=two: expected int"):
        override(preset, {"recipe.epochs": "two"})


def test_unknown_preset_lists_choices():
    with pytest.raises(UserError, match="smoke, default, decide, decide-long, ladder, ablation, paper"):
        SUITES.get("recognition").preset("huge")


def test_recipe_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Recipe(name="x").lr = 1.0  # type: ignore[misc]
