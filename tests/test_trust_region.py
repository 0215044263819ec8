"""The one KL step: alpha = sqrt(2 max_kl / d^T F d), against a dense check."""

import numpy as np
import pytest

import ngd_lib as ngd


def test_kl_step_size_spends_the_budget(rng):
    A = rng.standard_normal((6, 6))
    F = A @ A.T + 0.1 * np.eye(6)
    g = rng.standard_normal(6)
    d = np.linalg.solve(F, g)
    alpha = ngd.kl_step_size(d, F @ d, 0.02)
    np.testing.assert_allclose(0.5 * (alpha * d) @ F @ (alpha * d), 0.02, rtol=1e-12)
    np.testing.assert_allclose(alpha, np.sqrt(2 * 0.02 / (g @ np.linalg.solve(F, g))),
                               rtol=1e-12)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_kl_step_size_does_not_overflow_at_extreme_scales(scale):
    d = np.array([scale, 0.0])
    alpha = ngd.kl_step_size(d, 4.0 * d, 0.5)
    assert alpha == pytest.approx(1.0 / (2.0 * scale), rel=1e-12)


@pytest.mark.parametrize("d, Fd, max_kl, match", [
    ([0.0, 0.0], [0.0, 0.0], 0.1, "zero vector"),
    ([1.0, 0.0], [-1.0, 0.0], 0.1, "must be positive"),
    ([1.0, 0.0], [1.0, 0.0, 0.0], 0.1, "shape"),
    ([1.0, 0.0], [1.0, 0.0], 0.0, "max_kl"),
    ([1.0, 0.0], [1.0, 0.0], -1.0, "max_kl"),
])
def test_kl_step_size_rejects_bad_input(d, Fd, max_kl, match):
    with pytest.raises(ValueError, match=match):
        ngd.kl_step_size(d, Fd, max_kl)
