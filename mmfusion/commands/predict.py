"""`mmfusion predict <run-dir> [--text FILE] [--series FILE] [--out FILE]`: classify new records with a
finished run's saved models (and their saved vocabulary / normalisation statistics) and fusion params.

Inputs, either or both (a record may have one modality only; it is fused over what it has):
- text: a CSV with an `id` column and a text column (`text`, else the run's `dataset.text_column`,
  else `--text-column`); UTF-8 (a BOM is stripped).
- series: `.npz` with `ids` (n,) and `x` (n, T, F), or a long CSV with columns `id, step, <F variables>`
  (one row per record and time step, in any order).
Output CSV: id, `<modality>_<class>` probabilities, `fused_<class>`, `fused_class`, `fused_probability`
(empty cells where a record lacks that modality); when the run has a jointly trained model
(`joint=lstm`), also `joint_<class>`, `joint_class`, `joint_probability` (it, too, serves records
that have one modality only).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from mmfusion import fusion
from mmfusion.basemodels import modality_of, models_dir
from mmfusion.commands import parsers
from mmfusion.data.files import in_float32, read_series_file
from mmfusion.errors import DataError, FileError, MmfusionError, RunDirError, describe, writing
from mmfusion.rundir.files import CONFIG, METRICS, read_config, write_atomic
from mmfusion.rundir.markers import require_complete
from mmfusion.rundir.records import Metrics, read_metrics
from mmfusion.runtime import interrupt


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{what} file {path}: no such file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(f"{what} file {path}: line {line} is not valid UTF-8; re-save the file as UTF-8") from None
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{what} file {path}: not a readable CSV ({err})") from None


def read_texts(path, text_column: str | None = None, id_column: str = "id") -> tuple[np.ndarray, np.ndarray]:
    path = Path(path)
    df = _read_csv(path, "text")
    column = next((c for c in ([text_column] if text_column else ["text", "Description"]) if c in df.columns), None)
    if id_column not in df.columns or column is None:
        raise DataError(
            f"text file {path}: needs an {id_column!r} column and a text column "
            f"({text_column or 'text'}); its columns are {list(df.columns)}"
        )
    ids, texts = df[id_column].astype(str).to_numpy(), df[column].to_numpy(dtype=object)
    for i, t in zip(ids, texts):
        if not isinstance(t, str) or not t.strip():
            raise DataError(f"text file {path}: record {i!r} has no readable text; give it a non-empty {column}")
    return ids, texts


def read_series(path) -> tuple[np.ndarray, np.ndarray | list]:
    """(ids, x): x an (n, T, F) array (npz) or a list of (T_i, F) arrays (long CSV)."""
    ids, x, _ = read_series_file(path, equal_length=False)
    return ids, x


def check_series(ids, x, model, path) -> np.ndarray:
    """One (n, T, F) array, or a DataError naming the first record whose shape or values do not fit."""
    length, variables = int(model.length), int(model.variables)
    for rid, xi in zip(ids, x):
        xi = np.asarray(xi)
        if xi.shape[-1] != variables:
            raise DataError(
                f"series file {path}: record {rid!r} has {xi.shape[-1]} variables; the model was trained on {variables}"
            )
        if xi.shape[0] != length:
            raise DataError(
                f"series file {path}: record {rid!r} has {xi.shape[0]} time steps; the model supports exactly {length}"
            )
        if not np.isfinite(xi).all():
            raise DataError(f"series file {path}: record {rid!r} contains NaN or infinite values")
        in_float32(f"series file {path}", xi[None], [rid])
    return np.asarray(x, dtype=np.float64).reshape(len(ids), length, variables)


def load_run(run_dir: Path):
    run_dir = require_complete(run_dir, needs=(METRICS, "models"))
    cfg = read_config(run_dir)
    if cfg is None:
        raise RunDirError(f"{run_dir}: no config.yaml or .hydra/config.yaml; cannot rebuild its models")
    metrics = read_metrics(run_dir)
    if not isinstance(metrics, Metrics) or not metrics.classes or not metrics.modalities:
        raise RunDirError(f"{run_dir / METRICS}: lacks the classes or modalities of the run; rerun it")
    for key in ("dataset", *(f"model.{m}" for m in metrics.modalities)):
        section(run_dir, cfg, key)
    if metrics.fusion:
        section(run_dir, cfg, "fusion")
    return run_dir, cfg, metrics


def section(run_dir: Path, cfg, key: str):
    """A section of the run's saved config that predict rebuilds from (a mapping with a name)."""
    node = OmegaConf.select(cfg, key, default=None)
    if not isinstance(node, DictConfig) or not isinstance(node.get("name"), str):
        raise RunDirError(
            f"{run_dir / CONFIG}: {key} is {OmegaConf.to_yaml(node).strip() if node is not None else 'missing'!s}, "
            f"not the section the run saved; the file was changed after the run: restore it or rerun the run"
        )
    return node


def saved_model(modality: str, cfg, num_classes: int, models: Path):
    """The run's saved model, or one FileError naming the file that is missing, damaged or unsafe."""
    from mmfusion.models import load_model

    for name in (f"{modality}.json",):
        if not (models / name).is_file():
            raise RunDirError(f"{models / name}: missing; the run directory was changed after the run, rerun it")
    try:
        return load_model(modality, cfg, num_classes, models)
    except MmfusionError:
        raise
    except Exception as err:
        path = getattr(err, "filename", None) or next(models.glob(f"{modality}.*[!n]"), models / f"{modality}.keras")
        text = str(err)
        if "safe_mode" in text or "Lambda" in text:
            raise FileError(
                f"{path}: holds Python code (a Lambda layer), which mmfusion never runs; models are loaded in "
                f"Keras' safe mode only: use a model saved by `mmfusion train`"
            ) from err
        if isinstance(err, (OSError, ValueError, KeyError, EOFError, TypeError)) or "zip" in text.lower():
            raise FileError(
                describe(path, err)
                if isinstance(err, OSError)
                else (
                    f"{path}: not a readable model ({type(err).__name__}: {text.strip().splitlines()[0] if text.strip() else ''}); "
                    f"the file is damaged or was changed after the run: restore it or rerun the run"
                )
            ) from err
        raise


def predict(run_dir, text=None, series=None, text_column: str | None = None) -> pd.DataFrame:
    if text is None and series is None:
        raise MmfusionError("give --text FILE and/or --series FILE")
    run_dir, cfg, metrics = load_run(Path(run_dir))
    classes, names = list(metrics.classes), list(metrics.modalities)
    inputs = {}
    if text is not None:
        inputs["text"] = read_texts(text, text_column or cfg.dataset.get("text_column"))
    if series is not None:
        inputs["series"] = read_series(series)
    extra = [m for m in inputs if m not in {modality_of(n) for n in names}]
    if extra:
        raise DataError(f"the run at {run_dir} has no {extra} model; it has {names}")
    order = list(dict.fromkeys(i for m in inputs for i in inputs[m][0]))
    pos = {i: k for k, i in enumerate(order)}
    out = pd.DataFrame({"id": order})
    probs, present, given = [], [], {}
    for m in names:  # base models: several of one modality read its input (mmfusion/basemodels.py)
        p, mask, mod = np.full((len(order), len(classes)), np.nan), np.zeros(len(order), bool), modality_of(m)
        if mod in inputs:
            ids, x = inputs[mod]
            if len(set(ids)) != len(ids):
                raise DataError(
                    f"{mod} file: record ids repeat, e.g. {pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]!r}"
                )
            model = saved_model(mod, cfg.model[m], len(classes), models_dir(run_dir, m))
            if mod == "series":
                x = check_series(ids, x, model, series)
            rows = np.array([pos[i] for i in ids], dtype=int)
            given.setdefault(mod, (rows, x))
            if len(rows):
                p[rows], mask[rows] = model.predict_proba(x), True
        probs.append(p)
        present.append(mask)
        for k, c in enumerate(classes):
            out[f"{m}_{c}"] = p[:, k]
    if metrics.fusion:
        fused = fusion.get_rule(cfg.fusion, metrics.fusion["params"]).proba(probs, present)
        for k, c in enumerate(classes):
            out[f"fused_{c}"] = fused[:, k]
        out["fused_class"] = [classes[k] for k in fused.argmax(axis=1)]
        out["fused_probability"] = fused.max(axis=1)
    if metrics.joint and (run_dir / "models" / "joint.keras").is_file():
        add_joint(out, cfg, classes, run_dir, given, len(order))
    return out


def add_joint(out: pd.DataFrame, cfg, classes: list[str], run_dir: Path, given: dict, n: int) -> None:
    """The run's jointly trained model on the same records, each with the modalities it has."""
    model = saved_model("joint", section(run_dir, cfg, "joint"), len(classes), run_dir / "models")
    text, series = np.full(n, "", dtype=object), np.zeros((n, model.scaler.length, model.scaler.variables))
    present = np.zeros((n, 2), bool)
    for k, (m, target) in enumerate((("text", text), ("series", series))):
        if m in given and len(given[m][0]):
            rows, x = given[m]
            target[rows], present[rows, k] = x, True
    p = model.predict_proba({"text": text, "series": series, "present": present})
    for k, c in enumerate(classes):
        out[f"joint_{c}"] = p[:, k]
    out["joint_class"] = [classes[k] for k in p.argmax(axis=1)]
    out["joint_probability"] = p.max(axis=1)


def main(args: list[str]) -> None:
    ns = parsers.build("predict").parse_args(args)
    replaced = check_out(ns.out, [p for p in (ns.text, ns.series) if p is not None])
    with interrupt.stage("classifying", kept="no output file written", hint="rerun the same command"):
        df = predict(ns.run_dir, ns.text, ns.series, ns.text_column)
    write_atomic(ns.out, lambda tmp: df.to_csv(tmp, index=False))  # whole, or the old file as it was
    print(
        f"{len(df)} record(s) classified; written to {ns.out}"
        + (" (it replaced the previous file)" if replaced else "")
    )


def check_out(out: Path, inputs: list[Path]) -> bool:
    """Before any work: --out must name a file that may be written (not a folder, not an input file).
    Returns whether an existing file will be replaced (said in the last line)."""
    if out.is_dir():
        raise FileError(f"--out {out}: is a directory; give a file name, e.g. --out {out / 'predictions.csv'}")
    for p in inputs:
        if out.exists() and p.exists() and out.resolve() == p.resolve():
            raise FileError(f"--out {out}: is an input file of this command; give another output file name")
    parent = next((p for p in (out.absolute().parent, *out.absolute().parents) if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise FileError(f"--out {out}: {parent} is a file, not a directory; choose another output file")
    probe = out.absolute().parent / f".{out.name}.probe.{os.getpid()}"  # a read-only folder: said before any work
    with writing(out):
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    return out.is_file()
