"""`dataset=custom`: records and series paired by id, with missing series masked or refused."""

import numpy as np
import pandas as pd
import pytest
from helpers import compose_cfg

from mmfusion.commands.train import train
from mmfusion.data import build_dataset
from mmfusion.errors import DataError


def write_records(tmp_path, n=24, drop_series=()):
    rng = np.random.default_rng(0)
    labels = np.array(["leak", "noise"] * (n // 2))
    texts = [
        ("water dripping from pipe joint" if lab == "leak" else "loud rattle in gearbox") + f" case {i}"
        for i, lab in enumerate(labels)
    ]
    ids = [f"rec{i:03d}" for i in range(n)]
    pd.DataFrame({"id": ids, "text": texts, "label": labels}).to_csv(tmp_path / "records.csv", index=False)
    keep = [i for i in range(n) if ids[i] not in drop_series]
    x = rng.normal(size=(n, 10, 3)).astype(np.float32) + (labels == "leak")[:, None, None]
    np.savez(tmp_path / "series.npz", ids=np.asarray(ids)[keep], x=x[keep])
    long = pd.DataFrame(
        [{"id": ids[i], "step": t, "a": x[i, t, 0], "b": x[i, t, 1], "c": x[i, t, 2]} for i in keep for t in range(10)]
    )
    long.sample(frac=1, random_state=0).to_csv(tmp_path / "series_long.csv", index=False)  # order must not matter
    return ids, x


def cfg_for(tmp_path, series="series.npz", *extra):
    return compose_cfg(
        [
            "dataset=custom",
            "dataset.classes=[leak,noise]",
            f"dataset.records={tmp_path / 'records.csv'}",
            f"dataset.series_path={tmp_path / series}",
            "dataset.test_fraction=0.25",
            *extra,
        ]
    )


@pytest.mark.parametrize("series", ["series.npz", "series_long.csv"])
def test_records_pair_with_series_by_id(tmp_path, series):
    ids, x = write_records(tmp_path)
    ds = build_dataset(cfg_for(tmp_path, series).dataset)
    test = ds.splits["test"]
    assert ds.sizes() == {"train": 18, "test": 6}
    for i, rid in enumerate(test.ids):
        np.testing.assert_allclose(test.x["series"][i], x[ids.index(rid)], rtol=1e-6)
    bases = {id(s.x["series"].base) for s in ds.splits.values()}  # views of the loaded array, no aligned copy
    assert len(bases) == 1 and test.x["series"].base.shape == x.shape


def test_missing_series_is_an_error_naming_the_records(tmp_path):
    write_records(tmp_path, drop_series=("rec003", "rec010"))
    with pytest.raises(DataError, match=r"2 record\(s\).*rec003.*dataset.missing=mask"):
        build_dataset(cfg_for(tmp_path).dataset)


def test_missing_series_can_be_masked_and_fused_over_what_is_present(tmp_path):
    write_records(tmp_path, drop_series=("rec003", "rec010", "rec011"))
    cfg = cfg_for(tmp_path, "series.npz", "dataset.missing=mask")
    ds = build_dataset(cfg.dataset)
    assert sum(int((~s.present["series"]).sum()) for s in ds.splits.values()) == 3
    for s in ds.splits.values():  # the loaded 21 series plus one NaN row that the 3 masked records point at
        assert s.x["series"].base.shape[0] == 22
        assert np.isnan(np.asarray(s.x["series"])[~s.present["series"]]).all()
    result = train(cfg, tmp_path / "run")
    assert result["metrics"]["models"]["fused"]["n"] == 6
    assert (tmp_path / "run" / "COMPLETE").exists()


def test_ragged_long_table_is_named(tmp_path):
    write_records(tmp_path)
    df = pd.read_csv(tmp_path / "series_long.csv")
    df = df[~((df.id == "rec005") & (df.step == 9))]
    df.to_csv(tmp_path / "series_long.csv", index=False)
    with pytest.raises(DataError, match="rec005"):
        build_dataset(cfg_for(tmp_path, "series_long.csv").dataset)


def test_npz_needs_ids_and_x(tmp_path):
    write_records(tmp_path)
    np.savez(tmp_path / "series.npz", data=np.zeros((3, 2, 2)))
    with pytest.raises(DataError, match="'ids' and 'x'"):
        build_dataset(cfg_for(tmp_path).dataset)
