"""A self-contained HTML page from the Markdown that `report` writes (no extra dependency).

Handles what report.md uses: headings, paragraphs, pipe tables, images (embedded as base64 data URIs
so the page travels alone), **bold** and `code`. Image paths are relative to `base`.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

_STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em;line-height:1.4}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.25em .6em;"
    "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:48%;margin:.3em}"
    "code{background:#f3f3f3;padding:0 .2em}"
)
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]+)\)")


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def _image(alt: str, src: str, base: Path) -> str:
    path = base / src
    if not path.is_file():
        return f"<p>[missing figure {html.escape(src)}]</p>"
    mime = "image/png" if path.suffix.lower() == ".png" else "image/svg+xml" if path.suffix == ".svg" else "image/jpeg"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{data}">'


def _row(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_to_html(text: str, base: Path, title: str) -> str:
    body, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.startswith("|") and i + 1 < len(lines) and set(lines[i + 1].replace("|", "").strip()) <= set("-: "):
            head, rows = _row(line), []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_row(lines[i]))
                i += 1
            cells = "".join(f"<th>{_inline(c)}</th>" for c in head)
            trs = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows)
            body.append(f"<table><thead><tr>{cells}</tr></thead><tbody>{trs}</tbody></table>")
            continue
        elif _IMAGE.fullmatch(line.strip()):
            alt, src = _IMAGE.fullmatch(line.strip()).groups()
            body.append(_image(alt, src, base))
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
        i += 1
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
