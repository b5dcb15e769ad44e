"""Paper-ready plots (issue 22): titles inside the figure, labels that do not overlap, error bars named as 95%
CIs, the FID axis naming its extractor, seeds told apart."""

import itertools

import pandas as pd
import pytest
from matplotlib.text import Text

from benchmark.report import plots

# the reference's crowded top1_vs_gmacs: six models within 0.003 GMACs and 0.5 points
CROWDED = pd.DataFrame({
    "model": ["resnet_s32_b1m", "seresnet_s32_b1m", "resnext_s32_b1m", "seresnext_s32_b1m", "swin_s32_b1m",
              "pvt_v2_s32_b1m", "sase_resnet_s32_b1m"],
    "family": ["ResNet", "SE-ResNet", "ResNeXt", "SE-ResNeXt", "Swin", "PVT", "SASE-ResNet"],
    "n": [3] * 7,
    "gmacs_mean": [0.0141, 0.0141, 0.0120, 0.0120, 0.0395, 0.0091, 0.0126],
    "top1_mean": [85.67, 85.70, 85.62, 85.41, 78.30, 84.04, 85.85],
    "top1_ci95": [1.25, 0.50, 0.62, 0.48, 0.27, 1.55, 1.10],
})
LONG_TITLE = "top-1 (%) vs params (default, fashion_mnist-train10k, adamw-fmnist-2ep-bs64@c4d58a18)"


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions save, kept open for inspection."""
    kept = []
    save = plots._save

    def keep(fig, path, layout=True):
        kept.append(fig)
        fig.canvas.draw()
        path.parent.mkdir(parents=True, exist_ok=True)
        if layout:
            fig.tight_layout()
        fig.savefig(path)
        return path

    monkeypatch.setattr(plots, "_save", keep)
    yield kept
    monkeypatch.setattr(plots, "_save", save)
    for fig in kept:
        plots.plt.close(fig)


def test_scatter_labels_do_not_overlap_and_title_fits(figures, tmp_path):
    plots.scatter_vs(CROWDED, "gmacs", "GMACs per image", LONG_TITLE, tmp_path / "s.png")
    [fig] = figures
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_text() in set(CROWDED["model"])]
    assert sorted(t.get_text() for t in labels) == sorted(CROWDED["model"])  # every single model named once
    boxes = [Text.get_window_extent(t, renderer) for t in labels]  # the text, without its leader line
    for a, b in itertools.combinations(boxes, 2):
        assert plots._overlap(a, b) == 0, "two labels overlap"
    markers = ax.transData.transform(CROWDED[["gmacs_mean", "top1_mean"]].to_numpy())
    for box in boxes:
        assert not any(box.contains(x, y) for x, y in markers), "a label covers a point"
    figbox = fig.bbox
    title = ax.title.get_window_extent(renderer)
    assert figbox.x0 <= title.x0 and title.x1 <= figbox.x1 and "\n" in ax.get_title()
    legend = ax.get_legend()
    assert "95% CI" in legend.get_title().get_text()
    assert legend.get_window_extent(renderer).x1 <= figbox.x1


def test_one_seed_says_no_error_bars(figures, tmp_path):
    one = CROWDED.assign(n=1, top1_ci95=float("nan"))
    plots.scatter_vs(one, "gmacs", "GMACs", "t", tmp_path / "s.png")
    assert "no error bars" in figures[0].axes[0].get_legend().get_title().get_text()


def test_learning_curves_tell_seeds_apart(figures, tmp_path):
    runs = [[(1, 80.0), (2, 85.0)], [(1, 81.0), (2, 84.0)], [(1, 79.0), (2, 86.0)]]
    plots.learning_curves({("a", "ResNet"): runs, ("b", "Swin"): runs[:2]}, "epoch", "top-1 (%)", "t",
                          tmp_path / "c.png", seeds={("a", "ResNet"): [0, 1, 2], ("b", "Swin"): [0, 1]})
    ax = figures[0].axes[0]
    seed_lines = [line for line in ax.lines if line.get_alpha() and line.get_alpha() < 1]
    assert len(seed_lines) == 5
    assert len({line.get_marker() for line in seed_lines}) == 3  # one marker per seed
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"seed 0", "seed 1", "seed 2"} <= set(legend)


def test_metric_curves_mark_each_seed(figures, tmp_path):
    hist = {("fastgan", "FastGAN", 0): [(1, 3.0), (2, 2.0)], ("fastgan", "FastGAN", 1): [(1, 3.5), (2, 2.5)]}
    plots.metric_curves(hist, "fid", "FID", "t", tmp_path / "m.png")
    markers = {line.get_marker() for line in figures[0].axes[0].lines}
    assert len(markers) == 2


def test_fid_axis_names_the_extractor():
    from benchmark.spec import load_specs

    spec = load_specs().get("synthesis")
    rows = pd.DataFrame({"feature_extractor": ["fmnist-cnn-059bff30", "fmnist-cnn-059bff30"]})
    sec = plots.Section(spec, rows, pd.DataFrame(), {}, None, None, "s", "t")
    label = plots._with_extractor(sec, "FID")
    assert "fmnist-cnn-059bff30" in label and "not Inception" in label
    inception = plots.Section(spec, rows.assign(feature_extractor="inception-v3-compat"), pd.DataFrame(), {},
                              None, None, "s", "t")
    assert plots._with_extractor(inception, "FID") == "FID\n(in inception-v3-compat features)"
    assert plots._with_extractor(sec, "top-1 (%)") == "top-1 (%)"
