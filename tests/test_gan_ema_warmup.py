"""FastGAN's trainer with the EMA warm-up: the same losses as before it, and the EMA it promises.

The warm-up (``GANRecipe.ema_warmup``, :func:`benchmark.train.gan.ema_decay_at`) only changes the EMA
generator, which training never reads, so a seeded run's losses must be exactly those of the trainer before
it: :func:`_reference_train_step` is that trainer's step, kept verbatim.  The pinned first-iteration losses
were computed with that code (torch 2.14.1, CPU, one thread) at the ``default`` preset's sizes.
"""

import copy
import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from baselines.fastgan.diffaug import diff_augment
from benchmark.config import GANRecipe
from benchmark.models import MODELS
from benchmark.train.gan import _margin, d_real_loss, ema_decay_at, init_state, train_step, update_ema
from benchmark.train.real_batches import real_batch
from benchmark.train.recon import build_recon_loss
from benchmark.train.singan import cpu_threads

RECIPE = GANRecipe(name="t", iterations=5, batch_size=8, ngf=16, ndf=16, nz=64, recon_loss="l1")
# the first iteration's losses from the trainer before the warm-up (seed 3, images seeded 5, see _state)
PINNED = {"fastgan": {"d_real": 1.158327341079712, "d_recon": 13.209456443786621, "d_fake": 0.7120469808578491,
                      "g_loss": 0.16949501633644104},
          "sase_gan": {"d_real": 1.0210405588150024, "d_recon": 13.837167739868164, "d_fake": 0.8591980934143066,
                       "g_loss": 0.036345791071653366}}


@pytest.fixture(autouse=True)
def one_thread():
    with cpu_threads(1):
        yield


def _reference_train_step(s, images, recipe, recon, device):
    """The step before the warm-up: EMA with ``recipe.ema_decay`` at every iteration."""
    g, policy = s.gen, [p for p in recipe.diffaug.split(",") if p]
    real = real_batch(images, s.sampler, recipe.batch_size, recipe.sampling, recipe.hflip, g).to(device)
    z = torch.randn(recipe.batch_size, recipe.nz, generator=g).to(device)
    fake = s.G(z)
    real_aug = diff_augment(real, policy, generator=g)
    fake_aug = [diff_augment(f, policy, generator=g) for f in fake]
    s.opt_d.zero_grad(set_to_none=True)
    parts = d_real_loss(s.D, real_aug, recon, g, recipe.recon_reduction)
    pred_fake = s.D([f.detach() for f in fake_aug])
    parts["d_fake"] = F.relu(_margin(pred_fake, g) + pred_fake).mean()
    d_loss = parts["d_real"] + parts["d_recon"] + parts["d_fake"]
    d_loss.backward()
    s.dist.average_gradients(s.D)
    s.opt_d.step()
    s.opt_g.zero_grad(set_to_none=True)
    g_loss = -s.D(fake_aug).mean()
    g_loss.backward()
    s.dist.average_gradients(s.G)
    s.opt_g.step()
    update_ema(s.G_ema, s.G, recipe.ema_decay)
    s.iteration += 1
    return {k: float(v.detach()) for k, v in parts.items()} | {"g_loss": float(g_loss.detach())}


def _state(model, recipe=RECIPE):
    torch.manual_seed(0)
    G, D = MODELS.get(model).build(32, ngf=16, ndf=16, nz=64, nc=1)
    s = init_state(G, D, recipe, seed=3)
    G.train()
    D.train()
    return s


def _images():
    return torch.randint(0, 256, (20, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(5))


def _run(step, model, recipe=RECIPE, n=4):
    s = _state(model, recipe)
    recon, _ = build_recon_loss("l1", torch.device("cpu"))
    return s, [step(s, _images(), recipe, recon, torch.device("cpu")) for _ in range(n)]


@pytest.mark.parametrize("model", ["fastgan", "sase_gan"])
def test_losses_are_those_of_the_trainer_before_the_warmup(model):
    s, losses = _run(train_step, model)
    ref, ref_losses = _run(_reference_train_step, model)
    assert losses == ref_losses  # the EMA is never read in training: bit for bit
    for k, v in PINNED[model].items():
        assert math.isclose(losses[0][k], v, rel_tol=1e-4), (k, losses[0][k], v)
    for a, b in zip(s.G.parameters(), ref.G.parameters()):
        assert torch.equal(a, b)
    # without the warm-up, the EMA generator is the one before, bit for bit
    off = dataclasses.replace(RECIPE, ema_warmup=False)
    s_off, _ = _run(train_step, model, off)
    for a, b in zip(s_off.G_ema.parameters(), ref.G_ema.parameters()):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(s.G_ema.parameters(), ref.G_ema.parameters()))


def test_the_warmup_ema_follows_its_schedule():
    s = _state("fastgan")
    recon, _ = build_recon_loss("l1", torch.device("cpu"))
    expected = copy.deepcopy(s.G_ema)
    for t in range(3):
        train_step(s, _images(), RECIPE, recon, torch.device("cpu"))
        update_ema(expected, s.G, (1 + t) / (10 + t))
    for a, b in zip(s.G_ema.parameters(), expected.parameters()):
        assert torch.equal(a, b)


def test_the_warmup_schedule_changes_nothing_late():
    r, off = RECIPE, dataclasses.replace(RECIPE, ema_warmup=False)
    assert r.ema_warmup and GANRecipe(name="x").ema_warmup
    assert ema_decay_at(r, 0) == pytest.approx(0.1) and ema_decay_at(r, 1000) == pytest.approx(1001 / 1010)
    assert ema_decay_at(r, 8989) < 0.999 == ema_decay_at(r, 8990) == ema_decay_at(r, 70_000)
    assert all(ema_decay_at(off, t) == 0.999 for t in (0, 1000, 70_000))
    share = math.prod(ema_decay_at(r, t) for t in range(1000))  # the initial weights' share at iteration 1,000
    assert share < 1e-20 < 0.999 ** 1000
    assert 0.999 ** (70_000 - 8990) < 1e-26  # the warm-up's trace in the EMA at paper length
