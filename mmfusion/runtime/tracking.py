"""Experiment tracking beyond the run directory (`tracking=` group): TensorBoard and MLflow.

- `check(cfg)` before any work: a selected tracker whose package is missing is a ConfigError that
  says which extra to install.
- `callbacks(cfg, run_dir, modality)`: Keras callbacks for one modality model (TensorBoard writes
  `<run dir>/tensorboard/<modality>`).
- `finish(cfg, run_dir, metrics)`: after the run's files are written, log params (the flattened
  config), test accuracy / AUC per model and the tables, figures and metrics.json to MLflow.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from omegaconf import OmegaConf

from mmfusion.errors import ConfigError

log = logging.getLogger(__name__)
ARTIFACTS = ("metrics.json", "tables", "figures")


def check(cfg) -> None:
    t = cfg.tracking
    needs = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow")}
    for key, (module, extra) in needs.items():
        if t[key] and importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"tracking.{key}=true needs the {module} package: pip install 'mmfusion[{extra}]' "
                f"(or choose tracking=none)"
            )


def callbacks(cfg, run_dir: Path, modality: str) -> list:
    if not cfg.tracking.tensorboard:
        return []
    import keras

    log_dir = Path(run_dir) / "tensorboard" / modality
    log.info("TensorBoard logs of the %s model: %s", modality, log_dir)
    return [keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)]


def flatten(cfg) -> dict[str, str]:
    """The resolved config as dotted keys -> strings (MLflow params), Hydra's own node left out."""
    out = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}.")
        else:
            out[prefix[:-1]] = str(node)[:500]

    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("hydra", None)
    walk(container, "")
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
    """Log the finished run to MLflow when tracking.mlflow is on; returns the MLflow run id."""
    t = cfg.tracking
    if not t.mlflow:
        return None
    run_dir = Path(run_dir).resolve()
    uri = t.mlflow_uri or f"sqlite:///{run_dir.parent / 'mlflow.db'}"
    try:
        run_id = _log_to_mlflow(cfg, run_dir, metrics, uri, t.experiment)
    except Exception as err:  # mlflow raises many kinds; the user needs the store and the reason
        raise ConfigError(
            f"MLflow logging to tracking.mlflow_uri={uri} failed: {err}. The run's files are in "
            f"{run_dir} (not marked COMPLETE); fix the store or choose tracking=none"
        ) from None
    log.info("MLflow: run %s in experiment %r at %s", run_id, t.experiment, uri)
    return run_id


def _log_to_mlflow(cfg, run_dir: Path, metrics: dict, uri: str, experiment: str) -> str:
    import mlflow

    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(experiment) is None and uri.startswith("sqlite:"):
        try:  # artifacts beside the local database, not in the current directory
            mlflow.create_experiment(experiment, artifact_location=(run_dir.parent / "mlartifacts").as_uri())
        except mlflow.exceptions.MlflowException:
            pass  # a parallel job created it first
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=f"{run_dir.parent.name}/{run_dir.name}") as run:
        mlflow.log_params(flatten(cfg))
        mlflow.log_metrics(model_metrics(metrics))
        mlflow.set_tag("run_dir", str(run_dir))
        for name in ARTIFACTS:
            path = run_dir / name
            if path.is_dir():
                mlflow.log_artifacts(str(path), artifact_path=name)
            elif path.is_file():
                mlflow.log_artifact(str(path))
    return run.info.run_id
