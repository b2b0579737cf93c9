"""Fixtures and hooks only; what tests import lives in helpers.py.

Markers (registered in pyproject.toml): `e2e` for tests that run the pipeline end to end (the CLI in
a subprocess, a training, a multi-second pipeline), `fast` for every other test. `make test-fast`
runs `pytest -m "not e2e"`; `make test` runs both. A test is `e2e` when it is marked so (or `slow`),
when its file::function is in E2E_TESTS (measured: see docs/testing.md), or when its
own source or that of a fixture it uses calls one of E2E_CALLS; so a new test that trains or starts
the CLI lands in the end-to-end lane without editing this file.
"""

from __future__ import annotations

import inspect
import re

import pytest
from helpers import compose_cfg
from omegaconf import DictConfig

E2E_CALLS = re.compile(r"\b(run_cli|train|tiny_val_run|signal_at|subprocess\.run)\(")
# Tests that take seconds without training or starting the CLI (a Keras fit of a tiny network, a TEP
# simulation, a factory dataset): `pytest --durations=0` on the full suite, every test function with a
# case of 5 s or more (on a shared 2-core machine, about 4x slower than alone). Key: file::function.
E2E_TESTS = {
    "test_factory.py::test_factory_reads_the_bundled_factory_reports_by_default",
    "test_factory.py::test_factory_with_generated_text",
    "test_factory.py::test_factory_with_the_factory_reports_as_a_csv_path",
    "test_factory.py::test_jittered_window_starts_move_only_the_training_windows",
    "test_factory.py::test_same_seed_same_factory_data_and_cache_is_reused",
    "test_factory.py::test_window_after_onset_applies_to_the_factory_series",
    "test_folds.py::test_factory_folds_put_every_text_and_run_on_the_test_side_exactly_once",
    "test_tep_simulate.py::test_workers_give_the_same_arrays",
    "test_config.py::test_every_option_of_every_group_composes",
    "test_interrupt.py::test_kill_9_of_the_parent_leaves_no_live_workers",
    "test_joint.py::test_fusion_layers_ignore_a_masked_branch_and_reload_in_safe_mode",
    "test_models.py::test_word2vec_initialises_the_embedding_from_training_texts",
    "test_more_models.py::test_keras_models_round_trip",
    "test_recipes.py::test_defaults_train_exactly_like_the_plain_keras_recipe",
    "test_recipes.py::test_every_recipe_trains_and_an_ensemble_reloads_exactly",
    "test_robustness_suite.py::test_a_pickled_object_array_is_refused",
    "test_robustness_suite.py::test_a_row_with_an_extra_variable_in_a_long_table",
    "test_robustness_suite.py::test_bad_records_file",
    "test_robustness_suite.py::test_infinity_in_a_long_table",
    "test_robustness_suite.py::test_missing_directory",
    "test_robustness_suite.py::test_missing_rieth_folder_for_the_factory_dataset",
    "test_robustness_suite.py::test_non_finite_series_values",
    "test_robustness_suite.py::test_ragged_series",
    "test_robustness_suite.py::test_series_without_a_variable_axis",
}


@pytest.fixture
def tiny_cfg() -> DictConfig:
    return compose_cfg()


def _source(obj) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _is_e2e(item: pytest.Item) -> bool:
    if item.get_closest_marker("e2e") or item.get_closest_marker("slow"):
        return True
    if f"{item.path.name}::{getattr(item, 'originalname', item.name)}" in E2E_TESTS:
        return True
    defs = getattr(item, "_fixtureinfo", None)
    fixtures = (
        [d[-1].func for name in item.fixturenames for d in [defs.name2fixturedefs.get(name)] if d] if defs else []
    )
    return any(E2E_CALLS.search(_source(f)) for f in [getattr(item, "function", None), *fixtures])


def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.e2e if _is_e2e(item) else pytest.mark.fast)
