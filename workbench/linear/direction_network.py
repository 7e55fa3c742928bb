r"""The network behind learned CG directions: a small multi-scale CNN that maps a residual to
an approximation of :math:`A^{-1} r` (up to scale) for the 2-D 5-point Laplacian, its
unsupervised training, and the weights shipped with the package.

torch is imported inside the functions here (``import workbench.linear`` stays light).

The loss needs no solved systems. For a residual :math:`r` and the network's output
:math:`f = N_\theta(r)`, the best multiple of :math:`A f` leaves the relative error

.. math::
    \min_c \frac{\|r - c A f\|^2}{\|r\|^2} = 1 - \frac{(r^T A f)^2}{\|r\|^2 \|A f\|^2},

zero exactly when :math:`f \propto A^{-1} r` (Kaneda et al., 2023, who train on
``||r - A N(r)||`` up to scale). Training residuals are random combinations of the
Laplacian's eigenvectors with weights :math:`\lambda^{-1/2}`, so the slow modes CG
struggles with dominate, as they do in the residuals of a run.
"""
from __future__ import annotations

import functools
import math
import threading
from pathlib import Path

import numpy as np

from ..core import WorkbenchError

__all__ = ["DirectionNet", "build_network", "train_direction_network", "load_direction_network", "save_direction_network",
           "direction_loss", "training_residuals", "SHIPPED_WEIGHTS"]

#: Weights shipped with the package: ``train_direction_network(n=32, steps=800, seed=0)``.
SHIPPED_WEIGHTS = Path(__file__).resolve().parents[1] / "data" / "dcdm_poisson2d.pt"


def _torch():
    try:
        import torch
    except ImportError:
        raise WorkbenchError("learned CG directions need torch: pip install torch==2.13.0 "
                             "(the CPU wheel), then install workbench[torch].") from None
    return torch


@functools.lru_cache(maxsize=None)
def _direction_net_class():
    """``DirectionNet``, made on first use (its base class is torch's): a module attribute
    through ``__getattr__``, so that pickle and ``torch.save`` find it by name."""
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    class DirectionNet(nn.Module):
        """U-Net-like CNN from a residual image to a direction image (see :func:`build_network`)."""

        def __init__(self, channels: int = 16, levels: int = 3):
            super().__init__()
            self.channels, self.levels = channels, levels
            self.inp = nn.Conv2d(1, channels, 3, padding=1)
            self.down = nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1) for _ in range(levels)])
            self.mid = nn.Conv2d(channels, channels, 3, padding=1)
            self.up = nn.ModuleList([nn.Conv2d(2 * channels, channels, 3, padding=1) for _ in range(levels)])
            self.out = nn.Conv2d(channels, 1, 3, padding=1)

        def forward(self, r):
            h = F.elu(self.inp(r))
            skips = []
            for conv in self.down:
                h = F.elu(conv(h))
                skips.append(h)
                if min(h.shape[-2:]) >= 2:  # (a coarse level of a small grid stays as it is)
                    h = F.avg_pool2d(h, 2)
            h = F.elu(self.mid(h))
            for conv, skip in zip(self.up, reversed(skips)):
                h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
                h = F.elu(conv(torch.cat([h, skip], 1)))
            return self.out(h)

    DirectionNet.__module__ = __name__
    DirectionNet.__qualname__ = "DirectionNet"
    return DirectionNet


def __getattr__(name):
    if name == "DirectionNet":
        return _direction_net_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_network(channels: int = 16, levels: int = 3):
    """A U-Net-like CNN: ``levels`` halvings with skip connections, ELU activations, one
    channel in and out. Fully convolutional, so one trained at 32 x 32 runs on any grid."""
    return _direction_net_class()(channels, levels)


def laplacian_apply(u):
    """The 5-point Laplacian (diagonal 4, zero Dirichlet boundary) on a batch ``(B, 1, n, m)``."""
    torch = _torch()
    kernel = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]], dtype=u.dtype).view(1, 1, 3, 3)
    return torch.nn.functional.conv2d(u, kernel, padding=1)


def direction_loss(r, f):
    r""":math:`1 - (r^T A f)^2 / (\|r\|^2 \|A f\|^2)` per sample, averaged (A the Laplacian)."""
    Af = laplacian_apply(f)
    rAf = (r * Af).flatten(1).sum(1)
    return (1.0 - rAf ** 2 / ((r * r).flatten(1).sum(1) * (Af * Af).flatten(1).sum(1) + 1e-30)).mean()


def training_residuals(n: int, batch: int, generator):
    r"""``batch`` unit residuals on an ``n x n`` grid: eigenvector combinations weighted by
    :math:`\lambda_{kl}^{-1/2}` (the sine modes of the Dirichlet Laplacian), float32."""
    torch = _torch()
    k = torch.arange(1, n + 1, dtype=torch.float64)
    S = torch.sin(math.pi * k[:, None] * k[None, :] / (n + 1))  # mode k at point i
    lam1 = 2.0 - 2.0 * torch.cos(math.pi * k / (n + 1))
    weights = (lam1[:, None] + lam1[None, :]) ** -0.5
    c = torch.randn(batch, n, n, generator=generator, dtype=torch.float64) * weights
    r = torch.einsum("bkl,ki,lj->bij", c, S, S)
    r = r / r.flatten(1).norm(dim=1)[:, None, None]
    return r[:, None].float()


def train_direction_network(n: int = 32, steps: int = 800, batch: int = 32, lr: float = 2e-3, seed: int = 0,
                            channels: int = 16, levels: int = 3, progress: bool = False):
    """Train a :func:`build_network` unsupervised on ``n x n`` Poisson residuals (Adam).

    Returns ``(network, losses)``: the trained module (in eval mode) and the loss of each step.

    Examples
    --------
    >>> from workbench.linear.direction_network import train_direction_network
    >>> net, losses = train_direction_network(n=8, steps=30, batch=8)
    >>> bool(losses[-1] < 0.5 * losses[0])
    True
    """
    torch = _torch()
    if n < 2 or steps < 1 or batch < 1:
        from ..core import InvalidParameter

        raise InvalidParameter(f"training needs n >= 2, steps >= 1 and batch >= 1; got {n}, {steps}, {batch}.")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = build_network(channels, levels)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps, desc=f"training directions on {n}x{n}", unit="step")
    for _ in range(steps):
        r = training_residuals(n, batch, generator)
        loss = direction_loss(r, net(r))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.2e}", refresh=False)
    if bar is not None:
        bar.close()
    net.eval()
    return net, np.array(losses)


def save_direction_network(net, path) -> Path:
    """Write the network's size and weights to ``path`` (a torch file)."""
    torch = _torch()
    if not isinstance(net, _direction_net_class()):
        from ..core import InvalidParameter

        raise InvalidParameter(f"save_direction_network saves the networks build_network makes, not a "
                               f"{type(net).__name__}; save your own with torch.save(net, path).")
    path = Path(path)
    try:
        torch.save({"channels": net.channels, "levels": net.levels, "state": net.state_dict()}, path)
    except OSError as exc:
        from ..core import InvalidParameter

        raise InvalidParameter(f"cannot write {str(path)!r}: {exc.strerror or exc}; choose a path you can "
                               "write.") from None
    return path


_LOADED: dict = {}  #: path -> (mtime, saved dict): the file read once, a fresh module per call
_LOCK = threading.Lock()


def load_direction_network(path=None):
    """A fresh module (eval mode) with the network saved at ``path`` (default: the shipped weights).

    The file is read once per path and modification time; every call builds its own module,
    so changing one (fine-tuning, ``.train()``) leaves the others, and the default, alone.
    """
    from ..core import MalformedInput

    torch = _torch()
    if path is not None and not isinstance(path, (str, Path)):
        raise MalformedInput(f"a direction network's path is a file name, not a {type(path).__name__}.")
    path = Path(path) if path is not None else SHIPPED_WEIGHTS
    with _LOCK:
        try:
            mtime = path.stat().st_mtime
            cached = _LOADED.get(str(path))
            if cached is None or cached[0] != mtime:
                _LOADED[str(path)] = (mtime, torch.load(path, weights_only=True))
            saved = _LOADED[str(path)][1]
            net = build_network(int(saved["channels"]), int(saved["levels"]))
            net.load_state_dict(saved["state"])
        except Exception as exc:  # (torch raises UnpicklingError, RuntimeError, EOFError ... on a bad file)
            _LOADED.pop(str(path), None)
            # (torch's own message for a foreign file suggests weights_only=False, which would run
            # whatever the file holds: not advice to pass on)
            reason = "no such file" if isinstance(exc, FileNotFoundError) else type(exc).__name__
            raise MalformedInput(f"cannot read a direction network from {str(path)!r} ({reason}): it is not a "
                                 "file save_direction_network(net, path) wrote; save one with it.") from None
    net.eval()
    return net
