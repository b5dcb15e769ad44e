"""Size ladders and grouped controls (issue 10): the rule hits its budgets, controls differ only where intended."""

from __future__ import annotations

import functools
import math

import pytest
import timm
import torch

from baselines.ladder import ABLATION_BUDGET, RULES, SOLVED, WidthRule, solve
from baselines.small import VALUE_GROUPS
from benchmark.models import (
    LADDER_BUDGETS,
    LADDER_FAMILIES,
    LADDER_TOLERANCE,
    MODELS,
    ablation_models,
    build_ladder,
    ladder_member,
    ladder_models,
    models_for,
)
from sase.recognition import SASEConfig, SASEConv2d
from sase.resnet import LADDER_ABLATIONS

MEMBERS = [(prefix, budget, "") for prefix in LADDER_FAMILIES for budget in LADDER_BUDGETS]
MEMBERS += [("sase_resnet_s32", ABLATION_BUDGET, a) for a in LADDER_ABLATIONS]


def _n(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@functools.lru_cache(maxsize=None)
def _count(prefix: str, k: int, ablation: str = "") -> int:
    with torch.device("meta"):
        return _n(build_ladder(prefix, k, ablation))


def _meta(name: str, **kwargs) -> torch.nn.Module:
    with torch.device("meta"):
        return timm.create_model(name, **kwargs)


def _solved_k(prefix: str, budget: str, ablation: str) -> int:
    return SOLVED[f"{prefix}_{ablation}" if ablation else prefix][budget]


def test_width_rule():
    assert RULES["resnet_s32"].widths(32) == (32, 64, 128, 256)  # k = 32 is the *_s32 model's widths
    assert RULES["pvt_v2_s32"].widths(24) == (48, 96, 192)
    assert RULES["swin_s32"].widths(8) == (32,)
    assert WidthRule((32, 64, 128, 256), 8).widths(1) == (8, 8, 8, 8)  # never below one step
    assert all(w % 8 == 0 for k in range(1, 80) for w in RULES["sase_resnet_s32"].widths(k))
    assert solve(lambda k: k * k, 50) == 7 and solve(lambda k: k * k, 1) == 1 and solve(lambda k: k, 10**6) == 256


@pytest.mark.parametrize("prefix,budget,ablation", MEMBERS)
def test_member_hits_budget_and_is_the_rules_choice(prefix, budget, ablation):
    """Params within +-10 %, and k is the rule's optimum: |log(params / B)| is quasi-convex in k (params grow
    with k), so beating both neighbours means beating every k."""
    name = f"{prefix}_{budget}" + (f"_{ablation}" if ablation else "")
    entry, k, target = MODELS.get(name), _solved_k(prefix, budget, ablation), LADDER_BUDGETS[budget]
    params = _n(_meta(name))
    assert params == entry.params == _count(prefix, k, ablation)
    assert abs(params / target - 1) <= LADDER_TOLERANCE, f"{name}: {params} vs {target}"
    assert (entry.budget, entry.in_suite, entry.scale, entry.ablation or "") == (budget, False, "small", ablation)
    err = {j: abs(math.log(_count(prefix, j, ablation) / target)) for j in (k - 1, k, k + 1) if j >= 1}
    assert min(err, key=lambda j: (err[j], j)) == k  # ties go to the smaller k, as in solve()


def test_ladders_span_the_range_and_default_preset_is_unchanged():
    for family in LADDER_FAMILIES.values():
        sizes = [MODELS.get(ladder_member(family, b)).params for b in LADDER_BUDGETS]
        assert len(sizes) >= 3 and sizes == sorted(sizes) and sizes[0] < 0.35e6 and sizes[-1] > 2.7e6, family
    assert models_for("recognition", "small") == ["resnet_s32", "seresnet_s32", "swin_s32", "pvt_v2_s32",
                                                  "sase_resnet_s32"]
    assert models_for("recognition", "ladder") == ladder_models() and len(ladder_models()) == 21
    assert ladder_models(["b1m"], ["ResNet", "Swin"]) == ["resnet_s32_b1m", "swin_s32_b1m"]
    assert models_for("recognition", "ladder:b1m") == ladder_models(["b1m"]) and len(ladder_models(["b1m"])) == 7
    assert set(ladder_models()) <= set(timm.list_models("*_s32_b*"))
    assert models_for("recognition", "ablation") == ablation_models()
    assert ablation_models()[0] == "sase_resnet_s32_b1m" and ablation_models()[-1] == "resnext_s32_b1m"
    assert models_for("recognition", "ladder:b1m/SASE-ResNet,Swin") == ["swin_s32_b1m", "sase_resnet_s32_b1m"]
    with pytest.raises(ValueError, match="b2m"):
        ladder_models(["b2m"])
    with pytest.raises(ValueError, match="ViT"):
        models_for("recognition", "ladder:b1m/ViT")
    with pytest.raises(ValueError, match="no ladder member"):
        ladder_member("ViT", "b1m")


def _layers(model):
    return [m for m in model.modules() if isinstance(m, SASEConv2d)]


def _conv_signature(conv: torch.nn.Conv2d) -> tuple:
    return (type(conv), conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
            conv.dilation, conv.groups, conv.bias is None)


def _branch_free_keys(sase_state: dict, sase_conv: str) -> dict:
    """SASE's state-dict keys without its branches, with its value conv renamed to the plain conv."""
    keep = {k: v for k, v in sase_state.items() if ".excite." not in k and ".mask." not in k}
    return {k.replace(f".{sase_conv}.value.", f".{sase_conv}."): v.shape for k, v in keep.items()}


def _shapes(model) -> dict:
    return {k: v.shape for k, v in model.state_dict().items()}


def test_resnext_control_is_sase_without_branches():
    k = SOLVED["sase_resnet_s32"]["b1m"]
    assert SOLVED["resnext_s32"]["b1m"] == k  # the b1m members are the same network up to the branches
    sase_m, resnext = build_ladder("sase_resnet_s32", k), build_ladder("resnext_s32", k)
    assert _branch_free_keys(sase_m.state_dict(), "conv1") == _shapes(resnext)
    assert not [m for m in resnext.modules() if isinstance(m, SASEConv2d)]
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        value, conv = getattr(sase_m, stage)[0].conv1.value, getattr(resnext, stage)[0].conv1
        assert _conv_signature(value) == _conv_signature(conv) and conv.groups == VALUE_GROUPS
    assert VALUE_GROUPS == SASEConfig().resolved_value_groups


def test_se_control_adds_only_se_and_resnext_only_groups_resnet():
    k = SOLVED["resnext_s32"]["b1m"]
    resnext, seresnext, resnet = (_shapes(build_ladder(p, k)) for p in ("resnext_s32", "seresnext_s32", "resnet_s32"))
    extra = set(seresnext) - set(resnext)
    assert extra and all(".se." in key for key in extra) and set(resnext) <= set(seresnext)
    assert set(resnet) == set(resnext)
    differ = {key for key in resnet if resnet[key] != resnext[key]}
    assert differ == {f"layer{i}.0.conv1.weight" for i in range(1, 5)}  # the grouped 3x3 only


@pytest.mark.parametrize("sase_name,control", [("sase_resnet50", "resnext50_4x16d"),
                                               ("sase_resnet50_4x24d", "resnext50_4x24d")])
def test_paper_controls_match_sase_value_convs(sase_name, control):
    sase_m, resnext = _meta(sase_name), _meta(control)
    assert _branch_free_keys(sase_m.state_dict(), "conv2") == _shapes(resnext)
    for layer, block in zip(_layers(sase_m), (b for s in (resnext.layer1, resnext.layer2, resnext.layer3,
                                                          resnext.layer4) for b in s)):
        assert _conv_signature(layer.value) == _conv_signature(block.conv2)
    se = set(_shapes(_meta("se" + control))) - set(_shapes(resnext))
    assert se and all(".se." in key for key in se)


def test_paper_scale_sizes():
    assert MODELS.get("resnext50_4x16d").params == _n(_meta("resnext50_4x16d")) == 17_069_096
    resnet50 = MODELS.get("resnet50").params
    wide = _n(_meta("sase_resnet50_4x24d"))
    assert wide == MODELS.get("sase_resnet50_4x24d").params and abs(wide / resnet50 - 1) < 0.01
    for base_width in (20, 28):  # the ladder rule: the base width (step 4 = G) nearest ResNet-50's params
        other = _n(_meta("sase_resnet50", cardinality=4, base_width=base_width))
        assert abs(math.log(other / resnet50)) > abs(math.log(wide / resnet50))


def test_ablations_switch_only_their_choice():
    for ablation, cfg in LADDER_ABLATIONS.items():
        model = _meta(f"sase_resnet_s32_b1m_{ablation}")
        assert all(layer.cfg == cfg for layer in _layers(model)) and len(_layers(model)) == 4
