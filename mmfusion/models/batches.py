"""Batches streamed to Keras from data held once (in memory or memory-mapped).

`Batches` cuts a split into batches: each gathers its rows from a `store.Rows` view (or an array),
applies the model's per-batch transform (e.g. z-scoring) and hands float32 to Keras, so no transformed
copy of the whole split exists. With a `shuffle_seed` the rows are reshuffled every epoch from
`numpy.random.default_rng([shuffle_seed, epoch])`: the same seed gives the same batches, and
`start_at(epoch)` continues a resumed training with the orders the uninterrupted one would have used.
Training epoch e (counted from 0) uses the order of `epoch` e + 1: Keras' `fit` calls a PyDataset's
`on_epoch_end` once before its first epoch, so that is the order earlier versions, which handed
Keras the PyDataset itself, trained on; keeping it keeps their numbers.

Training is given `Batches.dataset(epochs)`: a `tf.data` pipeline over the batches of every remaining
epoch, one after another (fit it with `steps_per_epoch=num_batches`), in which the same NumPy code
builds each batch (`tf.numpy_function`) while the network trains on the previous one (prefetch).
When the batch size divides the split, every batch has the same, static shape, as Keras gives a NumPy
array input: a recurrent network then costs 10-15% less CPU per epoch than with the unknown batch
dimension of a `keras.utils.PyDataset` (measured: README, Scaling). Validation and prediction are
given `Batches` itself, a `PyDataset` (a new tf.data iterator per evaluation would build its batches
in a new thread, each keeping freed batches in its own malloc arena).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from mmfusion.arrays import take

PREFETCH = 2  # batches built ahead of the one training


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size: int, transform=None, shuffle_seed: int | None = None):
        super().__init__(workers=1, use_multiprocessing=False)
        self.x, self.y = x, None if y is None else np.asarray(y)
        self.n, self.batch_size = len(x), int(batch_size)
        self.transform, self.shuffle_seed, self.epoch = transform, shuffle_seed, 0
        self.order = self._order()

    def _order(self, epoch: int | None = None) -> np.ndarray:
        if self.shuffle_seed is None:
            return np.arange(self.n)
        epoch = self.epoch if epoch is None else int(epoch)
        return np.random.default_rng([int(self.shuffle_seed), epoch]).permutation(self.n)

    @property
    def num_batches(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def __len__(self) -> int:
        return self.num_batches

    def rows(self, rows: np.ndarray) -> tuple:
        """The batch of these rows: (x,) or (x, y), x transformed."""
        xb = take(self.x, rows)
        if self.transform is not None:
            xb = self.transform(xb)
        return (xb,) if self.y is None else (xb, self.y[rows])

    def __getitem__(self, i: int):
        return self.rows(self.order[i * self.batch_size : (i + 1) * self.batch_size])

    def start_at(self, epoch: int) -> None:
        """Continue from `epoch` (a resumed training): the orders of epochs 0..epoch-1 are skipped."""
        self.epoch = int(epoch)
        self.order = self._order()

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()

    def dataset(self, epochs: int | None = None):
        """tf.data.Dataset of the batches of training epochs `self.epoch`..`epochs`-1 in order (default:
        one epoch), each built by `rows` from that epoch's order; elements are x, or (x, y)."""
        import tensorflow as tf

        first = self.epoch
        last = first + 1 if epochs is None else max(int(epochs), first + 1)
        sample = self.rows(np.arange(min(self.batch_size, self.n)))  # dtypes and trailing shapes
        exact = self.n % self.batch_size == 0  # every batch full: a static batch dimension
        lead = self.batch_size if exact else None
        dtypes = tuple(tf.as_dtype(a.dtype) for a in sample)
        shapes = tuple((lead, *a.shape[1:]) for a in sample)
        n = self.n

        def order(epoch):
            out = tf.numpy_function(
                lambda e: self._order(int(e) + 1).astype(np.int64), [epoch], tf.int64, stateful=False
            )
            out.set_shape((n,))
            return tf.data.Dataset.from_tensor_slices(out).batch(self.batch_size, drop_remainder=exact)

        def load(rows):
            out = tf.numpy_function(self.rows, [rows], dtypes, stateful=False)
            for t, shape in zip(out, shapes):
                t.set_shape(shape)
            return out[0] if len(out) == 1 else tuple(out)

        ds = tf.data.Dataset.range(first, last).flat_map(order).map(load).prefetch(PREFETCH)
        ds = ds.apply(tf.data.experimental.assert_cardinality((last - first) * self.num_batches))
        options = tf.data.Options()  # the batches come from Python: nothing to shard or to rewrite
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return ds.with_options(options)
