"""Write docs/reference/config.md, the configuration reference, from the typed schemas.

Every key, its type and allowed range come from the dataclasses in `mmfusion/schemas/` (the same ones
Hydra checks at composition); the default shown is the value the option's YAML in `conf/` sets (what a
user gets), else the schema's, and the description is the YAML's end-of-line comment for that key.

    python scripts/gen_config_reference.py           # rewrite docs/reference/config.md
    python scripts/gen_config_reference.py --check   # exit 1 when the committed file is out of date

tests/project/test_docs.py runs the check, so a schema or config change without a regenerated page fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import typing
from pathlib import Path

import yaml
from omegaconf import MISSING

from mmfusion.schemas import GROUPS, run
from mmfusion.schemas.check.messages import type_words

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
OUT = ROOT / "docs" / "reference" / "config.md"
PREFIX = {  # config group -> where its keys sit in the composed config
    "dataset": "dataset",
    "dataset/series": "dataset.series",
    "dataset/text": "dataset.text",
    "model/text": "model.text",
    "model/series": "model.series",
    "fusion": "fusion",
    "joint": "joint",
    "tracking": "tracking",
}
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w]*):(?P<value>[^#]*?)\s*(?:#\s?(?P<comment>.*))?$")


def read_yaml(path: Path) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """The keys one YAML file sets: {dotted key: (value as written, end-of-line comment)} and its
    defaults list. Comment-only continuation lines extend the previous key's comment."""
    keys: dict[str, tuple[str, str]] = {}
    defaults: list[str] = []
    stack: list[tuple[int, str]] = []
    in_defaults = False
    last = None
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if last and line.startswith(" ") and line.index("#") > 8:  # an aligned continuation of a comment
                value, comment = keys[last]
                keys[last] = (value, f"{comment} {stripped.lstrip('#').strip()}".strip())
            continue
        if stripped.startswith("- "):
            if in_defaults:
                defaults.append(stripped[2:].split("#")[0].strip())
            continue
        m = KEY_LINE.match(line)
        if not m:
            continue
        indent, key, value = len(m["indent"]), m["key"], m["value"].strip()
        in_defaults = indent == 0 and key == "defaults"
        if in_defaults:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = ".".join([k for _, k in stack] + [key])
        keys[dotted] = (value, (m["comment"] or "").strip())
        last = dotted
        if value == "":
            stack.append((indent, key))
    return keys, defaults


def yaml_chain(group: str, option: str) -> tuple[dict[str, tuple[str, str]], str | None, str | None]:
    """Keys of conf/<group>/<option>.yaml merged over its same-group parents, the schema it names and the
    parent option it extends (None when it names a schema itself)."""
    keys, defaults = read_yaml(CONF / group / f"{option}.yaml")
    for item in defaults:
        if item.startswith("/schema/"):
            return keys, item.split("@")[0].rsplit("/", 1)[1], None
    for item in defaults:
        if item not in ("_self_",) and ":" not in item and not item.startswith("/"):
            parent_keys, schema, _ = yaml_chain(group, item)
            merged = dict(parent_keys)
            for key, (value, comment) in keys.items():
                merged[key] = (value, comment or parent_keys.get(key, ("", ""))[1])
            return merged, schema, item
    return keys, None, None


def fields_of(cls, prefix: str = ""):
    """(dotted key, type, schema default, expected range) of every leaf field, nested dataclasses flattened."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            yield from fields_of(tp, f"{prefix}{f.name}.")
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = MISSING
        yield f"{prefix}{f.name}", tp, default, f.metadata.get("expect", "")


def show(value) -> str:
    if value is MISSING or value == "???":
        return "required"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def same(written: str, default) -> bool:
    """Whether a value as written in YAML equals the schema's default (1.0e-3 == 0.001, ??? == required)."""
    if written.startswith("${"):
        return True
    try:
        loaded = yaml.safe_load(written)
    except yaml.YAMLError:
        return False
    if isinstance(loaded, str) and isinstance(default, float):
        try:
            loaded = float(loaded)
        except ValueError:
            return False
    if loaded == "???":
        return default is MISSING
    return show(loaded) == show(default)


def key_table(cls, prefix: str, yaml_keys: dict[str, tuple[str, str]], skip: set[str] = frozenset()) -> list[str]:
    rows = ["| key | type | default | allowed | meaning (from the YAML) |", "|---|---|---|---|---|"]
    for key, tp, default, expect in fields_of(cls):
        if tp is typing.Any and default is MISSING:
            continue  # a config group's node: documented under its group
        if key in skip:
            continue
        schema_default = show(default)
        value, comment = yaml_keys.get(key, ("", ""))
        shown = ("required" if value == "???" else value) if value else schema_default
        if value and not same(value, default):
            shown = f"{value} (schema: {schema_default})"
        rows.append(
            f"| `{prefix}.{key}` | {cell('a mapping' if tp is typing.Any else type_words(tp))} | `{cell(shown)}` | {cell(expect) or '-'} | {cell(comment)} |"
        )
    return rows


def options_of(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def render() -> str:
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by scripts/gen_config_reference.py from mmfusion/schemas/ and conf/; do not edit by hand.",
        "     tests/project/test_docs.py fails when this file is out of date: rerun the script. -->",
        "",
        "Every key `mmfusion train` and `mmfusion data build` accept, from the typed schemas in",
        "`mmfusion/schemas/` (type and allowed range) and the YAML files in `conf/` (default and meaning).",
        "*default* is the value the option's YAML sets, or the schema's default where the YAML does not set",
        "the key; where the two differ both are shown. `required`: no default, give it on the command line.",
        "A key outside these tables, a wrong type or a value outside its range stops the command before any",
        "data is built (see [Configuration](../configuration.md)).",
        "",
        "## Top-level keys (`conf/config.yaml`)",
        "",
    ]
    top_keys, _ = read_yaml(CONF / "config.yaml")
    table = key_table(run.ConfigSchema, "", top_keys)
    out += [row.replace("`.", "`", 1) for row in table] + [""]
    out += [
        "Config groups chosen on the command line (`group=option`), each documented below: "
        + ", ".join(f"`{g}`" for g in PREFIX)
        + "; then `experiment` (delta files in `conf/experiment/`); `hparams_search` (`conf/hparams_search/`) is on the [Hyper-parameter search](../hparams-search.md) page.",
        "",
    ]
    for group, prefix in PREFIX.items():
        schemas = GROUPS[group]
        out += [f"## `{group}`", ""]
        options = options_of(group)
        out += ["Options: " + ", ".join(f"`{group}={o}`" for o in options) + ".", ""]
        for option in options:
            keys, schema_name, parent = yaml_chain(group, option)
            if schema_name is None or schema_name not in schemas:
                continue
            out += [f"### `{group}={option}`", ""]
            if parent:
                out += [f"Every key of `{group}={parent}`; the YAML sets these values over them.", ""]
            skip = set()
            if group == "dataset" and option == "factory":
                skip = {"series", "text"}
            if group == "dataset/series":  # the keys every source shares: one table after the sources
                skip = {key for key, *_ in fields_of(schemas[schema_name].__mro__[1])} - {"source"}
            rows = key_table(schemas[schema_name], prefix, keys, skip)
            if parent:
                own, _ = read_yaml(CONF / group / f"{option}.yaml")
                rows = rows[:2] + [r for r in rows[2:] if r.split("`")[1].removeprefix(prefix + ".") in own]
            out += rows + [""]
        if group == "dataset/series":
            factory_keys, _ = read_yaml(CONF / "dataset" / "factory.yaml")
            series_keys = {k.removeprefix("series."): v for k, v in factory_keys.items() if k.startswith("series.")}
            out += [
                "### Keys of every series source",
                "",
                "Set in `conf/dataset/factory.yaml` whichever source is chosen:",
                "",
            ]
            base = schemas["simulate"].__mro__[1]
            out += key_table(base, prefix, series_keys, {"source"}) + [""]
    out += experiments()
    return "\n".join(out).rstrip() + "\n"


def experiments() -> list[str]:
    """What each conf/experiment/<name>.yaml changes: the group options it picks and the keys it sets."""
    out = [
        "## `experiment`",
        "",
        "Delta files applied last (`experiment=<name>`): the group options each picks and the values it sets",
        "over the defaults above; any of them can still be overridden on the command line.",
        "",
    ]
    for option in options_of("experiment"):
        keys, defaults = read_yaml(CONF / "experiment" / f"{option}.yaml")
        picks = [
            d.removeprefix("override ").lstrip("/").replace(": ", "=") for d in defaults if d.startswith("override")
        ]
        out += [f"### `experiment={option}`", ""]
        if picks:
            out += ["Picks " + ", ".join(f"`{p}`" for p in picks) + ".", ""]
        out += ["| key | value | meaning (from the YAML) |", "|---|---|---|"]
        for key, (value, comment) in keys.items():
            if value:
                out.append(f"| `{key}` | `{cell(value)}` | {cell(comment)} |")
        out.append("")
        for source in options_of("dataset/series"):  # the keys only one series source has
            path = CONF / "experiment" / "series" / f"{option}_{source}.yaml"
            rows = [(k, v, c) for k, (v, c) in read_yaml(path)[0].items() if v] if path.is_file() else []
            if rows:
                out += [f"With `dataset/series={source}` (`conf/experiment/series/{path.name}`):", ""]
                out += ["| key | value | meaning (from the YAML) |", "|---|---|---|"]
                out += [f"| `{k}` | `{cell(v)}` | {cell(c)} |" for k, v, c in rows] + [""]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed file differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(
                f"{OUT.relative_to(ROOT)} is out of date: run python scripts/gen_config_reference.py", file=sys.stderr
            )
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
