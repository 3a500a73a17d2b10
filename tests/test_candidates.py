import numpy as np
import torch

from detectors.candidates import box_to_image, combine_candidates, crop_box, normalise_to_box, sample_candidates


def gaussian_map(h, w, cx, cy, sigma, peak=1.0):
    yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    return peak * torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))


def test_peak_first_and_samples_follow_map():
    heat = torch.stack([gaussian_map(64, 64, 20.3, 40.0, 2.0), gaussian_map(64, 64, 50.0, 10.0, 4.0)])
    g = torch.Generator().manual_seed(0)
    xy, lik = sample_candidates(heat, 2000, generator=g)
    assert xy.shape == (2, 2000, 2) and lik.shape == (2, 2000)
    assert abs(xy[0, 0, 0].item() - 20.3) < 0.3 and abs(xy[0, 0, 1].item() - 40.0) < 0.1
    # Sample spread follows sigma (cell jitter adds 1/12 variance).
    std = xy[1, 1:].std(0)
    assert torch.allclose(std, torch.tensor([4.0, 4.0]), atol=0.4)
    assert torch.allclose(xy[1, 1:].mean(0), torch.tensor([50.0, 10.0]), atol=0.4)
    assert (lik[:, 0] >= lik[:, 1:].max(1).values - 1e-6).all()


def test_seeded_sampling_is_deterministic_and_flat_map_is_uniform():
    heat = torch.zeros(1, 3, 64, 64)
    a = sample_candidates(heat, 32, generator=torch.Generator().manual_seed(3))
    b = sample_candidates(heat, 32, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    xy, _ = sample_candidates(heat, 4000, generator=torch.Generator().manual_seed(1))
    assert xy[..., 1:, :].mean().item() == torch.tensor(31.5).item() or abs(xy[..., 1:, :].mean().item() - 31.5) < 1.0


def test_combine_midpoint_pairs_candidates():
    xy = torch.tensor([[[0.0, 0.0], [2.0, 2.0]], [[4.0, 0.0], [6.0, 2.0]]])  # 2 sources, 2 candidates
    lik = torch.tensor([[1.0, 0.25], [0.25, 1.0]])
    out_xy, out_lik = combine_candidates(xy, lik, np.array([[0.5, 0.5]]))
    assert torch.allclose(out_xy[0], torch.tensor([[2.0, 0.0], [4.0, 2.0]]))
    assert torch.allclose(out_lik[0], torch.tensor([0.5, 0.5]))


def test_box_normalisation_roundtrip():
    pts = np.array([[10.0, 20.0], [30.0, 60.0]])
    box = crop_box(pts, scale=1.0)
    assert np.allclose(box, [20.0, 40.0, 40.0])
    n = normalise_to_box(pts, box)
    assert np.allclose(n, [[-0.5, -1.0], [0.5, 1.0]])
    tb = crop_box(torch.tensor(pts)[None], scale=1.0)
    assert torch.allclose(normalise_to_box(torch.tensor(pts)[None, :, None, :], tb)[0, :, 0], torch.tensor(n))
    assert np.allclose(box_to_image(n, box), pts)                                    # and back to image px
    assert torch.allclose(box_to_image(torch.tensor(n)[None, :, None, :], tb)[0, :, 0], torch.tensor(pts))
