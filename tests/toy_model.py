"""A series model added the way docs/extending.md shows: this class and its schema, plus one YAML
(tests/toy_conf/model/series/mlp.yaml); no other file names it (tests/schemas/test_registry.py trains it)."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from mmfusion.models.base import dense_head
from mmfusion.models.series import SeriesNetwork
from mmfusion.schemas.fields import choice, int_list
from mmfusion.schemas.models import SeriesNetSchema
from mmfusion.schemas.registry import register


class SeriesMLP(SeriesNetwork):
    """The z-scored series flattened -> fully connected layers -> softmax (SeriesNetwork does the rest:
    z-scoring with training statistics, training, saving and loading)."""

    def build_network(self) -> keras.Model:
        c = self.cfg
        inp = keras.Input(shape=(self.length, self.variables), name="series")
        x = keras.layers.Flatten()(inp)
        return keras.Model(inp, dense_head(x, c.dense_units, self.num_classes, c.dropout), name="series_mlp")


@register("model/series", "mlp", SeriesMLP)
@dataclass
class SeriesMLPSchema(SeriesNetSchema):  # lr, epochs, batch_size, optimizer, recipes: every Keras series net's keys
    name: str = choice("mlp", "mlp")
    dense_units: list[int] = int_list([64, 32], 1, 0)
