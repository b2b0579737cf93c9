"""Grouped LSTM for a batched ensemble (`model.<m>.grouped_lstm=true` for the series and text LSTMs,
models/batched.py; trained as models/ensemble_model.py trains it): the K members' stacked LSTMs run as ONE
recurrent loop per layer depth instead of K loops (the layer: models/grouped_layer.py).

Why. The series network (LSTM 52 -> 40 -> 25 over 40 steps) and the text network (LSTM 80 over at most
40 tokens) are small: their cost on a CPU is mostly the per-step overhead of the recurrent loop (a dozen
small ops per step), so K members in one graph (`batched_ensemble=true`) still pay K loops per depth.
Here member k's weights are slices of stacked variables (kernel K x in x 4u, recurrent kernel K x u x 4u,
bias K x 4u, Keras' gate order [i, f, c, o]) and each step does one batched matrix product over the
members (K x n x u times K x u x 4u). The input projection of every step is one batched product before
the loop. Member k's outputs and gradients are computed from its own slices only (batched products never
mix the members): exact independence.

GPU. On a machine with a GPU the same weights are laid out as one wide LSTM of K*u units with
block-diagonal kernels (each gate block K*u wide, member k's units at [k*u, (k+1)*u); the off-block
entries are exact zeros, built in the graph from the stacked slices, so their gradient never reaches
another member) and handed to Keras' fused cuDNN LSTM kernel (`keras.src.backend.lstm`). That costs K
times the multiplies of the per-member blocks but is one cuDNN call per depth; the CPU loop does not
waste the multiplies. Both paths compute the same function (tested on CPU against a wide Keras LSTM).

Only the recurrent part is grouped. The members' augmentation layers (time shift, jitter, token
dropout), the layers in front of their LSTMs (a text network's embedding, which masks the padding: the
grouped loop keeps each row's state over its masked steps as a Keras LSTM does) and their dense heads
are the member networks' own layer objects (shared weights), so after training the member networks,
rebuilt the usual way, hold every trained weight once `to_members` has copied the LSTM slices back: the
saved network is today's batched ensemble network (members as sub-models, the mean of their
probabilities), in the same file layout.

Clipping. `clipnorm` clips each variable's gradient norm; a stacked variable holds every member, so the
optimizer (recipes.optimizer with `per_member`) clips each member's slice of it by that slice's own
norm: member k's update is the one its own LSTM variables would get.

Limits: only networks that are a chain of (embeddings, then) Keras LSTMs with default settings (tanh /
sigmoid, no dropout inside the LSTM, bias on) followed by any head qualify (model/series=lstm and
lstm_tuned, model/text=lstm and lstm_tuned); others train as the per-member batched model (a log line
says so).
"""

from __future__ import annotations

import logging

import keras
import numpy as np

from mmfusion.models import augment
from mmfusion.models.ensemble_model import StackMembers
from mmfusion.models.grouped_layer import GroupedLSTM, PaddingMask, TakeMember

log = logging.getLogger(__name__)

SUBDIR = "grouped"  # checkpoints of a grouped ensemble (its training weights differ from the batched model's)


def requested(cfg) -> bool:
    return "grouped_lstm" in cfg and bool(cfg.grouped_lstm)  # a key of the series and text LSTM schemas only


def _parts(member: keras.Model):
    """(augmentation layers, front layers, LSTM layers, head layers) of a member (augment.wrap of the
    modality network), or None when it is not a chain of (embeddings, then) plain LSTMs followed by a
    chain head."""
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
        given = b.input[0] if isinstance(b.input, list) else b.input  # [tensor, its mask] after an embedding
        if given is not a.output:
            return None
    front = []
    for layer in layers:
        if type(layer) is not keras.layers.Embedding:
            break
        front.append(layer)
    lstms = []
    for layer in layers[len(front) :]:
        if type(layer) is not keras.layers.LSTM:
            break
        lstms.append(layer)
    head = layers[len(front) + len(lstms) :]
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
    return augmentation, front, lstms, head


def why_not(members: list[keras.Model]) -> str | None:
    """None when the members can be grouped, else the reason."""
    if any(_parts(m) is None for m in members):
        return "the network is not a chain of (embeddings and) plain Keras LSTMs followed by dense layers"
    return None


class Grouped:
    """The grouped training model of the members (built the usual way, see models/batched.py) and the
    copies between its stacked LSTM variables and the members' LSTM layers."""

    def __init__(self, members: list[keras.Model], inputs: tuple):
        """`inputs`: (the training model's input, the tensor the members take), as `batched.inputs` makes
        them (token ids and the batch cut to its longest text; a series input, twice)."""
        self.members = members
        parts = (list(p) for p in zip(*(_parts(m) for m in members)))
        self.augmentation, self.front, self.lstms, self.heads = parts
        units = [layer.units for layer in self.lstms[0]]
        if any([layer.units for layer in lstms] != units for lstms in self.lstms):
            raise ValueError("grouped LSTM: the members' LSTM layers differ in size")
        k = len(members)
        inp, x = inputs
        sequences = [  # n x T x v per member: its augmentation, then the layers before its LSTM (embedding)
            augment.chain(x, [*aug, *front], f"member{i}_inputs")(x)
            for i, (aug, front) in enumerate(zip(self.augmentation, self.front))
        ]
        masked = any(getattr(layer, "mask_zero", False) for layer in self.front[0])
        mask = PaddingMask(name="padding_mask")(x) if masked else None
        self.layer = GroupedLSTM(units, k, name="grouped_lstm")
        h = self.layer(StackMembers(axis=2, name="stack_members")(sequences), mask=mask)  # n x T x K x v in
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
