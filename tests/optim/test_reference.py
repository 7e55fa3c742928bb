"""Our optimizers against torch.optim, pytorch-optimizer and schedulefree, step by step.

Every comparison runs 100 steps on a random quadratic in float64 on both sides
and requires the trajectories to agree to 1e-6.
"""
import numpy as np
import pytest

import workbench as wb

torch = pytest.importorskip("torch")
pytorch_optimizer = pytest.importorskip("pytorch_optimizer")
schedulefree = pytest.importorskip("schedulefree")

STEPS = 100


@pytest.fixture(scope="module")
def quadratic():
    return wb.problems.quadratic(dim=12, condition=30.0, distance=3.0, seed=5)


def torch_trajectory(problem, make_optimizer, steps=STEPS, train_mode=False):
    H = torch.as_tensor(problem.H if problem.H.ndim == 2 else np.diag(problem.H))
    xs = torch.as_tensor(problem.x_star)
    p = torch.nn.Parameter(torch.as_tensor(problem.x0.copy()))
    opt = make_optimizer([p])
    if train_mode:
        opt.train()
    out = [p.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        d = p - xs
        (0.5 * d @ (H @ d)).backward()
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


def our_trajectory(problem, method, steps=STEPS, point=lambda state: state.x):
    state = method.init(problem)
    out = [point(state).copy()]
    for _ in range(steps):
        state = method.step(problem, state)
        out.append(point(state).copy())
    return np.array(out)


CASES = {
    "adam": (lambda: wb.optim.Adam(lr=0.05, kernel="numpy"),
             lambda p: torch.optim.Adam(p, lr=0.05)),
    "adam_l2_amsgrad": (lambda: wb.optim.Adam(lr=0.05, weight_decay=0.1, amsgrad=True),
                        lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.1, amsgrad=True)),
    "adam_numba_kernel": (lambda: wb.optim.Adam(lr=0.05, weight_decay=0.1, kernel="numba"),
                          lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.1)),
    "adamw_numba_kernel": (lambda: wb.optim.AdamW(lr=0.05, weight_decay=0.1, kernel="numba"),
                           lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1)),
    "adamw": (lambda: wb.optim.AdamW(lr=0.05, weight_decay=0.1, kernel="numpy"),
              lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1)),
    "heavy_ball": (lambda: wb.optim.HeavyBall(lr=0.1, momentum=0.8),
                   lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8)),
    "nesterov": (lambda: wb.optim.Nesterov(lr=0.1, momentum=0.8),
                 lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True)),
    "adan": (lambda: wb.optim.Adan(lr=0.05),
             lambda p: pytorch_optimizer.Adan(p, lr=0.05, foreach=False)),
    "adan_decay": (lambda: wb.optim.Adan(lr=0.05, weight_decay=0.1),
                   lambda p: pytorch_optimizer.Adan(p, lr=0.05, weight_decay=0.1, foreach=False)),
    "lion": (lambda: wb.optim.Lion(lr=0.01, weight_decay=0.1),
             lambda p: pytorch_optimizer.Lion(p, lr=0.01, weight_decay=0.1, foreach=False)),
    "diffgrad": (lambda: wb.optim.DiffGrad(lr=0.05),
                 lambda p: pytorch_optimizer.DiffGrad(p, lr=0.05, foreach=False)),
    "adan_numba_kernel": (lambda: wb.optim.Adan(lr=0.05, weight_decay=0.1, kernel="numba"),
                          lambda p: pytorch_optimizer.Adan(p, lr=0.05, weight_decay=0.1, foreach=False)),
    "lion_numba_kernel": (lambda: wb.optim.Lion(lr=0.01, weight_decay=0.1, kernel="numba"),
                          lambda p: pytorch_optimizer.Lion(p, lr=0.01, weight_decay=0.1, foreach=False)),
    "diffgrad_numba_kernel": (lambda: wb.optim.DiffGrad(lr=0.05, kernel="numba"),
                              lambda p: pytorch_optimizer.DiffGrad(p, lr=0.05, foreach=False)),
    "prodigy_numba_kernel": (lambda: wb.optim.Prodigy(kernel="numba"),
                             lambda p: pytorch_optimizer.Prodigy(p, foreach=False)),
    "prodigy": (lambda: wb.optim.Prodigy(),
                lambda p: pytorch_optimizer.Prodigy(p, foreach=False)),
    "d_adaptation": (lambda: wb.optim.DAdaptation(),
                     lambda p: pytorch_optimizer.DAdaptSGD(p, foreach=False)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_reference_trajectory(quadratic, case):
    ours, theirs = CASES[case]
    a = our_trajectory(quadratic, ours())
    b = torch_trajectory(quadratic, theirs)
    assert np.linalg.norm(a[-1] - a[0]) > 1e-2  # the comparison is not vacuous
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize("which", ["sgd", "adamw", "adamw_numba_kernel"])
def test_schedule_free_matches_reference(quadratic, which):
    if which == "adamw_numba_kernel":
        ours = wb.optim.ScheduleFreeAdamW(lr=0.05, weight_decay=0.01, kernel="numba")
        ref = lambda p: schedulefree.AdamWScheduleFreeReference(p, lr=0.05, weight_decay=0.01)  # noqa: E731
    elif which == "sgd":
        ours = wb.optim.ScheduleFreeSGD(lr=0.5, momentum=0.9, weight_decay=0.01)
        ref = lambda p: schedulefree.SGDScheduleFreeReference(p, lr=0.5, momentum=0.9, weight_decay=0.01)  # noqa: E731
    else:
        ours = wb.optim.ScheduleFreeAdamW(lr=0.05, weight_decay=0.01)
        ref = lambda p: schedulefree.AdamWScheduleFreeReference(p, lr=0.05, weight_decay=0.01)  # noqa: E731
    # The reference's parameter holds y (the gradient point); compare y step by step.
    a = our_trajectory(quadratic, ours, point=lambda s: s.buffers["y"])
    b = torch_trajectory(quadratic, ref, train_mode=True)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_shampoo_step_matches_matrix_roots():
    from scipy.linalg import fractional_matrix_power

    prob = wb.problems.matrix_sensing(n=6, rank=2, k=3, symmetric=False, init_scale=0.5)
    method = wb.optim.Shampoo(lr=0.1, eps=1e-3)
    state = method.init(prob)
    x0, g = state.x.copy(), state.grad.copy()
    state = method.step(prob, state)
    expected = []
    for G in (g[:18].reshape(6, 3), g[18:].reshape(6, 3)):
        L = 1e-3 * np.eye(6) + G @ G.T
        R = 1e-3 * np.eye(3) + G.T @ G
        expected.append(np.real(fractional_matrix_power(L, -0.25) @ G @ fractional_matrix_power(R, -0.25)))
    np.testing.assert_allclose(state.x, x0 - 0.1 * np.concatenate([e.ravel() for e in expected]), atol=1e-9)
