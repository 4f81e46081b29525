import numpy as np
import pytest
from PIL import Image

from generation import fidelity as metrics


def test_identical_images_compare_identical():
    image = Image.fromarray(np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    result = metrics.compare_pixels(image, image.copy())
    assert result.identical and result.max_diff == 0 and result.psnr is None


@pytest.mark.parametrize("size, changed, expected_diff", [
    (10, (110, 100, 100), 10),
    (8, (100, 100, 101), 1),  # "identical" means every byte equal: the smallest possible change is drift too
])
def test_one_changed_pixel_is_drift_with_figures(size, changed, expected_diff):
    a = Image.new("RGB", (size, size), (100, 100, 100))
    b = a.copy()
    b.putpixel((3, 3), changed)
    result = metrics.compare_pixels(a, b)
    assert not result.identical and result.max_diff == expected_diff
    # MSE = diff^2 / (3 * size^2) -> PSNR = 10 log10(255^2 * 3 * size^2 / diff^2)
    assert abs(result.psnr - 10 * np.log10(255**2 * 3 * size**2 / expected_diff**2)) < 1e-3


def test_fidelity_is_higher_for_a_close_image():
    rng = np.random.default_rng(2)
    source = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).resize((128, 128))
    near = Image.fromarray(np.clip(np.asarray(source, dtype=np.int16) + rng.integers(-10, 10, (128, 128, 3)), 0, 255).astype(np.uint8))
    far = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    ssim_near, hash_near = metrics.fidelity(source, near)
    ssim_far, hash_far = metrics.fidelity(source, far)
    assert ssim_near > ssim_far and hash_near < hash_far
    assert not metrics.has_drifted(ssim_near, hash_near) and metrics.has_drifted(ssim_far, hash_far)


def test_colour_difference_is_mean_ciede2000_from_0_to_100():
    black = np.zeros((64, 64, 3), dtype=np.uint8)
    half = black.copy()
    half[:32] = 255  # half the pixels white
    a = Image.fromarray(black)
    # CIEDE2000 between sRGB black (L* 0) and white (L* 100) is 100; identical images 0
    assert metrics.colour_difference(a, a) == 0.0
    assert metrics.colour_difference(a, Image.fromarray(np.full_like(black, 255))) == pytest.approx(100.0, abs=0.01)
    assert metrics.colour_difference(a, Image.fromarray(half)) == pytest.approx(50.0, abs=0.01)
    # a change of every tone by a few levels is still seen (no per-pixel threshold): mid-gray 120 -> 126 is ~2.4
    gray = np.full((512, 512, 3), 120, dtype=np.uint8)
    assert 1.5 < metrics.colour_difference(Image.fromarray(gray), Image.fromarray(gray + 6)) < 3.5
    assert metrics.colour_difference(a, Image.fromarray(black[:50])) is None
    # in graded words: below 1.0 (CIEDE2000's just-noticeable difference) not noticeable, then slight, clear, large
    from generation.observations import delta_e_words

    assert [delta_e_words(d) for d in (0.4, 0.99, 1.0, 4.9, 5.0, 9.9, 10.0, 40)] == [
        "not noticeable", "not noticeable", "slight", "slight", "clear", "clear", "large", "large"]
