"""The run directory, the one reader and writer of its format: `config.yaml` (the resolved config),
`metrics.json`, `predictions.npz` (per split: labels, ids, presence masks, probabilities of every
model), `versions.json`, `provenance.json`, `checksums.json` and the marker `COMPLETE`.

A run writes every file first and the marker last, so an interrupted run never looks complete;
`fuse`, `predict` and `report` read only these files, through this package. metrics.json and
predictions.npz are typed records (`Metrics`, `RuleComparison`, `Predictions`, a finished `Run`):
no other module parses them, and the defaults for keys older runs lack are set once, in the records.

Every write goes to a temporary name in the same folder, then is renamed over the target (a full disk
or a kill leaves the previous file whole); every failed read or write is one `FileError` naming the
file (`mmfusion.errors.describe`). Before the marker, `checksums.json` records the size and SHA-256 of
the files a run (or a re-fusion) wrote, its models included; readers check them, so a damaged or
changed file is named as such instead of failing somewhere inside NumPy or Keras.

Modules (import each name from the module that holds it):

- `files`: the files' names, atomic writes, JSON / .npz / config reads, checksums kept current on rewrite
- `checksums`: checksums.json, recorded before the marker and verified by readers
- `markers`: the `COMPLETE` marker: when a directory is a finished run
- `records`: the typed records of metrics.json and predictions.npz, and a finished `Run`
- `provenance`: which code made a run (versions.json, provenance.json) and where its time went
- `collected`: a run's report-ready copy made by scripts/collect_results.py
"""
