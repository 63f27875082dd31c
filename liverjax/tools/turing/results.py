"""A study's readers' links and its statistics, written beside the experiment's results."""

from __future__ import annotations

import os

from liverjax.base import workdir as wd
from liverjax.evaluation import turing
from liverjax.tools.turing import store


def links(db_path: str, base_url: str) -> list[str]:
  """Returns 'name: URL' of each reader's page."""
  conn = store.connect(db_path)
  try:
    return [f'{name}: {base_url}/r/{token}' for name, token in store.readers(conn).items()]
  finally:
    conn.close()


def report(workdir: str, n_boot: int = 2000) -> dict:
  """Writes the study's statistics (:func:`liverjax.evaluation.turing.study_stats`) to
  W/turing/turing.json and turing.md; with a results.json (an experiment), adds its medigan-style
  row as results.json's turing_test and rebuilds the report. Returns the statistics."""
  conn = store.connect(store.path(workdir))
  try:
    meta, answers = store.meta(conn), store.answers(conn)
  finally:
    conn.close()
  from liverjax import report as experiment_report   # matplotlib: not at the server's start
  from liverjax.report import turing as turing_report
  stats = dict(turing.study_stats(answers, meta['classes'], n_boot), study=meta)
  wd.write_json(os.path.join(workdir, 'turing', 'turing.json'), stats)
  wd.write_text(os.path.join(workdir, 'turing', 'turing.md'),
                '\n'.join(turing_report.section(stats)) + '\n')
  results_path = os.path.join(workdir, 'results.json')
  results = wd.read_json(results_path)
  if results is not None and os.path.exists(os.path.join(workdir, 'data.json')):
    results['turing_test'] = dict(stats['medigan'], details='turing/turing.json')
    wd.write_json(results_path, results)
    experiment_report.write(workdir)
  return stats
