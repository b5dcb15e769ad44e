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
