import numpy as np
from PIL import Image

from generation import fidelity as metrics


def test_identical_images_compare_identical():
    image = Image.fromarray(np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    result = metrics.compare_pixels(image, image.copy())
    assert result.identical and result.max_diff == 0 and result.psnr is None


def test_one_changed_pixel_is_drift_with_figures():
    a = Image.new("RGB", (10, 10), (100, 100, 100))
    b = a.copy()
    b.putpixel((3, 3), (110, 100, 100))
    result = metrics.compare_pixels(a, b)
    assert not result.identical and result.max_diff == 10
    # MSE = 100 / 300 -> PSNR = 10 log10(255^2 / (1/3))
    assert abs(result.psnr - 10 * np.log10(255**2 * 3)) < 1e-3


def test_fidelity_is_higher_for_a_close_image():
    rng = np.random.default_rng(2)
    source = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).resize((128, 128))
    near = Image.fromarray(np.clip(np.asarray(source, dtype=np.int16) + rng.integers(-10, 10, (128, 128, 3)), 0, 255).astype(np.uint8))
    far = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    ssim_near, hash_near = metrics.fidelity(source, near)
    ssim_far, hash_far = metrics.fidelity(source, far)
    assert ssim_near > ssim_far and hash_near < hash_far
    assert not metrics.has_drifted(ssim_near, hash_near) and metrics.has_drifted(ssim_far, hash_far)


def test_changed_share_counts_pixels_moved_by_more_than_a_tenth_of_the_range():
    base = np.full((100, 100, 3), 120, dtype=np.uint8)
    moved = base.copy()
    moved[:10, :10, 1] += 26  # 100 pixels, one channel past 25 of 255
    moved[50:60, :20] += 25  # 200 pixels at exactly 25: not visible
    a, b = Image.fromarray(base), Image.fromarray(moved)
    assert metrics.changed_share(a, b) == 0.01
    assert metrics.changed_share(a, a) == 0.0
    assert metrics.changed_share(a, Image.fromarray(base[:50])) is None
