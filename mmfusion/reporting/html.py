"""A self-contained HTML page from the Markdown that `report` writes, rendered by markdown-it-py
(CommonMark with pipe tables).

Images are embedded as base64 data URIs so that the page travels alone (paths relative to `base`); a
missing image becomes a visible note, not a broken image. Wide figures (two panels side by side, such
as the training curves) take the full page width, the others half of it.
"""

from __future__ import annotations

import base64
import html
import struct
from pathlib import Path

from markdown_it import MarkdownIt

_STYLE = (
    "body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em;line-height:1.4}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.25em .6em;"
    "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:48%;margin:.3em;"
    "vertical-align:top}img.wide{max-width:100%;display:block}code{background:#f3f3f3;padding:0 .2em}"
    ".missing{color:#a00}"
)
WIDE = 1.6  # width / height above which a figure is shown at full width
MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk; None for anything else."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    return struct.unpack(">II", data[16:24])


def _image(alt: str, src: str, base: Path) -> str:
    path = base / src
    if "://" in src or not path.is_file():
        return f'<span class="missing">[missing figure {html.escape(src)}]</span>'
    data = path.read_bytes()
    size = png_size(data)
    wide = ' class="wide"' if size and size[1] and size[0] / size[1] > WIDE else ""
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}"{wide} src="data:{mime};base64,{encoded}">'


def renderer(base: Path) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def image(self, tokens, idx, options, env):
        token = tokens[idx]
        return _image(token.content, token.attrGet("src") or "", base)

    md.add_render_rule("image", image)
    return md


def markdown_to_html(text: str, base: Path, title: str) -> str:
    body = renderer(Path(base)).render(text)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n{body}</body></html>\n"
    )
