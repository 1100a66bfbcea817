"""A cascade of second-order IIR sections run as matrix products (numpy only, no scipy).

A recursive filter is serial sample by sample, which numpy cannot loop fast; written as a
state-space system ``s[n+1] = A s[n] + b u[n]``, ``y[n] = c s[n] + d u[n]`` it becomes block
linear algebra (the "block state" method):

1. the input is cut into blocks of ``B`` frames; each block's output is the response to its own
   input (a ``B × B`` lower-triangular Toeplitz product with the impulse response's first ``B``
   taps) plus the response to the state the block starts in (``B × n`` observability matrix);
2. the states at block starts obey the same kind of recursion one level up,
   ``s[j+1] = A^B s[j] + v[j]``, solved for ``G`` blocks at once by another matrix product;
3. only one state per ``B × G`` frames (1024 by default) is carried in a Python loop.

The state-space form is the cascade of the sections' own (transposed direct form II) states,
never the expanded high-order polynomial, so it is as well conditioned as the sections: for
BS.1770's K-weighting the output matches a sample-by-sample recursion to ~1e-12 of full scale.
State is kept between calls, so a signal may be fed in pieces of any length.
"""

from __future__ import annotations

import numpy as np

#: Frames per block (the Toeplitz product's size) and blocks per group (the state product's).
BLOCK, GROUP = 32, 32
#: Frames processed at once; a multiple of ``BLOCK × GROUP`` that keeps the work in cache.
_CHUNK = 1 << 14


def cascade_state_space(sos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(A, b, c, d) of a cascade of second-order sections ``sos`` (sections × 6: b0 b1 b2 a0 a1 a2).

    Shapes: A (2k × 2k), b (2k,), c (2k,), d scalar for k sections.
    """
    a_mat, b_vec, c_vec, d = np.zeros((0, 0)), np.zeros(0), np.zeros(0), 1.0
    for b0, b1, b2, a0, a1, a2 in np.asarray(sos, dtype=np.float64):
        b0, b1, b2, a1, a2 = b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0
        sec_a = np.array([[-a1, 1.0], [-a2, 0.0]])
        sec_b = np.array([b1 - a1 * b0, b2 - a2 * b0])
        sec_c = np.array([1.0, 0.0])
        n = len(a_mat)
        joined = np.zeros((n + 2, n + 2))
        joined[:n, :n] = a_mat
        joined[n:, :n] = np.outer(sec_b, c_vec)  # the section's input is the cascade so far's output
        joined[n:, n:] = sec_a
        a_mat, b_vec = joined, np.concatenate((b_vec, sec_b * d))
        c_vec, d = np.concatenate((b0 * c_vec, sec_c)), b0 * d
    return a_mat, b_vec, c_vec, float(d)


class BlockIIR:
    """A cascade of biquads over (channels, frames) float signals, state carried between calls.

    Parameters
    ----------
    sos : np.ndarray
        Second-order sections, shape (sections, 6), as ``scipy.signal.sosfilt`` takes them.
    channels : int
        Rows of every signal passed to :meth:`filter`.
    """

    def __init__(self, sos: np.ndarray, channels: int) -> None:
        a_mat, b_vec, c_vec, d = cascade_state_space(sos)
        n = self.order = len(a_mat)
        powers = [np.eye(n)]
        for _ in range(BLOCK):
            powers.append(a_mat @ powers[-1])
        self.powers = np.array(powers)  # A^k, k = 0 … BLOCK
        observe = np.array([c_vec @ powers[i] for i in range(BLOCK)])  # (BLOCK, n): y from the start state
        self.observe_t = np.ascontiguousarray(observe.T)
        taps = np.concatenate(([d], [c_vec @ powers[k - 1] @ b_vec for k in range(1, BLOCK)]))
        toeplitz = np.zeros((BLOCK, BLOCK))
        for i in range(BLOCK):
            toeplitz[i, : i + 1] = taps[i::-1]
        self.toeplitz_t = np.ascontiguousarray(toeplitz.T)
        #: (BLOCK, n): row j is A^(BLOCK−1−j) b, how input frame j of a block reaches its end state
        self.drive_t = np.array([powers[BLOCK - 1 - j] @ b_vec for j in range(BLOCK)])
        step = powers[BLOCK]
        steps = [np.eye(n)]
        for _ in range(GROUP):
            steps.append(step @ steps[-1])
        # state at the start of block j of a group (j = 0 … GROUP) from the blocks' drives v_i:
        # s_j = Σ_{i<j} M^(j−1−i) v_i, as row vectors times ``self.within``
        within = np.zeros((GROUP * n, (GROUP + 1) * n))
        for j in range(1, GROUP + 1):
            for i in range(j):
                within[i * n: (i + 1) * n, j * n: (j + 1) * n] = steps[j - 1 - i].T
        self.within = within
        self.carry = np.concatenate([m.T for m in steps], axis=1)  # (n, (GROUP+1)·n): M^j of the group's start state
        self.group_step_t = steps[GROUP].T
        self.state = np.zeros((channels, n))

    def filter(self, samples: np.ndarray) -> np.ndarray:
        """The filtered ``samples`` (channels × frames), float64, continuing from the last call."""
        frames = samples.shape[1]
        out = np.empty((samples.shape[0], frames), dtype=np.float64)
        for start in range(0, frames, _CHUNK):
            out[:, start: start + _CHUNK] = self._chunk(samples[:, start: start + _CHUNK])
        return out

    def _chunk(self, samples: np.ndarray) -> np.ndarray:
        channels, count = samples.shape
        n, span = self.order, BLOCK * GROUP
        padded = -(-count // span) * span
        blocks, groups = padded // BLOCK, padded // span
        inputs = np.zeros((channels, padded), dtype=np.float64)
        inputs[:, :count] = samples
        inputs = inputs.reshape(channels, blocks, BLOCK)
        drives = inputs @ self.drive_t  # (channels, blocks, n)
        local = drives.reshape(channels, groups, GROUP * n) @ self.within  # zero-start states
        state = self.state
        starts = np.empty((channels, groups, n))
        for g in range(groups):
            starts[:, g] = state
            state = state @ self.group_step_t + local[:, g, GROUP * n:]
        states = local[..., : GROUP * n] + starts @ self.carry[:, : GROUP * n]
        states = states.reshape(channels, blocks, n)
        outputs = states @ self.observe_t
        outputs += inputs @ self.toeplitz_t
        if count == padded:
            self.state = state
        else:
            block, rest = divmod(count, BLOCK)
            end = states[:, block]
            if rest:
                end = end @ self.powers[rest].T + inputs[:, block, :rest] @ self.drive_t[BLOCK - rest:]
            self.state = end
        return outputs.reshape(channels, padded)[:, :count]
