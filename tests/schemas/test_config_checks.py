"""Wrong types and impossible values stop at composition: one line naming the key as the user types it
and what it expects, a non-zero exit, no traceback, nothing built or simulated first."""

import pytest
from helpers import ROOT, run_cli

from mmfusion.config import compose_config
from mmfusion.errors import MmfusionError

FACTORY_RIETH = ["dataset/series=rieth", f"dataset.series.path={ROOT}"]  # any existing folder
CSV = ["dataset/text=csv", f"dataset.text.path={ROOT / 'README.md'}"]  # any existing file
CUSTOM = ["dataset=custom", "dataset.classes=[a,b]", "dataset.records=r.csv", "dataset.series_path=s.npz"]

# (overrides, the start of the one-line message: `<full key>=<value>: expected ...` or the key alone)
BAD = [
    # top level
    (["seed=-1"], "seed=-1: expected an integer >= 0"),
    (["seed=abc"], "seed=abc: expected an integer >= 0"),
    (["deterministic=maybe"], "deterministic=maybe: expected true or false"),
    (["modalities=[]"], "modalities=[]: expected a non-empty list"),
    (["modalities=[text,audio]"], "modalities=[text, audio]: expected"),
    (["modalities=[text,text]"], "modalities=[text, text]: expected a non-empty list of distinct"),
    (["distribute=ring"], "distribute=ring: expected one of auto | mirrored | none"),
    (["evaluation.bootstrap=-5"], "evaluation.bootstrap=-5: expected an integer >= 0"),
    (["evaluation.bootstrap=many"], "evaluation.bootstrap=many: expected an integer >= 0"),
    (["evaluation.ci_level=1"], "evaluation.ci_level=1: expected a number in (0, 1)"),
    (["evaluation.ci_level=0"], "evaluation.ci_level=0: expected a number in (0, 1)"),
    (["evaluation.ece_bins=0"], "evaluation.ece_bins=0: expected an integer >= 1"),
    (["robustness.rates=[0.5,2]"], "robustness.rates=[0.5, 2]: expected a non-empty list of numbers in [0, 1]"),
    (["robustness.drop=[audio]"], "robustness.drop=[audio]: expected"),
    (["robustness.drop=[]"], "robustness.drop=[]: expected a non-empty list"),
    # dataset=synthetic
    (["dataset=synthetic", "dataset.classes=[a]"], "dataset.classes=[a]: expected a list of at least 2 distinct"),
    (["dataset=synthetic", "dataset.classes=[a,a]"], "dataset.classes=[a, a]: expected"),
    (["dataset=synthetic", "dataset.samples_per_class=abc"], "dataset.samples_per_class=abc: expected an integer >= 3"),
    (["dataset=synthetic", "dataset.samples_per_class=2"], "dataset.samples_per_class=2: expected an integer >= 3"),
    (["dataset=synthetic", "dataset.samples_per_class=3"], "dataset.samples_per_class=3: expected enough samples"),
    (["dataset=synthetic", "dataset.test_fraction=0"], "dataset.test_fraction=0: expected a number in (0, 1)"),
    (["dataset=synthetic", "dataset.test_fraction=1"], "dataset.test_fraction=1: expected a number in (0, 1)"),
    (["dataset=synthetic", "dataset.val_fraction=-0.1"], "dataset.val_fraction=-0.1: expected a number in [0, 1)"),
    (["dataset=synthetic", "dataset.val_fraction=0.8"], "dataset.val_fraction=0.8: expected dataset.test_fraction + "),
    (["dataset=synthetic", "dataset.text_length=[5,2]"], "dataset.text_length=[5, 2]: expected null or [min, max]"),
    (["dataset=synthetic", "dataset.text_length=[3]"], "dataset.text_length=[3]: expected"),
    (["dataset=synthetic", "dataset.text_signal=1.5"], "dataset.text_signal=1.5: expected a number in [0, 1]"),
    (["dataset=synthetic", "dataset.series_length=0"], "dataset.series_length=0: expected an integer >= 1"),
    (["dataset=synthetic", "dataset.series_signal=-1"], "dataset.series_signal=-1: expected a number >= 0"),
    # dataset=factory (the default)
    (["dataset.samples_per_class=abc"], "dataset.samples_per_class=abc: expected an integer >= 1"),
    (["dataset.pairing=by_id"], "dataset.pairing=by_id: expected one of by_label"),
    (["dataset.series.faults=[1,1,2,3]"], "dataset.series.faults=[1, 1, 2, 3]: expected a non-empty list of distinct"),
    (["dataset.series.faults=[1,2,3]"], "dataset.series.faults=[1, 2, 3]: expected one fault number per class"),
    (
        ["dataset.series.faults=[1,2,3,29]"],
        "dataset.series.faults=[1, 2, 3, 29]: expected fault numbers in 0..28 for dataset/series=simulate",
    ),
    (
        [*FACTORY_RIETH, "dataset.series.faults=[1,2,3,21]"],
        "dataset.series.faults=[1, 2, 3, 21]: expected fault numbers in 0..20",
    ),
    (
        ["dataset/series=braatz", f"dataset.series.path={ROOT}", "dataset.series.faults=[1,2,3,22]"],
        "dataset.series.faults=[1, 2, 3, 22]: expected fault numbers in 0..21",
    ),
    (
        ["dataset.series.source=rieth"],
        "dataset.series.source=rieth: the source is a config group: choose it with dataset/series=rieth",
    ),
    (
        ["dataset/series=bogus"],
        "In 'dataset/factory': Could not find 'dataset/series/bogus'. Available options in 'dataset/series': braatz, rieth, simulate",
    ),
    (["dataset/series=rieth"], "dataset.series.path is required"),
    (["dataset/series=braatz"], "dataset.series.path is required"),
    (
        ["dataset.series.path=/x"],
        "dataset.series.path is not a key of dataset.series (it belongs to dataset/series=rieth|braatz)",
    ),
    (["dataset=synthetic", "dataset/series=rieth"], "Could not override 'dataset/series'."),
    (
        [*FACTORY_RIETH, "dataset.series.horizon_h=6"],
        "dataset.series.horizon_h is not a key of dataset.series (it belongs to dataset/series=simulate)",
    ),
    (["dataset.series.runs_per_class=0"], "dataset.series.runs_per_class=0: expected an integer >= 1"),
    (["dataset.series.window.length=0"], "dataset.series.window.length=0: expected null or an integer >= 1"),
    (["dataset.series.window.start=early"], "dataset.series.window.start=early: expected null or an integer"),
    (["dataset.series.window.jitter_start=-1"], "dataset.series.window.jitter_start=-1: expected an integer >= 0"),
    (
        ["dataset.series.window.jitter_start=5"],
        "dataset.series.window.jitter_start=5: expected 0 while dataset.series.window.length is null",
    ),
    (
        ["dataset.series.horizon_h=0.5"],
        "dataset.series.onset_h=1: expected a number below dataset.series.horizon_h=0.5",
    ),
    (
        ["dataset.series.horizon_h=2.01"],
        "dataset.series.horizon_h=2.01: expected a whole multiple of dataset.series.sample_interval_h",
    ),
    (["dataset.series.control_interval_h=0"], "dataset.series.control_interval_h=0: expected a number > 0"),
    (["dataset.series.workers=0"], "dataset.series.workers=0: expected an integer >= 1"),
    (["dataset.series.on_shutdown=pad"], "dataset.series.on_shutdown=pad: expected one of error | drop"),
    (
        [*FACTORY_RIETH, "dataset.series.part=validation"],
        "dataset.series.part=validation: expected one of training | testing",
    ),
    ([*FACTORY_RIETH, "dataset.series.length=600"], "dataset.series.length=600: expected null or 1..500"),
    (
        ["dataset/series=braatz", f"dataset.series.path={ROOT}", "dataset.series.braatz_stride=0"],
        "dataset.series.braatz_stride=0: expected an integer >= 1",
    ),
    (
        ["dataset/series=braatz", f"dataset.series.path={ROOT}", "dataset.series.test_onset=-1"],
        "dataset.series.test_onset=-1: expected an integer >= 0",
    ),
    (["dataset/text=csv"], "dataset.text.path is required"),
    (
        ["dataset.text.source=csv"],
        "dataset.text.source=csv: the source is a config group: choose it with dataset/text=csv",
    ),
    (["dataset.text.path=r.csv"], "dataset.text.path is not a key of dataset.text (it belongs to dataset/text=csv)"),
    (
        ["dataset.text.typo_rate=0.1"],
        "dataset.text.typo_rate is not a key of dataset.text (it belongs to dataset/text=generate)",
    ),
    (["dataset.cv.folds=1"], "dataset.cv.folds=1: expected null, 0 or an integer >= 2"),
    (
        ["dataset.cv.folds=5", "dataset.cv.fold=5"],
        "dataset.cv.fold=5: expected an integer in 0..4 for dataset.cv.folds=5",
    ),
    (
        ["dataset/text=csv", "dataset.text.path=/no/such.csv"],
        "dataset.text.path=/no/such.csv: /no/such.csv does not exist",
    ),
    (
        ["dataset/text=csv", f"dataset.text.path={ROOT}"],
        f"dataset.text.path={ROOT}: {ROOT} is a folder; expected an existing file",
    ),
    (["dataset/series=rieth", "dataset.series.path=/no/such"], "dataset.series.path=/no/such: /no/such does not exist"),
    (["dataset/text=generate", "dataset.text.typo_rate=1"], "dataset.text.typo_rate=1: expected a number in [0, 1)"),
    (
        ["dataset/text=generate", "dataset.text.ambiguous_share=2"],
        "dataset.text.ambiguous_share=2: expected a number in [0, 1]",
    ),
    (
        ["dataset/text=generate", "dataset.text.categories=[leak]"],
        "dataset.text.categories=[leak]: expected null or one report category per class (4 classes)",
    ),
    (
        ["dataset/text=generate", "dataset.text.categories=[leak,leak,software,mechanical]"],
        "dataset.text.categories=[leak, leak, software, mechanical]: expected null or a list of distinct report",
    ),
    (
        ["dataset/text=generate", "dataset.text.categories=[leak,plumbing,software,mechanical]"],
        "dataset.text.categories=[leak, plumbing",
    ),
    (
        [*CSV, "dataset.text.label_map=3"],
        "dataset.text.label_map=3: expected null or a mapping",
    ),
    (
        [*CSV, "dataset.text.empty=skip"],
        "dataset.text.empty=skip: expected one of error | drop",
    ),
    ([*FACTORY_RIETH, "dataset.series.files=[a.csv]"], "dataset.series.files=[a.csv]: expected null or a mapping"),
    (
        ["dataset/text=generate", "dataset.text.reports_per_class=0"],
        "dataset.text.reports_per_class=0: expected null or an integer >= 1",
    ),
    # dataset=custom
    (["dataset=custom"], "dataset.classes is required"),
    ([*CUSTOM, "dataset.missing=ignore"], "dataset.missing=ignore: expected one of error | mask"),
    ([*CUSTOM, "dataset.test_fraction=1.5"], "dataset.test_fraction=1.5: expected a number in (0, 1)"),
    # model/text and model/series
    (["model.text.dense_units=abc"], "model.text.dense_units=abc: expected a list of integers >= 1"),
    (["model.text.dense_units=[8,x]"], "model.text.dense_units[1]=x: expected an integer"),
    (["model.text.dense_units=[8,0]"], "model.text.dense_units=[8, 0]: expected a list of integers >= 1"),
    (["model.text.lr=0"], "model.text.lr=0: expected a number > 0"),
    (["model.text.lr=fast"], "model.text.lr=fast: expected a number > 0"),
    (["model.text.epochs=0"], "model.text.epochs=0: expected an integer >= 1"),
    (["model.text.batch_size=1.5"], "model.text.batch_size=1.5: expected an integer >= 1"),
    (["model.text.optimizer=adagrad"], "model.text.optimizer=adagrad: expected one of adam | rmsprop | sgd"),
    (["model.text.dropout=1"], "model.text.dropout=1: expected a number in [0, 1)"),
    (["model.text.embedding=glove"], "model.text.embedding=glove: expected one of learned | word2vec"),
    (["model.text.lstm_units=[8]"], "model.text.lstm_units=[8]: expected an integer >= 1"),
    (
        ["model.text.early_stopping_patience=-1"],
        "model.text.early_stopping_patience=-1: expected null or an integer >= 0",
    ),
    (["model.text.lrr=0.1"], "model.text.lrr is not a key of model.text; its keys are: name, lr,"),
    (
        ["model/text=tfidf_logreg", "model.text.word_ngrams=[2,1]"],
        "model.text.word_ngrams=[2, 1]: expected null or [min, max]",
    ),
    (["model/text=tfidf_logreg", "model.text.C=0"], "model.text.C=0: expected a number > 0"),
    (
        ["dataset.cv.folds=3", "dataset.split_before_resampling=false"],
        "dataset.cv.folds needs dataset.split_before_resampling=true",
    ),
    (
        ["model/text=tfidf_logreg", "model.text.word_ngrams=null", "model.text.char_ngrams=null"],
        "model.text: set word_ngrams and/or char_ngrams; both are off",
    ),
    (
        ["model/text=tfidf_logreg", "model.text.class_weight=auto"],
        "model.text.class_weight=auto: expected one of balanced",
    ),
    (["model/text=tfidf_logreg", "model.text.embedding_dim=8"], "model.text.embedding_dim is not a key of model.text"),
    (["model.series.lstm_units=[]"], "model.series.lstm_units=[]: expected a list of at least 1 integers >= 1"),
    (["model.series.lstm_units=[8,-1]"], "model.series.lstm_units=[8, -1]: expected"),
    (
        ["model/series=conv1d", "model.series.kernel_sizes=[3]"],
        "model.series.kernel_sizes=[3]: expected one kernel size per filter",
    ),
    (["model/series=gru", "model.series.gru_units=abc"], "model.series.gru_units=abc: expected a list of"),
    (["model/series=minirocket", "model.series.n_kernels=10"], "model.series.n_kernels=10: expected an integer >= 84"),
    (
        ["model/series=minirocket", "model.series.n_jobs=0"],
        "model.series.n_jobs=0: expected -1 (all cores) or an integer >= 1",
    ),
    # fusion
    (["fusion.weights=equal"], "fusion.weights=equal: expected one of train_accuracy | val_accuracy"),
    (["fusion.weights_from=val"], "fusion.weights_from was renamed: use fusion.weights=train_accuracy|val_accuracy"),
    (["fusion.calibrate=maybe"], "fusion.calibrate=maybe: expected true or false"),
    (
        ["fusion=product", "fusion.weights=foo"],
        "fusion.weights=foo: expected one of equal | train_accuracy | val_accuracy",
    ),
    (["fusion=product", "fusion.eps=0"], "fusion.eps=0: expected a number in (0, 1)"),
    (["fusion=stacking", "fusion.features=raw"], "fusion.features=raw: expected one of proba | log"),
    (["fusion=stacking", "fusion.C=-1"], "fusion.C=-1: expected a number > 0"),
    (["fusion=ensemble_selection", "fusion.rounds=0"], "fusion.rounds=0: expected an integer >= 1"),
    # tracking and unknown options
    (["tracking.tensorboard=sometimes"], "tracking.tensorboard=sometimes: expected true or false"),
    (
        ["dataset=imagenet"],
        "In 'config': Could not find 'dataset/imagenet'. Available options in 'dataset': custom, factory, synthetic",
    ),
]


@pytest.mark.parametrize("overrides, message", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_a_bad_value_is_one_line_naming_the_key(overrides, message):
    with pytest.raises(MmfusionError) as info:
        compose_config(overrides)
    text = str(info.value)
    assert "\n" not in text, text
    assert text.startswith(message), text


GOOD = [
    ["dataset=synthetic", "dataset.samples_per_class=5"],
    ["fusion=product", "fusion.weights=val_accuracy"],
    ["dataset.series.window.start=-20", "dataset.series.window.length=40"],
    ["dataset.series.window.length=40", "dataset.series.window.jitter_start=10"],
    [*CUSTOM, "dataset.missing=mask"],
    ["model/series=minirocket", "model.series.n_jobs=-1"],
    ["model/text=tfidf_logreg", "model.text.word_ngrams=null"],
    [*FACTORY_RIETH, "dataset.series.files={faulty: f.csv}"],
    [*CUSTOM, "dataset.label_map={1: a, 2: b}"],
    ["dataset/text=generate", "dataset.text.categories=[leak,electronic,software,Mechanical Failure]"],
    [*CSV, "dataset/series=braatz", f"dataset.series.path={ROOT}"],
]


@pytest.mark.parametrize("overrides", GOOD, ids=[" ".join(o) for o in GOOD])
def test_values_at_the_edges_of_their_ranges_pass(overrides):
    compose_config(overrides)


# The four inputs of issue 10, through the command line: nothing simulated, no run directory, no traceback.
CLI = [
    (["dataset.samples_per_class=abc"], "dataset.samples_per_class=abc: expected an integer >= 1"),
    (["dataset=synthetic", "dataset.classes=[only]"], "dataset.classes=[only]: expected a list of at least 2"),
    (["model.text.dense_units=abc"], "model.text.dense_units=abc: expected a list of integers >= 1"),
    (["evaluation.bootstrap=-5"], "evaluation.bootstrap=-5: expected an integer >= 0"),
]


@pytest.mark.parametrize("command", [["train"], ["data", "build"]])
@pytest.mark.parametrize("overrides, message", CLI, ids=[" ".join(o) for o, _ in CLI])
def test_the_cli_stops_a_bad_value_before_any_work(tmp_path, command, overrides, message):
    cache = tmp_path / "cache"
    run_dir = [f"hydra.run.dir={tmp_path / 'run'}"] if command == ["train"] else []
    res = run_cli(*command, *overrides, *run_dir, cwd=tmp_path, env={"MMFUSION_CACHE": str(cache)}, timeout=120)
    assert res.returncode == 2, res.stderr[-2000:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mmfusion {command[0]}: error: {message}"), res.stderr
    assert "Traceback" not in res.stderr and not res.stdout.strip()
    assert not cache.exists() and not (tmp_path / "run").exists() and not (tmp_path / "outputs").exists()


def test_a_sweep_with_one_bad_value_starts_no_job(tmp_path):
    res = run_cli(
        "train",
        "-m",
        "dataset=synthetic",
        "seed=0,1",
        "evaluation.bootstrap=10,-3",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
        timeout=120,
    )
    assert (
        res.returncode == 2
        and res.stderr.strip() == "mmfusion train: error: evaluation.bootstrap=-3: expected an integer >= 0"
    )
    assert not (tmp_path / "sweep").exists()


def test_cfg_job_still_prints_a_config_with_required_values_unset(tmp_path):
    res = run_cli("train", "--cfg", "job", "dataset=custom", cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "records: ???" in res.stdout and not (tmp_path / "outputs").exists()
