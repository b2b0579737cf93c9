"""Run `mmfusion ...` in this process and send it a real signal at a chosen point (test helper).

    python tests/signal_at.py SIGINT epoch 3 -- train ...      # as the 3rd training epoch begins
    python tests/signal_at.py SIGTERM mmfusion.fuse:write_single 1 -- fuse <run>

`epoch N`: the signal comes at the start of the N-th epoch this process trains (all models and jobs
counted), i.e. after N-1 finished epochs; `module:function N`: at the N-th call of that function.
The signal goes through the kernel to this process (os.kill), as Ctrl-C or `kill` would send it.
"""

import importlib
import os
import signal
import sys


def main() -> int:
    sig, target, when = getattr(signal, sys.argv[1]), sys.argv[2], int(sys.argv[3])
    calls = {"n": 0}

    def tick():
        calls["n"] += 1
        if calls["n"] == when:
            os.kill(os.getpid(), sig)

    if target == "epoch":
        from mmfusion.models.base import EpochLogger

        EpochLogger.on_epoch_begin = lambda self, epoch, logs=None: tick()
    else:
        module_name, name = target.split(":")
        module = importlib.import_module(module_name)
        real = getattr(module, name)

        def wrapped(*args, **kwargs):
            tick()
            return real(*args, **kwargs)

        setattr(module, name, wrapped)

    from mmfusion.cli import main as cli_main

    return cli_main(sys.argv[sys.argv.index("--") + 1 :])


if __name__ == "__main__":
    sys.exit(main())
