"""mmfusion: decision-level fusion of one classifier per data type (text + time series)."""

import os

# Before any keras import: the TensorFlow backend, and TensorFlow's C++ log lines kept quiet
# (errors still surface as Python exceptions). Users may set either variable themselves.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

MODALITIES = ("text", "series")
