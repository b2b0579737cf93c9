"""Grouped LSTM for a batched series ensemble (`model.series.grouped_lstm=true`, models/batched.py; trained
as models/ensemble_model.py trains it): the K members' stacked LSTMs run as ONE recurrent loop per layer
depth instead of K loops.

Why. The series network (LSTM 52 -> 40 -> 25 over 40 steps) is small: its cost on a CPU is mostly the
per-step overhead of the recurrent loop (a dozen small ops per step), so K members in one graph
(`batched_ensemble=true`) still pay K loops per depth. Here member k's weights are slices of stacked
variables (kernel K x in x 4u, recurrent kernel K x u x 4u, bias K x 4u, Keras' gate order [i, f, c, o])
and each step does one batched matrix product over the members (K x n x u times K x u x 4u). The input
projection of every step is one batched product before the loop. Member k's outputs and gradients are
computed from its own slices only (batched products never mix the members): exact independence.

GPU. On a machine with a GPU the same weights are laid out as one wide LSTM of K*u units with
block-diagonal kernels (each gate block K*u wide, member k's units at [k*u, (k+1)*u); the off-block
entries are exact zeros, built in the graph from the stacked slices, so their gradient never reaches
another member) and handed to Keras' fused cuDNN LSTM kernel (`keras.src.backend.lstm`). That costs K
times the multiplies of the per-member blocks but is one cuDNN call per depth; the CPU loop above does not
waste the multiplies. Both paths compute the same function (tested on CPU against a wide Keras LSTM).

Only the recurrent part is grouped. The members' augmentation layers (time shift, jitter) and dense heads
are the member networks' own layer objects (shared weights), so after training the member networks,
rebuilt the usual way, hold every trained weight once `to_members` has copied the LSTM slices back: the
saved network is today's batched ensemble network (members as sub-models, the mean of their
probabilities), in the same file layout.

Limits: `clipnorm` > 0 clips each variable's norm, and a stacked variable holds all members, so it would
couple them; `batched.fit` then trains the per-member batched model instead (a log line says so). Only
networks that are a chain of Keras LSTMs with default settings (tanh / sigmoid, no dropout inside the
LSTM, bias on) followed by any head qualify (model/series=lstm and lstm_tuned); others fall back the same
way.
"""

from __future__ import annotations

import logging

import keras
import numpy as np
from keras import ops

from mmfusion.models import augment
from mmfusion.models.ensemble_model import StackMembers

log = logging.getLogger(__name__)

SUBDIR = "grouped"  # checkpoints of a grouped ensemble (its training weights differ from the batched model's)


def requested(cfg) -> bool:
    return "grouped_lstm" in cfg and bool(cfg.grouped_lstm)  # a key of the series LSTM schema only


@keras.saving.register_keras_serializable(package="mmfusion")
class GroupedLSTM(keras.layers.Layer):
    """K stacked LSTMs per depth, one loop per depth. Input n x T x K x v (member k's series at [:, :, k]);
    output n x K x u_last (each member's last hidden state)."""

    def __init__(self, units, members: int, wide: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.members = [int(u) for u in units], int(members)
        self.wide = wide  # None: the wide cuDNN layout when a GPU is visible, else the batched loop

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

    def call(self, inputs):
        if self.wide:
            try:
                return self._call_wide(inputs)
            except NotImplementedError:  # Keras' cuDNN kernel refused (as keras.layers.LSTM, fall back)
                pass
        return self._call_loop(ops.transpose(inputs, (2, 1, 0, 3)))  # K x T x n x v

    # --- CPU: one batched loop per depth ---------------------------------------------------------
    def _call_loop(self, x):
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

            zeros = tf.zeros((k, n, u), dtype=z.dtype)
            if d == last:
                h, _ = tf.foldl(step, z, initializer=(zeros, zeros))
                return tf.transpose(h, (1, 0, 2))  # n x K x u
            hs, _ = tf.scan(step, z, initializer=(zeros, zeros))  # T x K x n x u
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

    def _call_wide(self, x):
        from keras.src import backend

        k = self.members
        n = ops.shape(x)[0]
        x = ops.reshape(x, (n, ops.shape(x)[1], k * x.shape[-1]))  # n x T x K v, member-major features
        last = len(self.units) - 1
        for d, u in enumerate(self.units):
            kernel, recurrent, bias = (ops.cast(w, x.dtype) for w in self.wide_weights(d))
            zeros = ops.zeros((n, k * u), dtype=x.dtype)
            out, seq, _ = backend.lstm(
                x,
                zeros,
                zeros,
                None,
                kernel=kernel,
                recurrent_kernel=recurrent,
                bias=bias,
                activation=ops.tanh,
                recurrent_activation=ops.sigmoid,
                return_sequences=d < last,
            )
            x = seq if d < last else out
        return ops.reshape(x, (n, k, self.units[-1]))

    def depth(self, d: int) -> tuple:
        """Depth d's stacked variables (kernel, recurrent kernel, bias), in a Keras LSTM's weight order."""
        return self.kernels[d], self.recurrent_kernels[d], self.biases[d]

    def compute_output_spec(self, inputs):
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


def _parts(member: keras.Model):
    """(augmentation layers, LSTM layers, head layers) of a member (augment.wrap of the modality network),
    or None when it is not a chain of plain LSTMs followed by a chain head."""
    outer = [layer for layer in member.layers if not isinstance(layer, keras.layers.InputLayer)]
    inner = [layer for layer in outer if isinstance(layer, keras.Model)]
    if len(inner) > 1:
        return None
    net = inner[0] if inner else member
    augmentation = [layer for layer in outer if layer is not net] if inner else []
    layers = [layer for layer in net.layers if not isinstance(layer, keras.layers.InputLayer)]
    if any(len(layer._inbound_nodes) != 1 for layer in [*augmentation, *layers]):
        return None
    chain = net.layers
    for a, b in zip(chain, chain[1:]):  # each layer feeds the next, nothing else
        if b.input is not a.output:
            return None
    lstms = []
    for layer in layers:
        if type(layer) is not keras.layers.LSTM:
            break
        lstms.append(layer)
    head = layers[len(lstms) :]
    if not lstms or any(isinstance(layer, keras.layers.LSTM | keras.layers.RNN) for layer in head):
        return None
    for i, layer in enumerate(lstms):
        plain = (
            layer.activation is keras.activations.tanh
            and layer.recurrent_activation is keras.activations.sigmoid
            and layer.cell.use_bias
            and not layer.dropout
            and not layer.recurrent_dropout
            and not layer.go_backwards
            and not layer.stateful
            and layer.return_sequences == (i < len(lstms) - 1)
        )
        if not plain:
            return None
    return augmentation, lstms, head


def why_not(cfg, members: list[keras.Model]) -> str | None:
    """None when the members can be grouped, else the reason."""
    if cfg.get("clipnorm"):
        return (
            f"clipnorm={cfg.clipnorm} clips each variable's norm and a grouped LSTM variable holds every member, "
            "so clipping would couple them"
        )
    if any(_parts(m) is None for m in members):
        return "the network is not a chain of plain Keras LSTMs followed by dense layers"
    return None


class Grouped:
    """The grouped training model of the members (built the usual way, see models/batched.py) and the
    copies between its stacked LSTM variables and the members' LSTM layers."""

    def __init__(self, members: list[keras.Model]):
        self.members = members
        self.augmentation, self.lstms, self.heads = (list(p) for p in zip(*(_parts(m) for m in members)))
        spec = members[0].inputs[0]
        units = [layer.units for layer in self.lstms[0]]
        if any([layer.units for layer in lstms] != units for lstms in self.lstms):
            raise ValueError("grouped LSTM: the members' LSTM layers differ in size")
        k = len(members)
        inp = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype, name=spec.name)
        series = [
            augment.chain(inp, layers, f"member{i}_augmentation")(inp) for i, layers in enumerate(self.augmentation)
        ]
        self.layer = GroupedLSTM(units, k, name="grouped_lstm")
        h = self.layer(StackMembers(axis=2, name="stack_members")(series))  # n x T x K x v
        outs = []
        for i, head in enumerate(self.heads):  # each member's own dense head (shared layer objects)
            x = TakeMember(i, name=f"member{i}_state")(h)
            outs.append(augment.chain(x, head, f"member{i}_head")(x))
        self.training = keras.Model(inp, StackMembers(name="members")(outs), name=f"{members[0].name}_grouped")
        self.from_members()
        self.views = [MemberView(self, i) for i in range(k)]

    def from_members(self, only: int | None = None) -> None:
        """The members' LSTM weights into the stacked variables (all members, or member `only`)."""
        for d in range(len(self.layer.units)):
            for j, var in enumerate(self.layer.depth(d)):
                value = np.array(var.numpy())
                for i in self._chosen(only):
                    value[i] = self.lstms[i][d].get_weights()[j]
                var.assign(value)

    def to_members(self, only: int | None = None) -> None:
        """The stacked LSTM slices into the members' LSTM layers (all members, or member `only`), so the
        member networks hold every weight."""
        stacked = [[np.asarray(v.numpy()) for v in self.layer.depth(d)] for d in range(len(self.layer.units))]
        for i in self._chosen(only):
            for d, layer in enumerate(self.lstms[i]):
                layer.set_weights([w[i] for w in stacked[d]])

    def _chosen(self, only: int | None) -> list[int]:
        return list(range(len(self.members))) if only is None else [only]


class MemberView:
    """Member i of a grouped model, as MemberEarlyStopping sees a member: its weights in the member
    network's order (`get_weights` / `set_weights`), whose LSTM part lives in the stacked variables."""

    def __init__(self, grouped: Grouped, index: int):
        self.grouped, self.index = grouped, index
        self.member = grouped.members[index]

    @property
    def weights(self):
        return self.member.weights

    def get_weights(self) -> list[np.ndarray]:
        self.grouped.to_members(only=self.index)
        return self.member.get_weights()

    def set_weights(self, weights) -> None:
        self.member.set_weights(weights)
        self.grouped.from_members(only=self.index)
