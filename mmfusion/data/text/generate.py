"""The project's own fault-report generator: short technician notes for four fault categories.

Reports are composed from equipment x symptom x phrasing: several sentence templates (varied word
order, terse and full forms), optional location / time / reporter clauses, sometimes a second sentence
(an action taken or a remark), occasional typos. A share of reports is deliberately ambiguous: a symptom
that fits several categories (overheating, odd noise, stuck, stopping, burning smell, alarm, ...) on
equipment that is often generic, so a text model cannot reach 100% accuracy on them.

All vocabulary (data/text/phrases.py) was written for this project; none of it is taken from any data set.
Categories, in the paper's fault-type order: 1 electronic failure, 2 leak, 3 mechanical failure,
4 software failure.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from mmfusion.data.dataset import TextData
from mmfusion.data.text.phrases import (
    ACTIONS,
    AMBIGUOUS_NP,
    AMBIGUOUS_VP,
    CATEGORIES,
    EQUIPMENT,
    GENERIC_EQUIPMENT,
    LOCATIONS,
    REMARKS,
    REPORTERS,
    SYMPTOM_NP,
    SYMPTOM_VP,
    TEMPLATES_NP,
    TEMPLATES_VP,
    TIMES,
)

log = logging.getLogger(__name__)


def _phrases() -> list[str]:
    out: list[str] = []
    for table in (EQUIPMENT, SYMPTOM_VP, SYMPTOM_NP, ACTIONS):
        for items in table.values():
            out += items
    for items in (
        GENERIC_EQUIPMENT,
        AMBIGUOUS_VP,
        AMBIGUOUS_NP,
        REMARKS,
        LOCATIONS,
        TIMES,
        REPORTERS,
        TEMPLATES_VP,
        TEMPLATES_NP,
    ):
        out += items
    return out


# every lower-case word the generator can write without typos (template slot names excluded)
VOCABULARY = frozenset(re.findall(r"[a-z]+", re.sub(r"\{\w+\}", " ", " ".join(_phrases()).lower())))


def _category(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").removesuffix("_failure")
    if key not in CATEGORIES:
        raise ValueError(f"generate_reports: category {name!r} is not known; use one of {list(CATEGORIES)}")
    return key


def _typo(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word) - 1))  # never touch the first letter
    if rng.random() < 0.5 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swap two neighbouring letters
    return word[:i] + word[i + 1 :]  # drop a letter


def _pick(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _sentence(cat: str, ambiguous: bool, rng: np.random.Generator) -> str:
    if ambiguous:  # equipment: generic 60%, own category 25%, another category 15%
        u = rng.random()
        other = _pick(rng, [c for c in CATEGORIES if c != cat])
        eq = _pick(rng, GENERIC_EQUIPMENT if u < 0.6 else EQUIPMENT[cat] if u < 0.85 else EQUIPMENT[other])
        vps, nps = AMBIGUOUS_VP, AMBIGUOUS_NP
    else:
        eq = _pick(rng, GENERIC_EQUIPMENT if rng.random() < 0.25 else EQUIPMENT[cat])
        vps, nps = SYMPTOM_VP[cat], SYMPTOM_NP[cat]
    time = _pick(rng, TIMES) if rng.random() < 0.3 else ""
    slots = {
        "eq": eq,
        "vp": _pick(rng, vps),
        "np": _pick(rng, nps),
        "loc": " " + _pick(rng, LOCATIONS) if rng.random() < 0.3 else "",
        "time": time + ", " if time else "",
        "time_lc": (time or _pick(rng, TIMES)).lower() + ".",
        "who": _pick(rng, REPORTERS) + " " if rng.random() < 0.5 else "",
    }
    template = _pick(rng, TEMPLATES_VP if rng.random() < 0.6 else TEMPLATES_NP)
    text = template.format(**slots)
    return text[0].upper() + text[1:]


def _report(cat: str, ambiguous: bool, rng: np.random.Generator) -> str:
    parts = [_sentence(cat, ambiguous, rng)]
    u = rng.random()
    if u < 0.2 and not ambiguous:
        parts.append(_pick(rng, ACTIONS[cat]))
    elif u < 0.4:
        parts.append(_pick(rng, REMARKS))
    elif u < 0.5:
        parts.append(_sentence(cat, ambiguous, rng))
    return " ".join(p if p.endswith(".") or i == len(parts) - 1 else p + "." for i, p in enumerate(parts))


def _with_typos(text: str, rate: float, rng: np.random.Generator) -> tuple[str, int]:
    n = 0

    def maybe(m: re.Match) -> str:
        nonlocal n
        if rng.random() >= rate:
            return m.group(0)
        n += 1
        return _typo(m.group(0), rng)

    return re.sub(r"[A-Za-z]{4,}", maybe, text), n


def generate_reports(
    classes: list[str],
    per_class: int | list[int],
    seed: int,
    *,
    categories: list[str] | None = None,
    ambiguous_share: float = 0.1,
    typo_rate: float = 0.02,
) -> TextData:
    """Generate `per_class` reports for each class (shuffled); deterministic given `seed`.

    `categories` maps each class to "electronic", "leak", "mechanical" or "software" (default: the
    classes in that order). In each class, round(ambiguous_share * count) reports are ambiguous.
    """
    classes = list(classes)
    cats = _checked_categories(classes, categories)
    counts = _checked_counts(classes, per_class)
    _check_rates(ambiguous_share, typo_rate)
    rng = np.random.default_rng(seed)
    texts, labels, n_typos, n_amb = _write_reports(cats, counts, ambiguous_share, typo_rate, rng)
    order = rng.permutation(len(texts))
    texts_arr = np.asarray(texts, dtype=object)[order]
    info = {
        "source": "generated",
        "n": len(texts),
        "class_counts": {c: int(n) for c, n in zip(classes, counts)},
        "categories": {c: cat for c, cat in zip(classes, cats)},
        "ambiguous": int(sum(n_amb)),
        "ambiguous_per_class": {c: n for c, n in zip(classes, n_amb)},
        "ambiguous_share": float(ambiguous_share),
        "typo_rate": float(typo_rate),
        "typos": int(n_typos),
        "duplicate_texts": int(len(texts) - len(set(texts))),
        "seed": int(seed),
    }
    log.info(
        "generated %d reports (%d ambiguous, %d typos, %d duplicates)",
        info["n"],
        info["ambiguous"],
        n_typos,
        info["duplicate_texts"],
    )
    ids = np.asarray([f"gen-{i + 1:05d}" for i in range(len(texts))])
    return TextData(texts=texts_arr, y=np.asarray(labels, dtype=np.int64)[order], ids=ids, info=info)


# The argument checks are for Python callers (ValueError): from a config, the config check
# (mmfusion/schemas/check/, its sources.py) has refused the same values before anything is built.


def _checked_categories(classes: list[str], categories: list[str] | None) -> list[str]:
    """Each class's report category (default: CATEGORIES in order), distinct, one per class."""
    if not classes:
        raise ValueError("generate_reports: classes is empty; give at least one class name")
    if categories is None:
        if len(classes) > len(CATEGORIES):
            raise ValueError(
                f"generate_reports: {len(classes)} classes but only {len(CATEGORIES)} report "
                f"categories {list(CATEGORIES)}; set categories to map each class to one"
            )
        categories = list(CATEGORIES[: len(classes)])
    if len(categories) != len(classes):
        raise ValueError(
            f"generate_reports: categories has {len(categories)} entries, classes has "
            f"{len(classes)}; give one category per class"
        )
    cats = [_category(c) for c in categories]
    if len(set(cats)) != len(cats):
        raise ValueError(
            f"generate_reports: categories {cats} repeat a category; two classes would "
            f"get the same reports. Give each class its own category"
        )
    return cats


def _checked_counts(classes: list[str], per_class) -> list:
    counts = [per_class] * len(classes) if isinstance(per_class, (int, np.integer)) else list(per_class)
    if len(counts) != len(classes) or any(int(c) != c or c < 1 for c in counts):
        raise ValueError(
            f"generate_reports: per_class must be a positive integer or one positive integer "
            f"per class ({len(classes)}), got {per_class!r}"
        )
    return counts


def _check_rates(ambiguous_share: float, typo_rate: float) -> None:
    if not 0.0 <= ambiguous_share <= 1.0:
        raise ValueError(f"generate_reports: ambiguous_share must be in [0, 1], got {ambiguous_share}")
    if not 0.0 <= typo_rate < 1.0:
        raise ValueError(f"generate_reports: typo_rate must be in [0, 1), got {typo_rate}")


def _write_reports(cats: list[str], counts: list, ambiguous_share: float, typo_rate: float, rng):
    """Each class's reports, in class order: (texts, labels, typos made, ambiguous reports per class)."""
    texts, labels, n_typos, n_amb = [], [], 0, []
    for k, (cat, count) in enumerate(zip(cats, counts)):
        amb = np.zeros(int(count), dtype=bool)
        amb[rng.permutation(int(count))[: int(round(ambiguous_share * count))]] = True
        n_amb.append(int(amb.sum()))
        for a in amb:
            text = _report(cat, bool(a), rng)
            while not 5 <= len(text.split()) <= 25:
                text = _report(cat, bool(a), rng)
            text, t = _with_typos(text, typo_rate, rng)
            texts.append(text)
            labels.append(k)
            n_typos += t
    return texts, labels, n_typos, n_amb


def from_config(cfg, classes: list[str], per_class: int, seed: int) -> TextData:
    """`dataset/text=generate`: `reports_per_class` (else `per_class`) generated reports per class."""
    n = int(cfg.reports_per_class) if cfg.get("reports_per_class") else per_class
    return generate_reports(
        classes,
        n,
        int(seed),
        categories=list(cfg.categories) if cfg.get("categories") else None,
        ambiguous_share=float(cfg.ambiguous_share),
        typo_rate=float(cfg.typo_rate),
    )
