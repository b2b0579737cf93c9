"""Typed config schemas (Hydra structured configs), one dataclass per config group option.

Each schema registers itself with the option it types and what builds that option
(`mmfusion.schemas.registry`: the one link name -> builder -> schema). `register()` stores them in
Hydra's ConfigStore under the group `schema/<group>` with the option's name; each YAML file names its
schema first in its defaults list (e.g. conf/model/series/lstm.yaml: `- /schema/model/series/lstm@_here_`),
so the YAML stays what users read and OmegaConf checks every key's type at composition. `mmfusion.schemas.check.check(cfg)` then checks ranges and cross-key rules.
"""

from __future__ import annotations

from mmfusion.schemas import dataset, fusion, joint, models, registry, run  # noqa: F401 (each registers its schemas)

TYPED_ONLY = {"tracking": {"tracking": run.TrackingSchema}}  # one schema for every tracking option; builds nothing
GROUPS = {**{kind: registry.schemas(kind) for kind in registry.kinds()}, **TYPED_ONLY}  # group -> option -> schema
_done = False


def _share_config_store() -> None:
    """Hydra deep-copies its config repository for every group it lists or loads (CachingConfigRepository),
    and with it the process-wide ConfigStore singleton holding every schema: `mmfusion train --help`
    spent ~14 s (of 15) in copy.deepcopy (python -m cProfile). The store is only read through the copy
    (ConfigStore.load copies the node it returns), so a deep copy shares it, as Hydra PR #2928 does."""
    from hydra.core.config_store import ConfigStore

    if "__deepcopy__" not in vars(ConfigStore):
        ConfigStore.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]


def register() -> None:
    """Store every schema in Hydra's ConfigStore (once per process); call before composing."""
    global _done
    if _done:
        return
    from hydra.core.config_store import ConfigStore

    _share_config_store()
    cs = ConfigStore.instance()
    cs.store(group="schema", name="config", node=run.ConfigSchema)
    registry.store()  # every registered option's schema (and any registered later)
    for group, options in TYPED_ONLY.items():
        for name, node in options.items():
            cs.store(group=f"schema/{group}", name=name, node=node)
    _done = True


def over_defaults(schema, values=None):
    """`values` (a mapping with some or all of the schema's keys, e.g. a saved run's node) over the
    schema dataclass's defaults, as a typed DictConfig; keys the schema does not know are left out."""
    from omegaconf import OmegaConf

    node = OmegaConf.structured(schema)
    if values is None:
        return node
    return OmegaConf.merge(node, {k: v for k, v in values.items() if k in node})
