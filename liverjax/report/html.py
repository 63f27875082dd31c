"""The report's Markdown as a standalone HTML page (markdown-it-py, CommonMark with tables)."""

from __future__ import annotations

from markdown_it import MarkdownIt

_HEAD = ('<!doctype html><html><head><meta charset="utf-8"><title>liverjax report</title>\n'
         '<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:'
         'collapse}td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:100%}</style>\n'
         '</head><body>\n')


def to_html(md: str) -> str:
  """Returns a standalone HTML rendering of Markdown (raw HTML in it is escaped)."""
  body = MarkdownIt('commonmark', {'html': False}).enable('table').render(md)
  return _HEAD + body + '</body></html>\n'
