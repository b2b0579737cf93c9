"""Training progress of a Keras network: one log line per epoch with its time and the ETAs of the network
and of the run, and a live bar while an epoch runs when stdout is a terminal.

Log line (also in the run's log file), e.g. from a synthetic run with 4 epochs:
`series epoch 1/4 accuracy=0.3938 loss=1.3629 | 10 s, series 0:30 left, run ~1:10 left`: the epoch's time,
the network's ETA (from its epochs after the first, which also traces the graph) and the run's, from
runtime.progress.PLAN (every network's planned epochs; networks not started yet are reckoned at the
mean time per epoch so far, hence `~`).
Not a terminal (a log file, a pipe, SLURM): no bar and no carriage return, and an epoch that lasts
longer than MMFUSION_PROGRESS_INTERVAL seconds (default 30) gets a plain line about its batches.
"""

from __future__ import annotations

import logging
import sys
import time

import keras

from mmfusion.runtime import progress

log = logging.getLogger("mmfusion.models.base")  # the logger the per-epoch lines always came from
BAR_WIDTH = 24


class EpochProgress(keras.callbacks.Callback):
    def __init__(self, name: str, epochs: int, stream=None, clock=time.monotonic):
        super().__init__()
        self.name, self.epochs, self.clock = name, epochs, clock
        self.stream = stream  # None: sys.stdout at the time of writing (Hydra's console handler's stream)
        self.epoch = 0  # index of the epoch running (0-based)
        self.last_epoch = -1  # index of the last epoch ended
        self.epochs_run = 0
        self.mark = self.last_line = self.last_bar = clock()
        self.bar_shown = False

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _tty(self) -> bool:
        return progress.is_tty(self._out())

    # --- Keras hooks ------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.mark = self.last_line = self.clock()
        self.epochs_run, self.last_epoch = 0, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.mark = self.last_line = self.clock()

    def on_train_batch_end(self, batch, logs=None):
        steps = (self.params or {}).get("steps")
        now = self.clock()
        elapsed = now - self.mark
        eta = f", epoch ETA {progress.duration(elapsed / (batch + 1) * (steps - batch - 1))}" if steps else ""
        if self._tty():
            if now - self.last_bar < 0.1 and not (steps and batch + 1 == steps):
                return
            self.last_bar = now
            filled = int(BAR_WIDTH * (batch + 1) / steps) if steps else 0
            bar = "=" * filled + ">" * (filled < BAR_WIDTH) + " " * max(0, BAR_WIDTH - filled - 1)
            count = f"{batch + 1}/{steps}" if steps else f"{batch + 1}"
            text = f"{self.name} epoch {self.epoch + 1}/{self.epochs} [{bar[:BAR_WIDTH]}] {count}{eta}"
            self._out().write("\r\x1b[K" + text)
            self._out().flush()
            self.bar_shown = True
        elif now - self.last_line >= progress.interval():
            self.last_line = now
            count = f"{batch + 1}/{steps}" if steps else f"{batch + 1}"
            log.info(
                "%s epoch %d/%d: batch %s, %s elapsed%s",
                self.name,
                self.epoch + 1,
                self.epochs,
                count,
                progress.duration(elapsed),
                eta,
            )

    def _clear_bar(self) -> None:
        if self.bar_shown:
            self._out().write("\r\x1b[K")
            self._out().flush()
            self.bar_shown = False

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        took, self.mark = now - self.mark, now
        self.epochs_run += 1
        self.last_epoch, self.epoch = epoch, epoch + 1
        plan = progress.PLAN
        plan.epoch_done(self.name, took)
        figures = " ".join(f"{k}={v:.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        own = plan.left(self.name)
        if own is None:  # no plan (a model fitted outside a run): this network's epochs only
            own = took * (self.epochs - epoch - 1)
        timing = f"{took:.2g} s, {self.name} {progress.duration(own)} left"
        run = plan.run_left()
        if run is not None and len(plan.total) > 1:
            timing += f", run ~{progress.duration(run)} left"
        self._clear_bar()
        log.info("%s epoch %d/%d %s | %s", self.name, epoch + 1, self.epochs, figures, timing)

    def on_train_end(self, logs=None):
        self._clear_bar()
        stopped = (self.params or {}).get("epochs", self.epochs) - (self.last_epoch + 1)
        if stopped > 0:  # early stopping: the epochs not run leave the run's plan
            progress.PLAN.stopped_early(self.name, stopped)
