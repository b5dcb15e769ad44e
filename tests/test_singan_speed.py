"""The SinGAN trainer's faster path computes what the plain one did, and its learning curve and thread choice.

The critic's random "previous" images of an iteration are drawn in the published order and run through the
frozen coarser scales in one batch (:func:`benchmark.train.singan.critic_inputs`) instead of once per critic
step.  :func:`_reference_train_scale` below is the trainer's loop as it was before that change (one
``draw_previous`` and one GP weight per critic step, losses read every iteration).

Why the comparison runs with oneDNN off: a oneDNN convolution on a batch of 3 rounds differently (1e-7) from
three on batches of 1, and a GAN under Adam magnifies any rounding difference (Adam's first steps move every
weight by +-lr whatever the gradient's size, so a near-zero gradient that changes sign moves a weight by
2 lr): after 4 iterations the losses differ by 1e-3 to 1e-1 relative, as they do between one and two threads
of the *same* code.  PyTorch's own convolution computes each image of a batch alone, so with oneDNN off the
two loops must agree to rounding.
"""

import math

import pytest
import torch
import torch.nn.functional as F

import benchmark.train.singan as singan
from benchmark.data.single_image import OneShotData, load_single_image
from benchmark.tasks import one_shot
from benchmark.train.singan import SinGANRecipe, cpu_threads, train_pyramid

TINY = OneShotData(images=("coffee",), max_size=24, min_size=12)  # 3 scales: 12x18, 14x21, 16x24
RECIPE = SinGANRecipe("speed", iters_per_scale=4)


@pytest.fixture(autouse=True)
def one_thread():
    with cpu_threads(1):
        yield


def _reference_train_scale(G, D, pyr, recipe, gen, bar):
    """The critic/generator loop before batching (kept verbatim but for the curve it now records)."""
    n, real, p = pyr.trained, pyr.reals[pyr.trained], pyr.pad
    size, device = tuple(real.shape[-2:]), real.device
    redraw = n == 0 and recipe.rec_noise == "redraw"
    z_rec = singan.make_noise(0, size, 1, gen, device) if n == 0 and not redraw else torch.zeros(1, 3, *size)
    prev_rec = singan.draw_previous(pyr, n, "rec")
    amp = 1.0 if n == 0 else recipe.noise_amp * float(torch.sqrt(F.mse_loss(real, prev_rec)))
    opt_g, opt_d, scheds = singan._optimizers(G, D, recipe)
    G.train()
    D.train()
    curve = []
    for it in range(recipe.iters_per_scale):
        if redraw:
            z_rec = singan.make_noise(0, size, 1, gen, device)
        z = singan.make_noise(n, size, 1, gen, device)
        D.requires_grad_(True)
        for _ in range(recipe.d_steps):
            with torch.no_grad():
                prev = singan.draw_previous(pyr, n, "rand", 1, gen)
                fake = singan.run_scale(G, amp, z, prev, p)
            opt_d.zero_grad(set_to_none=True)
            loss_d = -D(real).mean() + D(fake).mean() + recipe.gp_weight * singan.gradient_penalty(D, real, fake, gen)
            loss_d.backward()
            opt_d.step()
        D.requires_grad_(False)
        for _ in range(recipe.g_steps):
            opt_g.zero_grad(set_to_none=True)
            adv = -D(singan.run_scale(G, amp, z, prev, p)).mean()
            rec = recipe.alpha * F.mse_loss(singan.run_scale(G, amp, z_rec, prev_rec, p), real)
            (adv + rec).backward()
            opt_g.step()
        for s in scheds:
            s.step()
        curve.append({"iter": it + 1, "critic": loss_d.item(), "generator": adv.item(), "reconstruction": rec.item()})
    D.requires_grad_(True)
    pyr.generators.append(G.eval().requires_grad_(False))
    pyr.z_rec.append(z_rec)
    pyr.noise_amps.append(amp)
    return {"scale": n, "noise_amp": amp, "curve": curve}


def _train(model, recipe=RECIPE):
    data = load_single_image(TINY)
    return train_pyramid(one_shot.build_one_shot(model), data.image, data.geometry, recipe, seed=0)


def _close(a, b, rel=1e-5):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-7)


@pytest.mark.parametrize("model", ["singan", "sase_singan"])
def test_batched_critic_inputs_give_the_reference_loss_sequence(model, monkeypatch):
    with torch.backends.mkldnn.flags(enabled=False):
        pyr, hist = _train(model)
        monkeypatch.setattr(singan, "train_scale", _reference_train_scale)
        ref_pyr, ref = _train(model)
    assert [h["scale"] for h in hist] == [0, 1, 2]
    for h, r in zip(hist, ref):
        assert _close(h["noise_amp"], r["noise_amp"])
        assert [c["iter"] for c in h["curve"]] == [c["iter"] for c in r["curve"]] == [1, 2, 3, 4]
        for c, d in zip(h["curve"], r["curve"]):
            for key in ("critic", "generator", "reconstruction"):
                assert _close(c[key], d[key]), (h["scale"], c["iter"], key, c[key], d[key])
        last = h["curve"][-1]
        assert (h["loss_d"], h["loss_g"], h["rec"]) == (last["critic"], last["generator"], last["reconstruction"])
    # A conv bias followed by BatchNorm has a gradient of zero up to rounding, which Adam turns into +-lr
    # steps: those biases and the running means that track them differ by O(lr); every other weight agrees.
    for g, r in zip(pyr.generators, ref_pyr.generators):
        free = _biases_before_batchnorm(g)
        for (name, x), y in zip(g.state_dict().items(), r.state_dict().values()):
            if name not in free and not name.endswith("running_mean"):
                assert torch.allclose(x.float(), y.float(), rtol=1e-4, atol=1e-6), name


def _biases_before_batchnorm(model):
    out = set()
    for prefix, m in model.named_modules():
        if isinstance(m, torch.nn.Sequential):
            kids = list(m.named_children())
            for (name, a), (_, b) in zip(kids, kids[1:]):
                if isinstance(a, torch.nn.Conv2d) and isinstance(b, torch.nn.BatchNorm2d) and a.bias is not None:
                    out.add(f"{prefix}.{name}.bias" if prefix else f"{name}.bias")
    return out


def test_critic_inputs_draw_in_the_published_order():
    """Same noise, same GP weights, same generator state afterwards as one draw_previous + rand per step."""
    data = load_single_image(TINY)
    factory = one_shot.build_one_shot("sase_singan")
    pyr = singan.Pyramid(reals=singan.real_pyramid(data.image, data.geometry))
    torch.manual_seed(0)
    for k in range(2):
        pyr.generators.append(factory.generator(k).eval().requires_grad_(False))
        pyr.z_rec.append(torch.zeros(1, 3, *pyr.reals[k].shape[-2:]))
        pyr.noise_amps.append(0.1)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    prev, weights = singan.critic_inputs(pyr, 2, 3, g1)
    with torch.no_grad():
        ref = [(singan.draw_previous(pyr, 2, "rand", 1, g2), torch.rand(1, generator=g2)) for _ in range(3)]
    assert prev.shape == (3, 3, *pyr.reals[2].shape[-2:])
    assert torch.allclose(prev, torch.cat([p for p, _ in ref]), atol=1e-6)  # oneDNN: batch-3 rounding
    assert all(torch.equal(w, r) for w, (_, r) in zip(weights, ref))
    assert torch.equal(g1.get_state(), g2.get_state())
    empty, w0 = singan.critic_inputs(pyr, 0, 3, g1)  # scale 0: zeros, and only the GP weights are drawn
    assert not empty.any() and empty.shape == (3, 3, *pyr.reals[0].shape[-2:]) and len(w0) == 3


def test_curve_is_sampled_every_k_iterations_and_at_the_last(monkeypatch):
    assert [singan.curve_every(n) for n in (4, 80, 99, 100, 2000)] == [1, 1, 1, 2, 40]
    monkeypatch.setattr(singan, "curve_every", lambda n: 2)
    _, hist = _train("singan", SinGANRecipe("speed", iters_per_scale=5))
    for h in hist:
        assert [c["iter"] for c in h["curve"]] == [2, 4, 5]
        assert all(set(c) == {"iter", "critic", "generator", "reconstruction"} for c in h["curve"])
        assert all(math.isfinite(c[k]) for c in h["curve"] for k in ("critic", "generator", "reconstruction"))


def test_a_non_finite_loss_between_curve_points_still_raises(monkeypatch):
    calls = {"n": 0}
    real_mse = F.mse_loss

    def mse_once_inf(a, b):  # one infinite reconstruction loss at the 2nd generator step, none after
        calls["n"] += 1
        return real_mse(a, b) * (float("inf") if calls["n"] == 2 else 1.0)

    monkeypatch.setattr(singan, "curve_every", lambda n: 1000)
    monkeypatch.setattr(F, "mse_loss", mse_once_inf)
    with pytest.raises(singan.TrainingDiverged, match="non-finite"):
        _train("singan", SinGANRecipe("speed", iters_per_scale=3, g_steps=1))


def test_time_threads_leaves_the_rng_and_thread_count_alone():
    data = load_single_image(TINY)
    rng, threads = torch.get_rng_state(), torch.get_num_threads()
    secs = singan.time_threads(one_shot.build_one_shot("sase_singan"), data.image, data.geometry, RECIPE, (1,))
    assert set(secs) == {1} and 0 < secs[1] < 60
    assert torch.equal(rng, torch.get_rng_state()) and torch.get_num_threads() == threads


def test_thread_choice_is_measured_once_and_kept(tmp_path, monkeypatch):
    import types

    timed = []

    def fake_time(factory, image, geometry, recipe, candidates):
        timed.append(tuple(candidates))
        return {1: 0.30, 2: 0.17}

    monkeypatch.setattr(one_shot, "time_threads", fake_time)
    monkeypatch.setenv("SASE_BENCH_CACHE", str(tmp_path / "cache"))
    data = load_single_image(TINY)
    run = lambda name: types.SimpleNamespace(device="cpu", model="singan", run_dir=tmp_path / "runs" / name)  # noqa: E731
    for name in ("r1", "r2", "r3"):
        (tmp_path / "runs" / name).mkdir(parents=True)
    factory = one_shot.build_one_shot("singan")
    with cpu_threads(2):
        n, timing = one_shot.choose_threads(run("r1"), factory, data, RECIPE)
        again, pinned = one_shot.choose_threads(run("r1"), factory, data, RECIPE)  # a resumed run
        other, cached = one_shot.choose_threads(run("r2"), factory, data, RECIPE)  # another seed, same machine
    assert (n, again, other, timed) == (2, 2, 2, [(1, 2)])
    assert timing["s_per_iteration"] == {"1": 0.3, "2": 0.17} and timing["threads_available"] == 2
    assert pinned == timing and cached["cached"]
    assert len(list((tmp_path / "cache" / "tuning").glob("*.json"))) == 1
    with cpu_threads(1):
        assert one_shot.choose_threads(run("r3"), factory, data, RECIPE)[0] == 1  # one thread: no timing
    assert one_shot.choose_threads(types.SimpleNamespace(device="cuda:0"), factory, data, RECIPE) == (None, None)
