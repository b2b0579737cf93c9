"""Experiment tracking beyond the run directory (`tracking=` group): TensorBoard and MLflow.

- A selected tracker whose package is missing is refused by the config check before any work
  (mmfusion/schemas/check/plugins.py), with the extra to install.
- `callbacks(cfg, run_dir, modality)`: Keras callbacks for one model. TensorBoard writes per-epoch
  scalars to `<run dir>/tensorboard/<modality>`; MLflow logs each epoch's `<modality>.epoch.<key>`
  (loss, accuracy, val_loss, ...) with the epoch as step, live, to the run's MLflow run (created on
  first use with the run's params; its id is kept in `<run dir>/mlflow_run.json`, so a resumed run
  goes on logging to the same MLflow run).
- `finish(cfg, run_dir, metrics)`: after the run's files are written. TensorBoard: the run's
  hyper-parameters (HParams plugin, `hparams(cfg)`) and its test metrics as scalars
  (`test/<model>/<metric>`) in `<run dir>/tensorboard`, so that `tensorboard --logdir <sweep dir>`
  compares the jobs of a sweep in its HParams dashboard. MLflow: test metrics (`<model>.accuracy`,
  `<model>.macro_auc`, `<model>.auc.<class>`), the artefacts (ARTIFACTS) and the run marked finished.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from omegaconf import OmegaConf

from mmfusion.errors import ConfigError

log = logging.getLogger(__name__)
ARTIFACTS = ("metrics.json", "config.yaml", "tables", "figures", "history")
MLFLOW_RUN = "mlflow_run.json"  # {"uri", "run_id"} of the run's MLflow run
HPARAM_GROUPS = ("model", "fusion", "joint", "training", "objective")  # config keys shown as hyper-parameters


def callbacks(cfg, run_dir: Path, modality: str) -> list:
    t = cfg.tracking
    out = []
    if t.get("tensorboard"):
        import keras

        log_dir = Path(run_dir) / "tensorboard" / modality
        log.info("TensorBoard logs of the %s model: %s", modality, log_dir)
        out.append(keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False))
    if t.get("mlflow"):
        out.append(_mlflow_callback(cfg, Path(run_dir), modality))
    return out


def flatten(cfg) -> dict[str, str]:
    """The resolved config as dotted keys -> strings (MLflow params), Hydra's own node left out."""
    return {k: str(v)[:500] for k, v in _leaves(cfg).items()}


def _leaves(cfg) -> dict:
    out = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}.")
        else:
            out[prefix[:-1]] = node

    container = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
    container.pop("hydra", None)
    walk(container, "")
    return out


def hparams(cfg) -> dict:
    """The hyper-parameters shown in TensorBoard's HParams dashboard: the model, fusion, joint,
    training and objective settings, the seed, the dataset's name and the modalities; numbers and
    booleans as they are, anything else (lists, null) as text."""
    out = {}
    for key, value in _leaves(cfg).items():
        top = key.split(".", 1)[0]
        if top in HPARAM_GROUPS or key in ("seed", "dataset.name", "modalities"):
            out[key] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return out


def model_metrics(metrics: dict) -> dict[str, float]:
    out = {}
    for name, res in metrics["models"].items():
        for key in ("accuracy", "macro_auc"):
            if res.get(key) is not None:
                out[f"{name}.{key}"] = float(res[key])
        for cls, auc in (res.get("auc") or {}).items():
            if auc is not None:
                out[f"{name}.auc.{cls}"] = float(auc)
    return out


def finish(cfg, run_dir: Path, metrics: dict) -> str | None:
    """TensorBoard hparams and test scalars (tracking.tensorboard), MLflow test metrics and artefacts
    (tracking.mlflow); returns the MLflow run id (None without MLflow)."""
    t = cfg.tracking
    run_dir = Path(run_dir).resolve()
    if t.get("tensorboard"):
        write_hparams(cfg, run_dir / "tensorboard", metrics)
    if not t.get("mlflow"):
        return None
    uri = _mlflow_uri(cfg, run_dir)
    try:
        run_id = _finish_mlflow(cfg, run_dir, metrics)
    except Exception as err:  # mlflow raises many kinds; the user needs the store and the reason
        raise _mlflow_error(uri, run_dir, err) from None
    log.info("MLflow: run %s in experiment %r at %s", run_id, t.get("experiment"), uri)
    return run_id


def write_hparams(cfg, log_dir: Path, metrics: dict) -> None:
    """One HParams session in log_dir: the run's hyper-parameters and its test metrics as scalars
    (`test/<model>/<metric>`), read by TensorBoard's HParams dashboard."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        hp.hparams(hparams(cfg), trial_id=log_dir.parent.name)
        for key, value in model_metrics(metrics).items():
            tf.summary.scalar("test/" + key.replace(".", "/"), value, step=0)
    writer.close()
    log.info("TensorBoard hparams and test metrics: %s", log_dir)


def _mlflow_uri(cfg, run_dir: Path) -> str:
    return cfg.tracking.get("mlflow_uri") or f"sqlite:///{Path(run_dir).resolve().parent / 'mlflow.db'}"


def _mlflow_error(uri: str, run_dir: Path, err: Exception) -> ConfigError:
    return ConfigError(
        f"MLflow logging to tracking.mlflow_uri={uri} failed: {err}. The run's files are in "
        f"{run_dir} (not marked COMPLETE); fix the store or choose tracking=none"
    )


def _mlflow_run(cfg, run_dir: Path):
    """(client, run id) of this run's MLflow run: the one recorded in the run directory, or a new one
    (in tracking.experiment, with the flattened config as params)."""
    from mlflow import MlflowClient
    from mlflow.entities import Param

    run_dir = Path(run_dir).resolve()
    uri = _mlflow_uri(cfg, run_dir)
    client = MlflowClient(tracking_uri=uri)
    record = run_dir / MLFLOW_RUN
    if record.is_file():
        saved = json.loads(record.read_text())
        if saved.get("uri") == uri:
            return client, saved["run_id"]
    name = str(cfg.tracking.get("experiment") or "mmfusion")
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = (run_dir.parent / "mlartifacts").as_uri() if uri.startswith("sqlite:") else None
        try:  # sqlite: artefacts beside the database, not in the current directory
            experiment_id = client.create_experiment(name, artifact_location=location)
        except Exception:  # a parallel job created it first
            experiment_id = client.get_experiment_by_name(name).experiment_id
    else:
        experiment_id = experiment.experiment_id
    run = client.create_run(
        experiment_id, run_name=f"{run_dir.parent.name}/{run_dir.name}", tags={"run_dir": str(run_dir)}
    )
    params = [Param(k, v) for k, v in flatten(cfg).items()]
    for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
        client.log_batch(run.info.run_id, params=params[i : i + 100])
    run_dir.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"uri": uri, "run_id": run.info.run_id}))
    return client, run.info.run_id


def _mlflow_callback(cfg, run_dir: Path, modality: str):
    import keras
    from mlflow.entities import Metric

    try:
        client, run_id = _mlflow_run(cfg, run_dir)
    except Exception as err:
        raise _mlflow_error(_mlflow_uri(cfg, run_dir), run_dir, err) from None

    class MlflowEpochs(keras.callbacks.Callback):
        """Each epoch's Keras logs as MLflow metrics `<modality>.epoch.<key>`, step = epoch (from 1)."""

        def on_epoch_end(self, epoch, logs=None):
            now = int(time.time() * 1000)
            items = [
                Metric(f"{modality}.epoch.{k}", float(v), now, epoch + 1)
                for k, v in (logs or {}).items()
                if isinstance(v, (int, float)) or hasattr(v, "__float__")
            ]
            if items:
                client.log_batch(run_id, metrics=items)

    return MlflowEpochs()


def _finish_mlflow(cfg, run_dir: Path, metrics: dict) -> str:
    from mlflow.entities import Metric

    client, run_id = _mlflow_run(cfg, run_dir)
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in model_metrics(metrics).items()])
    for name in ARTIFACTS:
        path = run_dir / name
        if path.is_dir():
            client.log_artifacts(run_id, str(path), artifact_path=name)
        elif path.is_file():
            client.log_artifact(run_id, str(path))
    client.set_terminated(run_id, "FINISHED")
    return run_id
