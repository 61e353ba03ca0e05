"""Helpers shared by the benchmark scripts: the load meter and the synthetic data sets."""

import os

import numpy as np
import scipy.sparse as sp


class LoadMeter:
    """Fraction of all CPUs used by *other* processes between start() and stop(): the busy
    jiffies of /proc/stat minus this process's (and its finished children's) CPU time. On 2
    cores any other load skews every timing; the tables record it."""

    def start(self):
        self._t = self._snap()
        return self

    @staticmethod
    def _snap():
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        hz = os.sysconf("SC_CLK_TCK")
        t = os.times()
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        own = t.user + t.system + t.children_user + t.children_system
        return sum(v), sum(v) - idle, own * hz

    def stop(self):
        end = self._snap()
        if self._t is None or end is None:
            return None
        total = end[0] - self._t[0]
        other = (end[1] - self._t[1]) - (end[2] - self._t[2])
        return max(0.0, other / max(total, 1))


# --------------------------------------------------------------------------- data

def dense_uniform(m, n, seed):
    return np.random.default_rng(seed).random((m, n))


def dense_planted(m, n, k, seed, noise=0.1):
    """W H (rank k, uniform factors) plus `noise` times its mean in uniform noise."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n))
    X += noise * X.mean() * rng.random((m, n))
    return X


def corpus(m, n, nnz, n_topics, seed, zipf=1.07):
    """A corpus-like sparse term-document matrix (m words x n documents, CSC): each document
    draws power-law many tokens (Pareto lengths), 80 % from its own topic and 20 % from the
    background; every topic (and the background) is a Zipf law over its own permutation of
    the vocabulary. Entries are 1 + log(count). About `nnz` nonzeros."""
    rng = np.random.default_rng(seed)
    z = 1.0 / np.arange(1, m + 1) ** zipf
    z /= z.sum()
    perms = np.empty((n_topics + 1, m), dtype=np.int32)
    for t in range(n_topics + 1):
        perms[t] = rng.permutation(m)
    topic = rng.integers(0, n_topics, n)
    lengths = rng.pareto(1.5, n) + 1.0

    def draw(n_tokens):
        per_doc = np.maximum(1, np.round(lengths / lengths.sum() * n_tokens)).astype(np.int64)
        doc = np.repeat(np.arange(n, dtype=np.int64), per_doc)
        ranks = rng.choice(m, size=doc.size, p=z)
        own = rng.random(doc.size) < 0.8
        t = np.where(own, topic[doc], n_topics)
        word = perms[t, ranks]
        del ranks, own, t
        M = sp.csc_matrix((np.ones(doc.size), (word, doc)), shape=(m, n))
        M.sum_duplicates()
        return M

    tokens = int(nnz * 1.3)
    M = draw(tokens)
    for _ in range(2):  # rescale the token count towards the wanted nonzeros
        if abs(M.nnz - nnz) < 0.03 * nnz:
            break
        tokens = int(tokens * (nnz / max(M.nnz, 1)) ** 1.3)
        del M
        M = draw(tokens)
    M.data = 1.0 + np.log(M.data)
    return M
