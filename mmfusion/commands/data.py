"""`mmfusion data build [overrides...]`: build the configured dataset ahead of training (simulated TEP
runs land in the on-disk cache on the way) and print its summary."""

from __future__ import annotations

import json

from mmfusion.commands import parsers
from mmfusion.config import compose_config
from mmfusion.runtime import interrupt


def main(args: list[str]) -> None:
    ns = parsers.build("data").parse_args(args)
    cfg = compose_config(ns.overrides)
    from mmfusion.data import build_dataset

    with interrupt.stage("building the dataset", hint="rerun the same command to continue (finished runs are reused)"):
        ds = build_dataset(cfg.dataset, cfg.modalities)  # modalities=[text]: no series built
    print(f"dataset {cfg.dataset.name}: classes {ds.classes}; sizes {ds.sizes()}; class counts {ds.class_counts()}")
    print(json.dumps({k: v for k, v in ds.info.items() if k != "series_variables"}, indent=1))
