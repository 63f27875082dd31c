"""Joins the parts of a replicates benchmark into one result.

  python -m liverjax.tools.merge --workdir=OUT PART [PART ...]

Each PART is a finished workdir of configs/benchmark.py that ran replicates [first, first +
count). The parts must agree on everything else in their configs and on the liverjax commit (a
clean tree), and their replicates must not overlap; otherwise the merge is refused, naming the
difference, and nothing is written. OUT gets the parts' run records, config.json (the union of
replicates), data.json (of the test cohort and every replicate's cohort, drawn again), the GAN
sample grids of each replicate, results.json (the summary over every replicate, with each part's
provenance) and the report.
"""

from __future__ import annotations

import os
import re
import shutil

import ml_collections
from absl import flags

from liverjax import report
from liverjax.base import cli, errors, workdir as wd
from liverjax.datasets import cohorts
from liverjax.evaluation import inference
from liverjax.experiment import classifier_job, summary

FLAGS = flags.FLAGS
# Keys a part may differ in: which replicates it ran and how it was run, not what.
PART_KEYS = ('replicates.first', 'replicates.count', 'overwrite', 'progress', 'num_devices')


def define_flags() -> None:
  flags.DEFINE_string('workdir', None, 'Where the merged result is written.')


def _flat(d: dict, prefix: str = '') -> dict:
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flat(v, f'{prefix}{k}.'))
    else:
      out[f'{prefix}{k}'] = v
  return out


def read_part(path: str) -> dict:
  """Returns a finished part's config, data, results and run records; refuses anything else."""
  files = {n: wd.read_json(os.path.join(path, f'{n}.json')) for n in ('config', 'data', 'results')}
  missing = [n for n, v in files.items() if v is None]
  if missing:
    raise errors.WorkdirError(f'{path}: no {", ".join(m + ".json" for m in missing)} (is it a '
                              'finished benchmark part?)')
  if files['config'].get('design') != 'replicates':
    raise errors.ConfigError(f'{path}: not a replicates benchmark (config.design='
                             f'{files["config"].get("design", "cv")}); only its parts merge')
  runs_dir = os.path.join(path, 'runs')
  files['runs'] = {n: wd.read_json(os.path.join(runs_dir, n)) for n in sorted(os.listdir(runs_dir))}
  files['path'] = path
  return files


def check_parts(parts: list[dict]) -> list[int]:
  """Raises ConfigError unless the parts share config (but PART_KEYS) and a clean commit and
  run disjoint replicates; returns every replicate, sorted."""
  first = parts[0]
  ref = {k: v for k, v in _flat(first['config']).items() if k not in PART_KEYS}
  seen = {}
  for p in parts:
    flat = {k: v for k, v in _flat(p['config']).items() if k not in PART_KEYS}
    diff = sorted(k for k in set(ref) | set(flat) if ref.get(k) != flat.get(k))
    if diff:
      raise errors.ConfigError(f'{p["path"]} and {first["path"]} differ in config.{diff[0]} '
                               f'({flat.get(diff[0])!r} vs {ref.get(diff[0])!r}): not parts of '
                               'one benchmark')
    prov, prov0 = (x['results'].get('provenance') or {} for x in (p, first))
    if prov.get('commit') is None or prov.get('dirty'):
      raise errors.ConfigError(f'{p["path"]}: no clean liverjax commit in its results.json '
                               'provenance; parts merge only from one clean commit')
    if prov['commit'] != prov0.get('commit'):
      raise errors.ConfigError(f'{p["path"]} ran commit {prov["commit"][:10]}, {first["path"]} '
                               f'{prov0.get("commit", "")[:10]}: parts merge only from one commit')
    r = p['config']['replicates']
    for unit in range(r['first'], r['first'] + r['count']):
      if unit in seen:
        raise errors.ConfigError(f'replicate {unit} is in both {seen[unit]} and {p["path"]}')
      seen[unit] = p['path']
  return sorted(seen)


def merge(out: str, paths: list[str]) -> dict:
  """Merges the parts into out and returns its results.json content."""
  parts = [read_part(p) for p in paths]
  units = check_parts(parts)
  config = ml_collections.ConfigDict(parts[0]['config'])
  config.replicates.first, config.replicates.count = units[0], len(units)
  records = [r for p in parts for r in p['runs'].values()]
  classes = parts[0]['results']['classes']
  design = inference.Design.replicates(len(units))
  results = summary.summarize(records, classes, config, design)
  share = summary.oracle_share(records, config, design)
  if share:
    results['oracle_share'] = share
  diversity = {k: v for p in parts for k, v in p['results'].get('gan_diversity', {}).items()}
  if diversity:
    results['gan_diversity'] = diversity
    results['collapsed_generators'] = sorted(f'{pool}/{c}' for pool, d in diversity.items()
                                             for c, v in d.items() if v['collapsed'])
  r = config.replicates   # the data of every replicate: their cohorts, the shared test cohort
  ds, folds = cohorts.load(config.data.phantom, tuple(r.train_counts), r.test_per_class, units)
  results['data'] = {'source': ds.source, 'n_images': len(ds), 'class_counts': ds.class_counts()}
  results['provenance'] = parts[0]['results']['provenance']
  results['parts'] = [{'workdir': os.path.abspath(p['path']),
                       'replicates': [p['config']['replicates']['first'],
                                      p['config']['replicates']['count']],
                       'provenance': p['results']['provenance']} for p in parts]
  if units != list(range(units[0], units[0] + len(units))):
    results['replicates'] = units   # not contiguous: config.replicates spans them
  os.makedirs(os.path.join(out, 'runs'), exist_ok=True)
  for p in parts:
    for name in p['runs']:
      shutil.copyfile(os.path.join(p['path'], 'runs', name), os.path.join(out, 'runs', name))
  for p in parts:   # each replicate's GAN sample grids (figures/<arm>_fold<replicate>/)
    src = os.path.join(p['path'], 'figures')
    for name in sorted(os.listdir(src)) if os.path.isdir(src) else []:
      if re.fullmatch(r'\w+_fold\d+', name) and os.path.isdir(os.path.join(src, name)):
        shutil.copytree(os.path.join(src, name), os.path.join(out, 'figures', name),
                        dirs_exist_ok=True)
  wd.write_json(os.path.join(out, 'config.json'), config.to_dict())
  classifier_job.write_data(out, config, ds, folds)
  wd.write_json(os.path.join(out, 'results.json'), results)
  return results


def main(argv):
  paths = argv[1:]
  if not paths:
    raise errors.ConfigError('name the parts: python -m liverjax.tools.merge --workdir=OUT PART '
                             '[PART ...]')
  with wd.locked(FLAGS.workdir):
    results = merge(FLAGS.workdir, paths)
    report.write(FLAGS.workdir)
  p = results['paired_accuracy'].get(results.get('primary', ''), None)
  print(f'{len(paths)} parts, {results["design"]["units"]} replicates -> {FLAGS.workdir}')
  if p:
    print(f'{results["primary"]}: {100 * p["mean_diff"]:+.1f} points [{100 * p["ci95"][0]:+.1f}, '
          f'{100 * p["ci95"][1]:+.1f}], smallest detectable {100 * p["mde"]:.1f}')


if __name__ == '__main__':
  define_flags()
  flags.mark_flags_as_required(['workdir'])
  cli.run(main)
