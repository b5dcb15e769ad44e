"""One's own model in the comparison (issue 22): ``--models timm:[MODULE:]NAME[@FAMILY]`` and docs/your-model.md."""

import re

import pytest
import torch
from benchutil import REPO, run_cli

from benchmark.errors import UserError
from benchmark.models import LADDER_BUDGETS, MODELS, parse_timm_name
from benchmark.results import load_records

EXAMPLE = "timm:examples.my_net:my_net_b1m@MyNet"


def test_timm_names_parse():
    assert parse_timm_name("timm:convnext_atto") == (None, "convnext_atto", "convnext_atto")
    assert parse_timm_name("timm:convnext_atto@ConvNeXt") == (None, "convnext_atto", "ConvNeXt")
    assert parse_timm_name(EXAMPLE) == ("examples.my_net", "my_net_b1m", "MyNet")
    for bad in ("timm:", "timm:@X", "timm:convnext_atto@", "timm::convnext_atto"):
        with pytest.raises(UserError, match="timm:NAME"):
            parse_timm_name(bad)


def test_timm_entry_resolves_from_the_name_alone_and_is_not_listed():
    entry = MODELS.get("timm:convnext_atto@ConvNeXt")
    assert (entry.family, entry.suite, entry.scale, entry.in_chans, entry.timm_name) == \
        ("ConvNeXt", "recognition", "small", 1, "convnext_atto")
    assert MODELS.get("timm:convnext_atto").family == "convnext_atto"  # default family: the timm name
    assert "timm:convnext_atto" in MODELS and "timm:convnext_atto" not in MODELS.names()
    assert not any(n.startswith("timm:") for n in MODELS.names())  # listing stays the harness's own
    assert entry.params == 3_376_450 and entry.budget is None  # 10 classes, grey: no ladder budget within 10%


def test_own_module_is_imported_and_sized_to_its_budget():
    entry = MODELS.get(EXAMPLE)
    assert entry.family == "MyNet" and entry.budget == "b1m"
    assert abs(entry.params / LADDER_BUDGETS["b1m"] - 1) <= 0.10


@pytest.mark.parametrize("name, message", [
    ("timm:convnxt_atto", "did you mean timm:convnext_atto"),
    ("timm:no_such_module_here:my_net@X", "cannot import 'no_such_module_here'"),
    ("timm:examples.my_net:my_nett_b1m", "after importing 'examples.my_net'"),
])
def test_unknown_timm_names_are_one_line_user_errors(name, message):
    assert name not in MODELS
    with pytest.raises(UserError, match=re.escape(message)):
        MODELS.get(name)


def test_built_at_the_preset_size_with_the_data_classes():
    from benchmark.tasks.recognition import build_model

    torch.manual_seed(0)
    vit = build_model("timm:vit_tiny_patch16_224@ViT", num_classes=10, in_chans=1, drop_path=0.0, img_size=32)
    assert vit(torch.randn(2, 1, 32, 32)).shape == (2, 10)  # a ViT takes img_size
    cnn = build_model(EXAMPLE, num_classes=7, in_chans=3, drop_path=0.0, img_size=32)  # a CNN takes any size
    assert cnn(torch.randn(2, 3, 32, 32)).shape == (2, 7)


def test_guide_names_the_tested_models():
    guide = (REPO / "docs" / "your-model.md").read_text()
    assert EXAMPLE in guide and "timm:convnext_atto@ConvNeXt" in guide
    assert (REPO / "examples" / "my_net.py").is_file()


@pytest.mark.slow
def test_timm_models_run_in_worker_processes_and_reach_the_report(tmp_path, tiny_idx):
    """The guide's command: both models in the smoke preset, side by side in spawned workers (which know
    the names only), then the report."""
    res = tmp_path / "results"
    models = f"timm:convnext_atto@ConvNeXt,{EXAMPLE},resnet_s32_b1m"
    out = run_cli("run", "--suite", "recognition", "--preset", "smoke", "--models", models, "--jobs", "2",
                  "--data", str(tiny_idx), "--seeds", "0", "--results-dir", str(res))
    assert out.returncode == 0, out.stderr[-3000:]
    frame = load_records(res).set_index("model")
    assert set(frame["status"]) == {"completed"}
    assert frame.loc["timm:convnext_atto@ConvNeXt", "family"] == "ConvNeXt"
    assert frame.loc[EXAMPLE, "family"] == "MyNet" and frame.loc[EXAMPLE, "budget"] == "b1m"
    assert frame.loc[EXAMPLE, "params"] == MODELS.get(EXAMPLE).params  # 10 classes, grey, as counted
    rep = run_cli("report", "--results-dir", str(res), "--reference", "none")
    assert rep.returncode == 0, rep.stderr
    text = (res / "report" / "README.md").read_text()
    assert "timm:convnext_atto@ConvNeXt" in text and EXAMPLE in text
    budget_b1m = text.split("#### budget `b1m`")[1].split("####")[0]
    assert EXAMPLE in budget_b1m and "resnet_s32_b1m" in budget_b1m  # beside the ladder member of its size
