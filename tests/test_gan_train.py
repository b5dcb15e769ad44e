import dataclasses

import torch

from baselines.fastgan import build_fastgan
from benchmark.config import GANRecipe
from benchmark.train.gan import init_state, train_gan, update_ema
from benchmark.train.recon import build_recon_loss
from sase.gan import build_sase_gan

RECIPE = GANRecipe(name="t", iterations=2, batch_size=4, ngf=8, ndf=8, nz=16, eval_every=1, sample_every=0,
                   ckpt_every=0)


def _images(n=8):
    return torch.randint(0, 255, (n, 1, 32, 32), dtype=torch.uint8)


def test_train_steps_update_both_nets_and_ema():
    torch.manual_seed(0)
    G, D = build_fastgan(32, ngf=8, ndf=8, nz=16, nc=1)
    s = init_state(G, D, RECIPE, seed=0)
    g0 = [p.clone() for p in G.parameters()]
    d0 = [p.clone() for p in D.parameters()]
    e0 = [p.clone() for p in s.G_ema.parameters()]
    recon, name = build_recon_loss("l1", torch.device("cpu"))
    history = train_gan(s, _images(), RECIPE, recon, torch.device("cpu"), evaluate=lambda s: {"fid": 1.0})
    assert name == "l1" and s.iteration == 2 and [h["iteration"] for h in history] == [1, 2]
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(e0, s.G_ema.parameters()))


def test_training_is_deterministic_under_a_seed():
    def run():
        torch.manual_seed(0)
        G, D = build_sase_gan(32, ngf=8, ndf=8, nz=16, nc=1)
        s = init_state(G, D, RECIPE, seed=3)
        recon, _ = build_recon_loss("l1", torch.device("cpu"))
        train_gan(s, _images(), dataclasses.replace(RECIPE, eval_every=0), recon, torch.device("cpu"))
        return torch.cat([p.flatten() for p in s.G_ema.parameters()])

    assert torch.equal(run(), run())


def test_ema_decay():
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    with torch.no_grad():
        a.weight.zero_()
        b.weight.fill_(1.0)
    update_ema(a, b, decay=0.9)
    assert torch.allclose(a.weight, torch.full((2, 2), 0.1))


def test_resume_from_a_checkpoint_is_bit_identical(tmp_path):
    """3 iterations, checkpoint, fresh process state, load, 3 more == 6 iterations in one go."""
    from benchmark.train.classify import state_digest
    from benchmark.train.resume import Checkpointer, seed_everything

    recipe = dataclasses.replace(RECIPE, iterations=6, eval_every=0)
    recon, _ = build_recon_loss("l1", torch.device("cpu"))
    images = _images()

    def fresh():
        seed_everything(0)
        G, D = build_sase_gan(32, ngf=8, ndf=8, nz=16, nc=1)
        return init_state(G, D, recipe, seed=3)

    whole = fresh()
    train_gan(whole, images, recipe, recon, torch.device("cpu"))

    ckpt = Checkpointer(tmp_path / "last.pt", 0)
    first = fresh()
    train_gan(first, images, dataclasses.replace(recipe, iterations=3), recon, torch.device("cpu"),
              checkpoint=lambda s: ckpt.save(s.state_dict(), s.gen))
    seed_everything(123)  # a new process would start from other RNG states
    second = fresh()
    second.load_state_dict(ckpt.load(second.gen))
    assert second.iteration == 3
    train_gan(second, images, recipe, recon, torch.device("cpu"))
    for name in ("G", "G_ema", "D"):
        assert state_digest(getattr(second, name)) == state_digest(getattr(whole, name)), name


# --- the reference protocol: sampling, flips, reconstruction reduction, seeded and side-effect-free generation


def test_permutation_sampling_covers_each_epoch_and_is_seeded():
    from benchmark.train.real_batches import SamplerState, next_indices

    def draw(seed, batches=9):
        state, g = SamplerState(), torch.Generator().manual_seed(seed)
        return torch.cat([next_indices(state, 10, 4, "permutation", g) for _ in range(batches)])

    a = draw(0)
    for epoch in range(3):  # 36 draws: 3 whole epochs of 10, each a permutation (batches straddle epochs)
        assert sorted(a[10 * epoch: 10 * epoch + 10].tolist()) == list(range(10))
    assert torch.equal(a, draw(0)) and not torch.equal(a, draw(1))
    g = torch.Generator().manual_seed(0)
    uniform = torch.cat([next_indices(SamplerState(), 10, 4, "replacement", g) for _ in range(9)])
    assert len(set(uniform.tolist())) < 10 or not torch.equal(uniform, a)


def test_sampler_state_resumes_mid_epoch():
    from benchmark.train.real_batches import SamplerState, next_indices

    g = torch.Generator().manual_seed(5)
    whole = SamplerState()
    ref = [next_indices(whole, 10, 4, "permutation", g) for _ in range(5)]
    g = torch.Generator().manual_seed(5)
    first = SamplerState()
    got = [next_indices(first, 10, 4, "permutation", g) for _ in range(2)]
    saved, gen_state = first.state_dict(), g.get_state()
    resumed, g2 = SamplerState(), torch.Generator().manual_seed(99)
    resumed.load_state_dict(saved)
    g2.set_state(gen_state)
    got += [next_indices(resumed, 10, 4, "permutation", g2) for _ in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(ref, got))


def test_flip_is_random_per_image_and_seeded():
    from benchmark.train.real_batches import SamplerState, real_batch

    images = torch.zeros(64, 1, 8, 8, dtype=torch.uint8)
    images[:, :, :, 0] = 255  # a bright left column: flipped images have it on the right

    def batch(seed, hflip=True):
        return real_batch(images, SamplerState(), 64, "permutation", hflip, torch.Generator().manual_seed(seed))

    x = batch(0)
    flipped = x[:, 0, 0, -1] > 0
    assert torch.equal(flipped, x[:, 0, 0, 0] < 0)  # every image is either as it was or mirrored
    assert 16 < int(flipped.sum()) < 48  # p = 0.5 per image
    assert torch.equal(x, batch(0)) and not torch.equal(x, batch(1))
    assert not (batch(0, hflip=False)[:, 0, 0, -1] > 0).any()


def test_summed_reconstruction_loss_equals_the_reference_formula():
    """The reference: percept(rec_all, interp(data)).sum() + percept(rec_small, ...).sum() + percept(rec_part, ...)"""
    import torch.nn.functional as F

    from benchmark.train.gan import d_real_loss

    torch.manual_seed(0)
    _, D = build_fastgan(32, ngf=8, ndf=8, nz=16, nc=1)
    D.eval()  # no spectral-norm power iteration, fixed BN statistics: the same output at every call
    real = torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    recon, _ = build_recon_loss("l1", torch.device("cpu"))
    with torch.no_grad():
        ours = d_real_loss(D, real, recon, torch.Generator().manual_seed(7), "sum")["d_recon"]
        mean = d_real_loss(D, real, recon, torch.Generator().manual_seed(7), "mean")["d_recon"]
        part = int(torch.randint(4, (1,), generator=torch.Generator().manual_seed(7)))
        _, (rec_all, rec_small, rec_part, _) = D(real, reconstruct=True, quarter=part)

        def percept(a, b):  # the L1 stand-in for LPIPS: one distance per image pair
            return torch.stack([(x - y).abs().mean() for x, y in zip(a, b)])

        hw = real.shape[2] // 2
        crop = {0: real[:, :, :hw, :hw], 1: real[:, :, :hw, hw:], 2: real[:, :, hw:, :hw], 3: real[:, :, hw:, hw:]}
        ref = (percept(rec_all, F.interpolate(real, rec_all.shape[2])).sum()
               + percept(rec_small, F.interpolate(real, rec_small.shape[2])).sum()
               + percept(rec_part, F.interpolate(crop[part], rec_part.shape[2])).sum())
    assert torch.allclose(ours, ref, rtol=1e-6)
    assert torch.allclose(ours, 4 * mean, rtol=1e-6)  # the mean reduction is the reference's / batch size


def _trained_state(seed=3, iterations=2):
    torch.manual_seed(0)
    G, D = build_sase_gan(32, ngf=8, ndf=8, nz=16, nc=1)
    s = init_state(G, D, RECIPE, seed=seed)
    recon, _ = build_recon_loss("l1", torch.device("cpu"))
    train_gan(s, _images(), dataclasses.replace(RECIPE, iterations=iterations, eval_every=0), recon,
              torch.device("cpu"))
    return s


def test_generation_is_seeded_and_leaves_the_generator_and_rngs_alone():
    from benchmark.train.classify import state_digest
    from benchmark.train.gan_sample import generated_batches

    s = _trained_state()
    before, rng = state_digest(s.G_ema), torch.get_rng_state()
    for mode in ("train", "eval", "recalibrate"):
        a = list(generated_batches(s.G_ema, 10, 16, seed=9, device="cpu", batch=4, mode=mode, recal_batches=2))
        b = list(generated_batches(s.G_ema, 10, 16, seed=9, device="cpu", batch=4, mode=mode, recal_batches=2))
        assert [len(x) for x in a] == [4, 4, 2] and a[0].dtype == torch.uint8
        assert all(torch.equal(x, y) for x, y in zip(a, b)), mode
        assert state_digest(s.G_ema) == before and not s.G_ema.training
        assert torch.equal(torch.get_rng_state(), rng)
    train = torch.cat(list(generated_batches(s.G_ema, 4, 16, 9, "cpu", 4, "train")))
    evald = torch.cat(list(generated_batches(s.G_ema, 4, 16, 9, "cpu", 4, "eval")))
    assert not torch.equal(train, evald)  # the BN mode matters, hence the recorded fid_mode


def test_evaluating_does_not_change_the_training_stream():
    from benchmark.train.classify import state_digest
    from benchmark.train.gan_sample import generated_batches

    def run(evaluate):
        torch.manual_seed(0)
        G, D = build_fastgan(32, ngf=8, ndf=8, nz=16, nc=1)
        s = init_state(G, D, dataclasses.replace(RECIPE, iterations=4), seed=3)
        recon, _ = build_recon_loss("l1", torch.device("cpu"))
        train_gan(s, _images(), dataclasses.replace(RECIPE, iterations=4, eval_every=1), recon,
                  torch.device("cpu"), evaluate=evaluate)
        return state_digest(s.G_ema), state_digest(s.D)

    def evaluate(s):
        n = sum(len(b) for b in generated_batches(s.G_ema, 6, 16, 5, "cpu", 4, "train"))
        return {"fid": float(n)}

    assert run(evaluate) == run(lambda s: {"fid": 0.0})


def test_checkpoint_selection_reports_best_and_last():
    from benchmark.tasks.synthesis import select_checkpoint

    history = [{"iteration": 10, "fid": 5.0}, {"iteration": 20, "fid": 3.0}, {"iteration": 30, "fid": 4.0}]
    best = select_checkpoint(history, "best")
    assert best["chosen"]["iteration"] == 20 and best["fid_selection"] == "best"
    assert (best["fid_best"], best["fid_best_iteration"], best["fid_last"], best["fid_last_iteration"]) == (
        3.0, 20, 4.0, 30)
    assert select_checkpoint(history, "last")["chosen"]["iteration"] == 30


def test_protocol_fields_default_to_the_reference_and_tanh_is_settable():
    import pytest

    from benchmark.config import override
    from benchmark.errors import UserError
    from benchmark.recipes import RECIPES

    r = RECIPES.get("fastgan-256-70k")
    assert (r.recon_reduction, r.hflip, r.sampling, r.eval_bn, r.eval_batch, r.fid_select, r.tanh) == (
        "sum", True, "permutation", "train", 16, "best", False)
    assert override(r, {"tanh": "true"}).tanh is True
    panda, ffhq = RECIPES.get("fastgan-panda"), RECIPES.get("fastgan-ffhq1k")
    assert (panda.lr, panda.tanh, panda.iterations) == (1e-4, True, 70_000)
    assert (ffhq.lr, ffhq.tanh, ffhq.iterations) == (1e-4, True, 75_000)
    with pytest.raises(UserError, match="eval_bn"):
        override(r, {"eval_bn": "frozen"})
    for build in (build_fastgan, build_sase_gan):
        G, _ = build(32, ngf=8, ndf=8, nz=16, nc=1, tanh=True)
        with torch.no_grad():
            out = G.eval()(torch.randn(4, 16) * 50)[0]
        assert G.tanh and out.abs().max() <= 1
