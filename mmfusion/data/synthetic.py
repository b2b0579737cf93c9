"""`dataset=synthetic`: paired (text, series) samples generated in-process from the seed.

Text: short reports whose words come from a class vocabulary with probability `text_signal`, else
from a vocabulary shared by all classes; neighbouring classes share part of their vocabulary, so the
text alone is informative but imperfect. Series: F variables x T steps of AR(1) noise plus a
class-specific oscillation (its own frequency and its own loading on each variable) of amplitude
`series_signal`, and a class-specific drift on one variable.
"""

from __future__ import annotations

import copy

import numpy as np

from mmfusion.arrays import chunk_rows
from mmfusion.data.dataset import Dataset
from mmfusion.data.pairing import cv_settings, make_dataset

_SYLLABLES = ["ka", "lo", "mi", "ren", "tu", "sa", "vel", "dor", "pi", "gan", "zu", "fe", "mor", "ti"]


def _words(rng: np.random.Generator, n: int, prefix: str) -> list[str]:
    return [prefix + "".join(rng.choice(_SYLLABLES, size=2)) + str(i) for i in range(n)]


def generate_texts(y: np.ndarray, q: int, cfg, rng: np.random.Generator) -> np.ndarray:
    class_vocab = [_words(rng, cfg.class_words, f"c{k}") for k in range(q)]
    shared = _words(rng, cfg.shared_words, "w")
    lo, hi = cfg.text_length
    texts = []
    for label in y:
        own = class_vocab[label]
        # a third of a class's words also belong to the next class: the vocabularies overlap
        neighbour = class_vocab[(label + 1) % q][: max(1, cfg.class_words // 3)]
        pool = own + neighbour
        n = int(rng.integers(lo, hi + 1))
        use_class = rng.random(n) < cfg.text_signal
        words = [pool[rng.integers(len(pool))] if c else shared[rng.integers(len(shared))] for c in use_class]
        texts.append(" ".join(words))
    return np.asarray(texts, dtype=object)


def generate_series(y: np.ndarray, q: int, cfg, rng: np.random.Generator) -> np.ndarray:
    """(n, T, F) float32, built chunk by chunk (working memory ~CHUNK_BYTES, not 4 float64 copies);
    the values are those of the whole-array recipe, draw for draw: all noise first, then the phases."""
    n, t, f = len(y), cfg.series_length, cfg.series_variables
    freqs = rng.uniform(1.0, 6.0, size=q)  # cycles per series, one per class
    loadings = rng.normal(size=(q, f))
    drift_var = rng.integers(f, size=q)
    steps = np.arange(t) / t
    step = chunk_rows((n, t, f))
    noise_rng = copy.deepcopy(rng)  # replays the noise draws below, after the phases are known
    for s in range(0, n, step):  # advance past the noise draws, as one (n, t, f) draw would
        rng.normal(size=(min(step, n - s), t, f))
    phase = rng.uniform(0, 2 * np.pi, size=n)
    out = np.empty((n, t, f), dtype=np.float32)
    for s in range(0, n, step):
        e = min(n, s + step)
        eps = noise_rng.normal(size=(e - s, t, f))
        noise = np.zeros_like(eps)
        for i in range(1, t):  # AR(1) noise, phi = 0.7, unit stationary variance
            noise[:, i] = 0.7 * noise[:, i - 1] + np.sqrt(1 - 0.49) * eps[:, i]
        yk = y[s:e]
        osc = np.sin(2 * np.pi * freqs[yk][:, None] * steps[None, :] + phase[s:e, None])  # (chunk, t)
        x = noise + cfg.series_signal * osc[:, :, None] * loadings[yk][:, None, :]
        x[np.arange(e - s), :, drift_var[yk]] += cfg.series_signal * steps[None, :]
        out[s:e] = x
    return out


def build(cfg, modalities=None) -> Dataset:
    """Both modalities, whichever `modalities` asks for (generating them takes milliseconds). `cfg` is
    checked (mmfusion/schemas/check/: at least 2 classes, 3 samples of each)."""
    q = len(cfg.classes)
    rng = np.random.default_rng(cfg.seed)
    y = np.repeat(np.arange(q), cfg.samples_per_class)
    rng.shuffle(y)
    text_rng, series_rng = (np.random.default_rng(s) for s in rng.integers(2**31, size=2))
    x = {"text": generate_texts(y, q, cfg, text_rng), "series": generate_series(y, q, cfg, series_rng)}
    ids = np.asarray([f"syn-{i:05d}" for i in range(len(y))])
    info = {"source": "synthetic", "series_variables": [f"v{j + 1}" for j in range(cfg.series_variables)]}
    return make_dataset(
        list(cfg.classes), x, y, ids, cfg.test_fraction, cfg.val_fraction, cfg.seed, info, cv=cv_settings(cfg)
    )
