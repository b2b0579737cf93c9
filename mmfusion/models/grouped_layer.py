"""The layers of a grouped ensemble (models/grouped.py): `GroupedLSTM`, K members' stacked LSTMs run as one
recurrent loop per depth (CPU) or one wide block-diagonal LSTM per depth (GPU, Keras' cuDNN kernel);
`TakeMember`, member k's slice; `PaddingMask`, the steps of right-padded token ids that hold a token.

Masks. A text member's embedding masks the padding id 0, and a Keras LSTM then carries its state over the
masked steps, so its last state is the one after the text's last token. `GroupedLSTM(x, mask)` does the
same (CPU: the state kept where the mask is false; GPU: the mask handed to Keras' kernel, which needs it
right-padded, as token ids are). Every member sees the same mask: token dropout (models/augment.py) never
touches padding.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmfusion")
class GroupedLSTM(keras.layers.Layer):
    """K stacked LSTMs per depth, one loop per depth. Input n x T x K x v (member k's sequence at [:, :, k])
    and optionally a mask n x T (true: a real step); output n x K x u_last (each member's last state)."""

    def __init__(self, units, members: int, wide: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.members = [int(u) for u in units], int(members)
        self.wide = wide  # None: the wide cuDNN layout when a GPU is visible, else the batched loop
        self.supports_masking = True  # the mask is an argument; the output (last states) has none

    def build(self, input_shape):
        k, size = self.members, int(input_shape[-1])
        self.kernels, self.recurrent_kernels, self.biases = [], [], []
        for d, u in enumerate(self.units):
            self.kernels.append(self.add_weight((k, size, 4 * u), initializer="zeros", name=f"kernel_{d}"))
            self.recurrent_kernels.append(self.add_weight((k, u, 4 * u), initializer="zeros", name=f"recurrent_{d}"))
            self.biases.append(self.add_weight((k, 4 * u), initializer="zeros", name=f"bias_{d}"))
            size = u
        if self.wide is None:
            import tensorflow as tf

            self.wide = bool(tf.config.list_logical_devices("GPU"))

    @property
    def member_stacked_variables(self) -> list:
        """The variables whose axis 0 is the member (recipes.optimizer clips their gradients per member)."""
        return [*self.kernels, *self.recurrent_kernels, *self.biases]

    def call(self, inputs, mask=None):
        if self.wide:
            try:
                return self._call_wide(inputs, mask)
            except NotImplementedError:  # Keras' cuDNN kernel refused (as keras.layers.LSTM, fall back)
                pass
        steps = None if mask is None else ops.transpose(ops.cast(mask, "bool"), (1, 0))  # T x n
        return self._call_loop(ops.transpose(inputs, (2, 1, 0, 3)), steps)  # K x T x n x v

    # --- CPU: one batched loop per depth ---------------------------------------------------------
    def _call_loop(self, x, mask=None):
        import tensorflow as tf

        k = self.members
        n, steps = tf.shape(x)[2], tf.shape(x)[1]
        last = len(self.units) - 1
        for d, u in enumerate(self.units):
            size = x.shape[-1]
            # every step's input projection at once: K x (T n) x v times K x v x 4u
            kernel, recurrent, bias = (ops.cast(w, x.dtype) for w in self.depth(d))
            z = tf.matmul(tf.reshape(x, (k, -1, size)), kernel) + bias[:, None, :]
            z = tf.transpose(tf.reshape(z, (k, steps, n, 4 * u)), (1, 0, 2, 3))  # T x K x n x 4u

            def step(state, z_t, recurrent=recurrent):
                h, c = state
                gates = z_t + tf.matmul(h, recurrent)
                i, f, g, o = tf.split(gates, 4, axis=-1)  # Keras' gate order
                c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
                return tf.sigmoid(o) * tf.tanh(c), c

            def masked_step(state, inputs, recurrent=recurrent):
                z_t, m_t = inputs
                h, c = step(state, z_t, recurrent)
                keep = m_t[None, :, None]  # 1 x n x 1: masked rows keep their state, as a Keras LSTM does
                return tf.where(keep, h, state[0]), tf.where(keep, c, state[1])

            zeros = tf.zeros((k, n, u), dtype=z.dtype)
            fn, elems = (step, z) if mask is None else (masked_step, (z, mask))
            if d == last:
                h, _ = tf.foldl(fn, elems, initializer=(zeros, zeros))
                return tf.transpose(h, (1, 0, 2))  # n x K x u
            hs, _ = tf.scan(fn, elems, initializer=(zeros, zeros))  # T x K x n x u
            x = tf.transpose(hs, (1, 0, 2, 3))  # K x T x n x u

    # --- GPU: one wide LSTM per depth, block-diagonal kernels, Keras' cuDNN kernel ----------------
    def wide_weights(self, d: int):
        """Depth d as one LSTM of K*u units: (kernel K v x 4Ku, recurrent K u x 4Ku, bias 4Ku), member k's
        units at [k u, (k+1) u) of each gate block; off-block entries are exact zeros."""
        k, u = self.members, self.units[d]
        eye = ops.eye(k, dtype=self.kernels[d].dtype)

        def block_diagonal(w):  # K x r x 4u -> K r x 4 K u
            w4 = ops.reshape(w, (k, w.shape[1], 4, u))
            full = ops.einsum("krgm,kl->krglm", w4, eye)
            return ops.reshape(full, (k * w.shape[1], 4 * k * u))

        bias = ops.reshape(ops.transpose(ops.reshape(self.biases[d], (k, 4, u)), (1, 0, 2)), (4 * k * u,))
        return block_diagonal(self.kernels[d]), block_diagonal(self.recurrent_kernels[d]), bias

    def _call_wide(self, x, mask=None):
        from keras.src import backend

        k = self.members
        n = ops.shape(x)[0]
        x = ops.reshape(x, (n, ops.shape(x)[1], k * x.shape[-1]))  # n x T x K v, member-major features
        mask = None if mask is None else ops.cast(mask, "bool")
        last = len(self.units) - 1
        for d, u in enumerate(self.units):
            kernel, recurrent, bias = (ops.cast(w, x.dtype) for w in self.wide_weights(d))
            zeros = ops.zeros((n, k * u), dtype=x.dtype)
            out, seq, _ = backend.lstm(
                x,
                zeros,
                zeros,
                mask,
                kernel=kernel,
                recurrent_kernel=recurrent,
                bias=bias,
                activation=ops.tanh,
                recurrent_activation=ops.sigmoid,
                return_sequences=d < last,
            )
            x = seq if d < last else out
        return ops.reshape(x, (n, k, self.units[-1]))

    def compute_mask(self, inputs, mask=None):
        return None

    def depth(self, d: int) -> tuple:
        """Depth d's stacked variables (kernel, recurrent kernel, bias), in a Keras LSTM's weight order."""
        return self.kernels[d], self.recurrent_kernels[d], self.biases[d]

    def compute_output_spec(self, inputs, mask=None):
        return keras.KerasTensor((inputs.shape[0], self.members, self.units[-1]), dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "members": self.members, "wide": self.wide}


@keras.saving.register_keras_serializable(package="mmfusion")
class TakeMember(keras.layers.Layer):
    """Member k's slice of n x K x u."""

    def __init__(self, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, inputs):
        return inputs[:, self.index]

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], inputs.shape[2]), dtype=inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="mmfusion")
class PaddingMask(keras.layers.Layer):
    """Token ids n x T -> n x T booleans, true where a token is (the padding id is 0, as the embedding's
    mask_zero treats it)."""

    def call(self, tokens):
        return ops.not_equal(tokens, 0)

    def compute_output_spec(self, tokens):
        return keras.KerasTensor(tokens.shape, dtype="bool")
