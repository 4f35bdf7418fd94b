"""Ridge and kernel ridge regression with the regularizer chosen on held-out data (chapter 7).

The one validation protocol of the book's baselines (the comparison the book sets beside
Allen-Zhu & Li (2019), Theorem 1; the paper has no experiments): a held-out fifth of the training
set (never the test set) picks the regularizer from a log-spaced grid relative to the Gram matrix's
mean eigenvalue, then the model is refitted on all ``N`` samples.  Used by :mod:`rnnlib.baselines`
(random features, the W-only NTK, linear ridge on the tokens) and by the headline study.
"""
from __future__ import annotations

import numpy as np

__all__ = ["RIDGE_GRID", "validation_split", "ridge_select", "kernel_ridge_select"]

#: Regularizers tried, relative to the mean eigenvalue (trace / size) of the Gram matrix.
RIDGE_GRID = tuple(float(v) for v in np.logspace(-7, 1, 17))


def validation_split(n: int, seed: int, frac: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, held_out)`` of a random split of ``n`` samples, ``frac`` held out (at least 1)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(frac * n)))
    if n - n_val < 1:
        raise ValueError(f"choosing a regularizer needs at least 2 training samples, got {n}")
    return perm[n_val:], perm[:n_val]


def ridge_select(F_train: np.ndarray, y_train: np.ndarray, F_test: np.ndarray, *, grid=RIDGE_GRID,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Ridge regression with an intercept; the regularizer is chosen on a held-out fifth.

    Args:
        F_train: features ``(n, p)``; y_train: targets ``(n, k)``; F_test: features ``(n_test, p)``.
        grid: regularizers relative to the mean eigenvalue of the (centred) feature Gram matrix.
        seed: seed of the held-out split.

    Returns:
        ``(pred_train, pred_test, reg)``: predictions ``(n, k)``, ``(n_test, k)`` and the chosen
        relative regularizer.
    """
    F_train = np.asarray(F_train, dtype=np.float64)
    F_test = np.asarray(F_test, dtype=np.float64)
    y_train = np.asarray(y_train, dtype=np.float64)
    if F_train.ndim != 2 or F_test.ndim != 2 or F_train.shape[1] != F_test.shape[1]:
        raise ValueError(f"F_train and F_test must be 2-d with the same number of columns, got "
                         f"{F_train.shape} and {F_test.shape}")
    if y_train.ndim != 2 or y_train.shape[0] != F_train.shape[0]:
        raise ValueError(f"y_train must have shape ({F_train.shape[0]}, k), got {y_train.shape}")

    def solve(F, y, Fs, rels):
        mu, ym = F.mean(axis=0), y.mean(axis=0)
        Fc = F - mu
        evals, evecs = np.linalg.eigh(Fc.T @ Fc)
        evals = np.clip(evals, 0.0, None)
        scale = max(evals.mean(), 1e-300)
        proj = evecs.T @ (Fc.T @ (y - ym))
        outs = []
        for r in rels:
            coef = evecs @ (proj / (evals + r * scale)[:, None])
            outs.append([(G - mu) @ coef + ym for G in Fs])
        return outs

    tr, va = validation_split(F_train.shape[0], seed)
    scores = [np.mean((p[0] - y_train[va]) ** 2)
              for p in solve(F_train[tr], y_train[tr], [F_train[va]], grid)]
    best = float(grid[int(np.argmin(scores))])
    pred_tr, pred_te = solve(F_train, y_train, [F_train, F_test], [best])[0]
    return pred_tr, pred_te, best


def kernel_ridge_select(K_train: np.ndarray, y_train: np.ndarray, K_test: np.ndarray, *, grid=RIDGE_GRID,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Kernel ridge regression (no intercept); the regularizer is chosen on a held-out fifth.

    Args:
        K_train: Gram matrix ``(n, n)``; y_train: ``(n, k)``; K_test: cross kernel ``(n_test, n)``.
        grid: regularizers relative to ``trace(K) / n``.

    Returns:
        ``(pred_train, pred_test, reg)``.
    """
    K_train = np.asarray(K_train, dtype=np.float64)
    K_test = np.asarray(K_test, dtype=np.float64)
    y_train = np.asarray(y_train, dtype=np.float64)
    n = K_train.shape[0]
    if K_train.shape != (n, n) or K_test.ndim != 2 or K_test.shape[1] != n:
        raise ValueError(f"K_train must be square (n, n) and K_test (n_test, n), got {K_train.shape} and "
                         f"{K_test.shape}")
    if y_train.ndim != 2 or y_train.shape[0] != n:
        raise ValueError(f"y_train must have shape ({n}, k), got {y_train.shape}")

    def solve(K, y, Ks, rels):
        evals, evecs = np.linalg.eigh(K)
        evals = np.clip(evals, 0.0, None)
        scale = max(np.trace(K) / K.shape[0], 1e-300)
        proj = evecs.T @ y
        outs = []
        for r in rels:
            alpha = evecs @ (proj / (evals + r * scale)[:, None])
            outs.append([G @ alpha for G in Ks])
        return outs

    tr, va = validation_split(n, seed)
    scores = [np.mean((p[0] - y_train[va]) ** 2)
              for p in solve(K_train[np.ix_(tr, tr)], y_train[tr], [K_train[np.ix_(va, tr)]], grid)]
    best = float(grid[int(np.argmin(scores))])
    pred_tr, pred_te = solve(K_train, y_train, [K_train, K_test], [best])[0]
    return pred_tr, pred_te, best
