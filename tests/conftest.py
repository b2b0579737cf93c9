"""Fixtures and hooks only; what tests import lives in helpers.py."""

from __future__ import annotations

import pytest
from helpers import compose_cfg
from omegaconf import DictConfig


@pytest.fixture
def tiny_cfg() -> DictConfig:
    return compose_cfg()
