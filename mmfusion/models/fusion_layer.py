"""The layer where the joint model's two encodings meet (`joint.fusion_layer`).

Inputs `[h_text, h_series, present]`, `present` (n, 2) holding 1 where the text / series is there.
The encoding of a missing modality is multiplied by 0 first, so it can carry nothing. Then:
- `concat`: [h_text, h_series, present];
- `gated`: both encodings projected to `units` (tanh, no bias, so a zeroed encoding stays 0), a
  sigmoid gate z from [projections, present] mixes them, z * p_text + (1 - z) * p_series (a gated
  multimodal unit), followed by `present`;
- `attention`: the same projections, one shared score each, a softmax over the modalities present,
  the weighted sum, followed by `present`.
Registered as a Keras serializable, so models holding it reload in safe mode.
"""

from __future__ import annotations

import keras
from keras import ops

MODES = ("concat", "gated", "attention")


@keras.saving.register_keras_serializable(package="mmfusion")
class ModalityFusion(keras.layers.Layer):
    def __init__(self, mode: str = "concat", units: int = 32, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"fusion mode {mode!r} is not known; choose one of {list(MODES)}")
        self.mode, self.units = mode, int(units)

    def build(self, input_shape):
        (t_shape, s_shape, p_shape) = input_shape
        if self.mode == "concat":
            return
        self.proj_text = keras.layers.Dense(self.units, activation="tanh", use_bias=False, name="proj_text")
        self.proj_series = keras.layers.Dense(self.units, activation="tanh", use_bias=False, name="proj_series")
        self.proj_text.build(t_shape)
        self.proj_series.build(s_shape)
        if self.mode == "gated":
            self.gate = keras.layers.Dense(self.units, activation="sigmoid", name="gate")
            self.gate.build((None, 2 * self.units + int(p_shape[-1])))
        else:
            self.score = keras.layers.Dense(1, use_bias=False, name="score")
            self.score.build((None, self.units))

    def call(self, inputs):
        h_text, h_series, present = inputs
        m_text, m_series = present[:, 0:1], present[:, 1:2]
        h_text, h_series = h_text * ops.cast(m_text, h_text.dtype), h_series * ops.cast(m_series, h_series.dtype)
        if self.mode == "concat":
            return ops.concatenate([h_text, h_series, ops.cast(present, h_text.dtype)], axis=-1)
        p_text, p_series = self.proj_text(h_text), self.proj_series(h_series)
        present = ops.cast(present, p_text.dtype)
        if self.mode == "gated":
            z = self.gate(ops.concatenate([p_text, p_series, present], axis=-1))
            joined = z * p_text + (1.0 - z) * p_series
        else:
            scores = ops.concatenate([self.score(p_text), self.score(p_series)], axis=-1)  # (n, 2)
            scores = ops.where(present > 0, scores, ops.full_like(scores, -1e4))  # float16-safe "minus infinity"
            a = ops.softmax(scores, axis=-1)
            joined = a[:, 0:1] * p_text + a[:, 1:2] * p_series
        return ops.concatenate([joined, present], axis=-1)

    def compute_output_shape(self, input_shape):
        t_shape, s_shape, p_shape = input_shape
        width = (t_shape[-1] + s_shape[-1]) if self.mode == "concat" else self.units
        return (t_shape[0], width + p_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "units": self.units}
