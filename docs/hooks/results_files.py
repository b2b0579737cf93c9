"""MkDocs hook: serve the committed result files the docs link to, with their links checked.

The pages link to results as they sit in the repository, relative to the page
(`../outputs/results/<folder>/report.md`, `../outputs/results/<folder>/report_figures/<fig>.png`), so the
same links work when GitHub renders docs/*.md. `outputs/` lies outside docs_dir; this hook adds each linked
file to the site under `outputs/results/...` (copied as it is: a linked report.md is served raw, not
rendered as a page) and rewrites the links to that copy. A link to a folder points at the folder's
report.md on the site (else its joint_summary.md, else outputs/results/INDEX.md; GitHub shows the folder). A link to a missing file is a warning, which
`mkdocs build --strict` turns into a failed build.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.results_files")
LINK = re.compile(r"(\]\()((?:\.\./)+outputs/results/[^)\s#]*)")


class ResultFile(File):
    """A copied result file: never rendered, whatever its extension."""

    def is_documentation_page(self) -> bool:
        return False


def _target(page_uri: str, link: str) -> str | None:
    """The repository path a page's link points to, when it points into outputs/results/."""
    path = posixpath.normpath(posixpath.join("docs", posixpath.dirname(page_uri), link))
    return path if path.startswith("outputs/results/") else None


def _site_path(root: Path, path: str) -> str:
    """A file links to itself; a folder to its report (report.md, else joint_summary.md), else to the index."""
    if not (root / path).is_dir():
        return path
    for name in ("report.md", "joint_summary.md"):
        if (root / path / name).is_file():
            return posixpath.join(path, name)
    return "outputs/results/INDEX.md"


def on_files(files, config):
    root = Path(config["docs_dir"]).resolve().parent
    wanted: set[str] = set()
    for file in files.documentation_pages():
        text = Path(file.abs_src_path).read_text(encoding="utf-8")
        for _, link in LINK.findall(text):
            path = _target(file.src_uri, link)
            if path is not None:
                wanted.add(_site_path(root, path.rstrip("/")))
    for path in sorted(wanted):
        if not (root / path).is_file():
            log.warning("a page links to %s, which is not a committed file", path)
            continue
        files.append(ResultFile(path, str(root), config["site_dir"], config["use_directory_urls"], dest_uri=path))
    return files


def on_page_markdown(markdown, page, config, files):
    root = Path(config["docs_dir"]).resolve().parent

    def rewrite(m: re.Match) -> str:
        path = _target(page.file.src_uri, m.group(2))
        if path is None:
            return m.group(0)
        site = _site_path(root, path.rstrip("/"))
        return m.group(1) + posixpath.relpath(site, posixpath.dirname(page.file.src_uri) or ".")

    return LINK.sub(rewrite, markdown)
