"""Every Pillow mode decodes to the right 8-bit RGB or grey (benchmark/data/images.py)."""

import numpy as np
import pytest
from PIL import Image

from benchmark.data.images import load_image
from benchmark.errors import UserError

GRADIENT = np.linspace(0, 1, 16 * 16).reshape(16, 16)


def _save(tmp_path, name, img, **kw):
    path = tmp_path / name
    img.save(path, **kw)
    return path


def test_16_bit_png_is_scaled_not_clipped_to_white(tmp_path):
    path = _save(tmp_path, "g16.png", Image.fromarray((GRADIENT * 65535).astype(np.uint16)))
    assert Image.open(path).mode in ("I;16", "I")
    out = np.asarray(load_image(path, "L")).astype(float)
    assert out.mean() == pytest.approx(127.5, abs=2)  # clipping gave ~254 (almost all white)
    np.testing.assert_allclose(out, GRADIENT * 255, atol=1)
    assert np.asarray(load_image(path, "RGB")).shape == (16, 16, 3)


def test_32_bit_integer_and_float_images(tmp_path):
    i32 = _save(tmp_path, "i32.tif", Image.fromarray((GRADIENT * 65535).astype(np.int32), "I"))
    assert np.asarray(load_image(i32, "L")).astype(float).mean() == pytest.approx(127.5, abs=2)
    f01 = _save(tmp_path, "f01.tif", Image.fromarray(GRADIENT.astype(np.float32), "F"))
    np.testing.assert_allclose(np.asarray(load_image(f01, "L")).astype(float), GRADIENT * 255, atol=1)
    wide = _save(tmp_path, "fwide.tif", Image.fromarray((GRADIENT * 1000 - 500).astype(np.float32), "F"))
    out = np.asarray(load_image(wide, "L"))
    assert out.min() == 0 and out.max() == 255  # any other range: min-max


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 200  # red where opaque; the transparent half holds black, which must not show
    rgba[:, :4, 3] = 255
    path = _save(tmp_path, "rgba.png", Image.fromarray(rgba, "RGBA"))
    out = np.asarray(load_image(path, "RGB"))
    assert (out[:, :4] == (200, 0, 0)).all() and (out[:, 4:] == 255).all()
    la = np.stack([np.full((8, 8), 40, np.uint8), np.where(np.arange(8) < 4, 255, 0).astype(np.uint8)[None]
                   .repeat(8, 0)], -1)
    out = np.asarray(load_image(_save(tmp_path, "la.png", Image.fromarray(la, "LA")), "L"))
    assert (out[:, :4] == 40).all() and (out[:, 4:] == 255).all()


def test_palette_with_transparency(tmp_path):
    p = Image.new("P", (8, 8), 0)
    p.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    p.paste(1, (0, 0, 4, 8))
    path = _save(tmp_path, "p.png", p, transparency=0)
    out = np.asarray(load_image(path, "RGB"))
    assert (out[:, :4] == (10, 200, 30)).all() and (out[:, 4:] == 255).all()


def test_cmyk_one_bit_and_grey_to_rgb(tmp_path):
    cmyk = _save(tmp_path, "c.jpg", Image.new("CMYK", (8, 8), (0, 255, 255, 0)), quality=100)
    r, g, b = np.asarray(load_image(cmyk, "RGB")).reshape(-1, 3).mean(0)
    assert r > 200 and g < 60 and b < 60  # pure red
    bits = Image.new("1", (8, 8), 0)
    bits.paste(1, (0, 0, 4, 8))
    out = np.asarray(load_image(_save(tmp_path, "b.png", bits), "L"))
    assert set(np.unique(out)) == {0, 255}
    grey = _save(tmp_path, "l.png", Image.new("L", (4, 4), 77))
    assert (np.asarray(load_image(grey, "RGB")) == 77).all()


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((4, 8, 3), np.uint8)  # landscape 8x4, the left half white
    arr[:, :4] = 255
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    path = _save(tmp_path, "rot.jpg", img, exif=exif, quality=100)
    out = load_image(path, "RGB")
    assert out.size == (4, 8)
    top = np.asarray(out)[:4].mean()
    assert top > 200  # after rotating clockwise, the white left half is on top


def test_decompression_bomb_and_junk_are_user_errors_naming_the_file(tmp_path, monkeypatch):
    from benchmark.data import images

    big = _save(tmp_path, "big.png", Image.new("L", (64, 64)))
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    with pytest.raises(UserError, match="big.png.*over the limit"):
        load_image(big)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    with pytest.raises(UserError, match="junk.png"):
        load_image(junk)


def test_few_shot_folder_reads_16_bit_pngs_correctly(tmp_path):
    from benchmark.data.few_shot import image_folder_flat

    for i in range(2):
        _save(tmp_path, f"{i}.png", Image.fromarray((GRADIENT * 65535).astype(np.uint16)))
    x = image_folder_flat(tmp_path, 16, channels=1).images
    assert x.shape == (2, 1, 16, 16) and x.float().mean() == pytest.approx(127.5, abs=3)
