"""The report's Markdown as a standalone HTML page (markdown-it-py, CommonMark with tables)."""

from __future__ import annotations

import os
from typing import Callable

from markdown_it import MarkdownIt

from liverjax.base import workdir as wd

_HEAD = ('<!doctype html><html><head><meta charset="utf-8"><title>liverjax report</title>\n'
         '<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:'
         'collapse}td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:100%}</style>\n'
         '</head><body>\n')


def to_html(md: str) -> str:
  """Returns a standalone HTML rendering of Markdown (raw HTML in it is escaped)."""
  body = MarkdownIt('commonmark', {'html': False}).enable('table').render(md)
  return _HEAD + body + '</body></html>\n'


def write_pair(workdir: str, stem: str, build: Callable[[str], str]) -> str:
  """Writes <stem>.md and <stem>.html into the workdir from build(workdir) (process 0 only;
  the others build nothing); returns the Markdown path."""
  path = os.path.join(workdir, f'{stem}.md')
  if not wd.is_writer():
    return path
  md = build(workdir)
  wd.write_text(os.path.join(workdir, f'{stem}.html'), to_html(md))
  return wd.write_text(path, md)
