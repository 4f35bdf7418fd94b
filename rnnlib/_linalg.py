"""Small linear-algebra helpers shared by the diagnostics of chapters 3 and 4 (spectral norms of W
and of the displacement W_T - W_0; Allen-Zhu & Li (2019), section 5, recalled)."""
from __future__ import annotations

import torch

__all__ = ["spectral_norm"]


@torch.no_grad()
def spectral_norm(M: torch.Tensor, *, rtol: float = 1e-7, max_steps: int = 200, seed: int = 0) -> float:
    """Largest singular value ``||M||_2`` by Golub-Kahan-Lanczos bidiagonalization.

    A full SVD costs ``O(m^3)`` and dominates a diagnostic at ``m = 2048``.  Lanczos needs
    two matrix-vector products per step (with full re-orthogonalization, so it is stable)
    and its top Ritz value converges quickly, even for Gaussian matrices whose largest
    singular values nearly coincide: a few dozen steps give a relative accuracy of about
    1e-7, and a nearly low-rank matrix such as an SGD displacement needs only a handful.
    Stops when the top Ritz value changes by less than ``rtol`` (relative) over four steps.
    """
    if M.dim() != 2:
        raise ValueError(f"M must be a matrix, got shape {tuple(M.shape)}")
    M = M.double()
    rows, cols = M.shape
    k_max = min(rows, cols, max_steps)
    if k_max <= 8:
        return float(torch.linalg.matrix_norm(M, ord=2))
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(cols, generator=gen, dtype=torch.float64)
    v /= v.norm()
    U = torch.zeros(k_max, rows, dtype=torch.float64)
    V = torch.zeros(k_max + 1, cols, dtype=torch.float64)
    V[0] = v
    alphas, betas = [], []
    beta = 0.0
    prev = 0.0
    top = 0.0
    for j in range(k_max):
        u = M @ V[j]
        if j > 0:
            u -= beta * U[j - 1]
            u -= U[:j].T @ (U[:j] @ u)  # full re-orthogonalization
        alpha = float(u.norm())
        if alpha == 0.0:
            break
        U[j] = u / alpha
        w = M.T @ U[j] - alpha * V[j]
        w -= V[: j + 1].T @ (V[: j + 1] @ w)
        beta = float(w.norm())
        alphas.append(alpha)
        betas.append(beta)
        if (j + 1) % 4 == 0 or beta == 0.0:
            k = len(alphas)
            Bk = torch.diag(torch.tensor(alphas, dtype=torch.float64))
            if k > 1:
                Bk += torch.diag(torch.tensor(betas[:-1], dtype=torch.float64), 1)
            top = float(torch.linalg.svdvals(Bk)[0])
            if beta == 0.0 or abs(top - prev) <= rtol * top:
                return top
            prev = top
        V[j + 1] = w / beta
    if len(alphas) == 0:
        return 0.0
    k = len(alphas)
    Bk = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if k > 1:
        Bk += torch.diag(torch.tensor(betas[:-1], dtype=torch.float64), 1)
    return float(torch.linalg.svdvals(Bk)[0])
