"""Epoch checkpoints of a Keras model (`training.checkpoint`): Keras' BackupAndRestore, made safe to kill.

After every epoch the model's variables and the optimizer's (seed states and slots included) go to
`epoch-NNNN.weights.npz`, a flat list in the order of `model.variables` then `optimizer.variables`
(Keras' `save_weights` walked the model for each save: 0.1 s per epoch of a grouped ensemble, 2.5 s of a
35 s experiment=early fold; checkpoints of earlier versions, `.weights.h5`, still load), then one JSON
file, `training_metadata.json`, is replaced atomically: it names that weights file and holds the epoch,
the per-epoch history so far, early stopping's state (its best weights in `best-NNNN.npz`) and
reduce-on-plateau's (wait, best, cooldown and the current learning rate). Until the
JSON is replaced, the previous checkpoint stays the valid one, so a kill at any moment leaves a
consistent state. On the next `fit` with the same directory, BackupAndRestore loads the weights and
continues from the following epoch; `history` then holds every epoch, the restored ones first. When
training ends the state is marked finished, and a later `fit` only reloads it (no epoch runs again).

Damaged checkpoints are found by content: the JSON records the size and SHA-256 of the files it names,
and the checkpoint before it is kept as `training_metadata.previous.json` with its files. A checkpoint
whose files do not match (a disk that filled up, a file cut off by a crash) is set aside (renamed
`*.damaged`); training resumes from the previous checkpoint, or starts over, and one log line says which.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import keras
import numpy as np

from mmfusion.errors import writing
from mmfusion.rundir.files import sha256, write_text
from mmfusion.runtime import interrupt

log = logging.getLogger(__name__)
METADATA = "training_metadata.json"
PREVIOUS = "training_metadata.previous.json"  # the checkpoint before the last one, kept with its files
DAMAGED = ".damaged"


def _files(state: dict) -> list[str]:
    return [f for f in (state.get("weights"), (state.get("early_stopping") or {}).get("best_weights")) if f]


def _problem(directory: Path, state) -> str | None:
    """Why a checkpoint's state cannot be resumed from (None: it can)."""
    if not isinstance(state, dict) or not state.get("weights") or "epoch" not in state or "history" not in state:
        return "its metadata is incomplete"
    sums = state.get("files") or {}
    for name in _files(state):
        path = directory / name
        if not path.is_file():
            return f"{name} is missing"
        want = sums.get(name)
        if want is None:  # a checkpoint from before checksums: at least an HDF5 / zip signature
            with open(path, "rb") as fh:
                head = fh.read(8)
            if not head.startswith((b"\x89HDF\r\n\x1a\n", b"PK")):
                return f"{name} is not a weights file"
            continue
        if path.stat().st_size != want["bytes"] or sha256(path) != want["sha256"]:
            return f"{name} does not match its checksum (cut off or changed)"
    return None


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: damaged


def _set_aside(directory: Path, state, problem: str, names: list[str]) -> None:
    for name in names:
        path = directory / name
        if path.exists():
            os.replace(path, path.with_name(path.name + DAMAGED))


def read_state(directory: Path) -> dict | None:
    """The last good committed checkpoint of a directory, or None. A damaged one is set aside (its files
    renamed *.damaged) and the previous checkpoint, if good, becomes the current one; one log line says
    which (training resumes from it, or starts over)."""
    directory = Path(directory)
    state = _load(directory / METADATA)
    if state is None:
        return None
    problem = _problem(directory, state)
    if problem is None:
        return state
    previous = _load(directory / PREVIOUS)
    usable = previous is not None and _problem(directory, previous) is None
    _set_aside(
        directory, state, problem, [METADATA, *[f for f in _files(state or {}) if f not in _files(previous or {})]]
    )
    name = directory.parent.name if directory.name.startswith("member") else directory.name
    if usable:
        os.replace(directory / PREVIOUS, directory / METADATA)
        log.warning(
            "%s model: the checkpoint in %s is damaged (%s); set aside as *%s, resuming after epoch %d from the "
            "previous checkpoint",
            name,
            directory,
            problem,
            DAMAGED,
            int(previous["epoch"]),
        )
        return previous
    if previous is not None:
        _set_aside(directory, previous, "", [PREVIOUS])
    log.warning(
        "%s model: the checkpoint in %s is damaged (%s) and no earlier one is whole; set aside as *%s, "
        "training starts over",
        name,
        directory,
        problem,
        DAMAGED,
    )
    return None


def describe(directory: Path) -> str | None:
    state = read_state(directory)
    if not state:
        return None
    if state.get("finished"):
        return f"the finished model's weights in {directory}"
    k = int(state["epoch"])
    return f"epoch{'s 1-' if k > 1 else ' '}{k} checkpointed in {directory}" if k else None


def _variables(model: keras.Model) -> list:
    """Everything a checkpoint restores: the model's variables (weights, seed states), then the optimizer's."""
    optimizer = model.optimizer
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)
    return [*model.variables, *(optimizer.variables if optimizer is not None else [])]


def save_variables(model: keras.Model, path: Path) -> None:
    """The checkpoint's variables as arr_0, arr_1, ... of one .npz file (written whole or not at all: the
    caller's `writing`)."""
    values = [keras.ops.convert_to_numpy(v) for v in _variables(model)]
    with open(path, "wb") as fh:
        np.savez(fh, *values)


def load_variables(model: keras.Model, path: Path) -> None:
    """Assign a checkpoint written by `save_variables` to the same model (its variables in the same order)."""
    variables = _variables(model)
    with np.load(path, allow_pickle=False) as f:
        if len(f.files) != len(variables):
            raise ValueError(
                f"{path} holds {len(f.files)} variables and the model {len(variables)}: the checkpoint of another "
                f"model; remove {path.parent} to train this one from the start"
            )
        for i, v in enumerate(variables):
            v.assign(f[f"arr_{i}"])


class EpochCheckpoint(keras.callbacks.BackupAndRestore):
    """BackupAndRestore with an atomic commit, the history, early stopping's and reduce-on-plateau's
    state; put it last (its on_train_begin must follow theirs, which reset that state)."""

    def __init__(
        self,
        backup_dir: Path,
        name: str,
        early_stopping: keras.callbacks.EarlyStopping | None = None,
        reduce_lr: keras.callbacks.ReduceLROnPlateau | None = None,
    ):
        super().__init__(backup_dir=str(backup_dir), save_freq="epoch", delete_checkpoint=False)
        self.dir, self.name, self.early_stopping, self.reduce_lr = Path(backup_dir), name, early_stopping, reduce_lr
        self.history: dict[str, list[float]] = {}
        self.restored_epoch = 0

    def on_train_begin(self, logs=None):
        state = read_state(self.dir)
        if state is None:
            return
        self._weights_path = str(self.dir / state["weights"])
        if state["weights"].endswith(".h5"):  # an earlier version's checkpoint
            self._load_model()  # BackupAndRestore: weights and optimizer state; sets the model's initial epoch
        else:
            load_variables(self.model, self.dir / state["weights"])
            self.model._initial_epoch = int(state["epoch"])
        self.restored_epoch = self._current_epoch = int(state["epoch"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        es, saved = self.early_stopping, state.get("early_stopping")
        if es is not None and saved:  # EarlyStopping.on_train_begin has just reset these
            es.wait, es.best, es.best_epoch, es.stopped_epoch = (
                saved["wait"],
                saved["best"],
                saved["best_epoch"],
                saved["stopped_epoch"],
            )
            if saved.get("best_weights"):
                with np.load(self.dir / saved["best_weights"], allow_pickle=False) as f:
                    es.best_weights = [f[f"w{i}"] for i in range(len(f.files))]
        rl, saved = self.reduce_lr, state.get("reduce_lr")
        if rl is not None and saved:  # ReduceLROnPlateau.on_train_begin has just reset these
            rl.wait, rl.best, rl.cooldown_counter = saved["wait"], saved["best"], saved["cooldown_counter"]
            self.model.optimizer.learning_rate = saved["learning_rate"]
        if state.get("finished"):
            self.model._initial_epoch = int(self.params["epochs"])  # nothing left to train
            log.info("%s model: training had finished; reloaded from %s", self.name, self.dir)
        else:
            log.info(
                "%s model: resuming after epoch %d of %d from %s",
                self.name,
                self.restored_epoch,
                int(self.params["epochs"]),
                self.dir,
            )

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(float(v))
        self._current_epoch = epoch + 1
        self._commit(finished=False)

    def on_train_end(self, logs=None):
        self._commit(finished=True)  # after early stopping has restored its best weights (it comes first)

    def _commit(self, finished: bool) -> None:
        with interrupt.deferred():
            self.dir.mkdir(parents=True, exist_ok=True)
            tag = f"{self._current_epoch:04d}" + ("-final" if finished else "")
            weights = f"epoch-{tag}.weights.npz"
            with writing(self.dir / weights):
                save_variables(self.model, self.dir / weights)
            state = {
                "epoch": self._current_epoch,
                "batch": 0,
                "weights": weights,
                "finished": finished,
                "history": self.history,
            }
            es = self.early_stopping
            if es is not None:
                best = None
                if es.best_weights is not None:
                    best = f"best-{tag}.npz"
                    with writing(self.dir / best):
                        np.savez(self.dir / best, **{f"w{i}": w for i, w in enumerate(es.best_weights)})
                state["early_stopping"] = {
                    "wait": es.wait,
                    "best": None if es.best is None else float(es.best),
                    "best_epoch": es.best_epoch,
                    "stopped_epoch": es.stopped_epoch,
                    "best_weights": best,
                }
            rl = self.reduce_lr
            if rl is not None:
                state["reduce_lr"] = {
                    "wait": int(rl.wait),
                    "best": None if rl.best is None else float(rl.best),
                    "cooldown_counter": int(rl.cooldown_counter),
                    "learning_rate": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                }
            state["files"] = {
                f: {"bytes": (self.dir / f).stat().st_size, "sha256": sha256(self.dir / f)} for f in _files(state)
            }
            current = self.dir / METADATA
            previous = _load(current)
            if previous and all(
                (self.dir / f).is_file() for f in _files(previous)
            ):  # the one before stays, for a damaged last one
                write_text(self.dir / PREVIOUS, json.dumps(previous))
            write_text(current, json.dumps(state))
            keep = {METADATA, PREVIOUS, *_files(state), *(_files(_load(self.dir / PREVIOUS) or {}))}
            for old in self.dir.iterdir():
                if old.name not in keep and old.is_file() and not old.name.endswith(DAMAGED):  # kept to inspect
                    old.unlink()
