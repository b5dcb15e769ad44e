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
