"""The experiment's report as Markdown, section by section, from the workdir's files (no live
object): config.json, data.json, results.json and the figures beside them."""

from __future__ import annotations

from liverjax.base import provenance

# The paper's effect, classic + DCGAN over classic alone (85.7% - 78.6%): the difference a run of
# this protocol should be able to see.
PAPER_EFFECT = 0.071

METRICS = (('accuracy', 'accuracy'), ('sensitivity_macro', 'sens. macro'),
           ('specificity_macro', 'spec. macro'), ('sensitivity_micro', 'sens. micro'),
           ('specificity_micro', 'spec. micro'))


def _pct(m: dict) -> str:
  return f'{100 * m["mean"]:.1f} [{100 * m["ci95"][0]:.1f}, {100 * m["ci95"][1]:.1f}]'


def table(header: list[str], rows: list[list[str]]) -> list[str]:
  return (['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] +
          ['| ' + ' | '.join(r) + ' |' for r in rows] + [''])


def _fraction(data: dict) -> str:
  if data.get('fraction', 1.0) == 1.0:
    return ''
  return (f' Training folds keep {100 * data["fraction"]:g}% of their patients (config.data.'
          f'fraction): {" / ".join(map(str, data["train_sizes"]))} training ROIs per fold.')


def _phantom(data: dict) -> str:
  p = data.get('phantom') or {}
  if p.get('calibrated_on_seed') is None:
    return ''
  cal = p['calibrated_on_seed']
  return (f' The phantom (version {p["version"]}) was calibrated on phantom seed {cal} toward the '
          'paper\'s regime (none 57%, classic 78.6%, an oracle 8 points or more above classic) '
          'and real CT texture; what it reached: docs/decisions/phantom_v2.md.' +
          (f' **This report is on seed {cal}, the calibration seed: its none, classic and real '
           'arms are not an independent measure.**' if p['seed'] == cal else ''))


def header(config: dict, data: dict, results: dict) -> list[str]:
  """Returns the title and the paragraphs on data, protocol and how to read the numbers."""
  folds, seeds = config['folds'], list(config['seeds'])
  design = results.get('design') or {'kind': 'cv', 'units': folds,
                                     'description': f'{folds}-fold cross-validation'}
  how = (', each replicate a fresh training cohort, all tested on one test cohort'
         if design['kind'] == 'replicates' else ', grouped by patient')
  interval = next(iter(results['arms'].values()))['interval']
  return ['# liverjax report', '',
          f'Data: `{data["source"]}`, {data["n_images"]} ROIs, classes '
          f'{", ".join(data["classes"])} with counts {data["class_counts"]}, {data["n_groups"]} '
          f'groups (patients/lesions). {design["description"]}{how}, seeds '
          f'{seeds}: {len(seeds) * design["units"]} runs per arm and size.{_fraction(data)}'
          f'{_phantom(data)} Config: '
          '`config.json` in this folder.' + _provenance(results), '',
          f'Numbers are percentages: {interval} (the seeds of a split share its test ROIs, so '
          'splits, not runs, are the units; the interval stays inside [0, 100]). '
          'The paper\'s headline *specificity* (88.4% classic, 92.4% DCGAN) is the **macro** '
          'average; its headline *sensitivity* equals accuracy, i.e. the **micro** average. '
          + _selection(results), '']


def _provenance(results: dict) -> str:
  p = results.get('provenance')
  return f' Produced by {provenance.one_line(p)}.' if p else ''


def _selection(results: dict) -> str:
  swept = [a for a, r in results['arms'].items() if len(r.get('sweep', {})) > 1]
  if not swept:
    return 'Each arm ran one size, fixed in advance.'
  return (f'The sizes of {", ".join(swept)} were picked by best mean test accuracy over each '
          'sweep, as in the paper (optimistic).')


def _p(p: dict, key: str) -> str:
  return 'n/a' if p.get(key) is None else f'{p[key]:.3g}'


def detectable(p: dict) -> str:
  """Returns, in words, the smallest difference a comparison could detect and whether the
  paper's effect was within reach."""
  if p.get('mde') is None:
    return p.get('why', 'no smallest detectable difference (an older results.json)')
  reach = 'could' if p['mde'] <= PAPER_EFFECT else 'could not'
  return (f'the smallest difference these runs could detect (two-sided 5%, 80% power) is '
          f'{100 * p["mde"]:.1f} points, so they {reach} detect the paper\'s '
          f'+{100 * PAPER_EFFECT:.1f}')


def arms(results: dict) -> list[str]:
  """Returns the arms table and the paired comparisons."""
  rows = [[arm, str(r.get('size', 0))] + [_pct(r[m]) for m, _ in METRICS] +
          [f"{r['accuracy']['n']} x {len(r['accuracy']['per_run']) // r['accuracy']['n']}"]
          for arm, r in results['arms'].items()]
  lines = ['## Arms', ''] + table(['arm', 'size'] + [label for _, label in METRICS] +
                                   ['units x seeds'], rows)
  if results.get('paired_accuracy'):
    lines += ['## Paired comparisons (accuracy, unit by unit, seeds averaged within units)', '']
    primary = results.get('primary')
    label = lambda k: k.replace('_vs_', ' vs ') + (
        '' if not primary else ' (primary)' if k == primary else ' (secondary)')
    rows = [[label(k), f'{100 * p["mean_diff"]:+.1f} '
             f'[{100 * p["ci95"][0]:+.1f}, {100 * p["ci95"][1]:+.1f}]', _p(p, 'p_ttest'),
             _p(p, 'p_permutation'),
             'n/a' if p.get('mde') is None else f'{100 * p["mde"]:.1f}', str(p['n'])]
            for k, p in results['paired_accuracy'].items()]
    lines += table(['comparison', 'difference (points)', 'p (t)', 'p (sign-flip)',
                     'smallest detectable (points)', 'units'], rows)
    design = results.get('design', {})
    lines += [f'Units: {design.get("description", "folds")}. ' + (
        'Cross-validation splits share training ROIs: the t interval and p use the corrected '
        'variance s² (1/n + n_test/n_train) (Nadeau and Bengio 2003), and no sign-flip p is '
        'given (it would treat the splits as independent). Repeats narrow the interval only '
        'down to the n_test/n_train term. ' if design.get('kind', 'cv') == 'cv' else
        'With n replicates the sign-flip p cannot go below 2 / 2^n. ') +
        'Smallest detectable: the difference a design of these units and this spread of paired '
        'differences finds with 80% power at two-sided 5%: (t_.975 + t_.80) s sqrt(c/n).', '']
  return lines


def verdict(results: dict) -> list[str]:
  """Returns the answer first: for each arm that adds images, is it better than classic
  augmentation alone, worse, or not resolved by the runs (the paired interval holds 0), and
  could the runs have seen the paper's effect?"""
  lines = []
  for name, p in results.get('paired_accuracy', {}).items():
    arm, ref = name.split('_vs_')
    if ref == 'none':
      continue
    lo, hi = p['ci95']
    answer = ('better than' if lo > 0 else 'worse than' if hi < 0 else
              'not distinguishable by these runs from')
    if ref != 'classic':
      lines.append(f'- **{arm}** is {answer} **{ref}** at their sizes: '
                   f'{100 * p["mean_diff"]:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}] over '
                   f'{p["n"]} units, paired t p {_p(p, "p_ttest")}.')
      continue
    lines.append(f'- **{arm}** (classic + {results["arms"][arm]["size"]} per class) is {answer} '
                 f'classic augmentation alone ({results["arms"]["classic"]["size"]} images): '
                 f'{100 * p["mean_diff"]:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}] over '
                 f'{p["n"]} units, paired t p {_p(p, "p_ttest")}; {detectable(p)}.')
  if not lines:
    return []
  return ['## Verdict', ''] + lines + ['', _selection(results) + ' Read the intervals and the '
                                       'smallest detectable difference, not the p-values alone.',
                                       '']


def training_fit(results: dict) -> list[str]:
  """Returns a warning for each arm whose runs (at its reported size) ended with a training
  accuracy below the summary's threshold: under-trained classifiers, not a verdict on the arm."""
  lines = []
  for arm, r in results['arms'].items():
    fit = r.get('training_fit')
    if fit and fit['below']:
      lines.append(f'- **{arm}**: {fit["below"]} of {fit["runs"]} runs ended below '
                   f'{100 * fit["threshold"]:.0f}% training accuracy (mean '
                   f'{100 * fit["accuracy"]:.1f}%, lowest {100 * fit["min_accuracy"]:.1f}%; '
                   'last epoch, dropout on).')
  if not lines:
    return []
  return (['## Warning: classifiers that did not fit their training sets', ''] + lines +
          ['', 'These runs stopped before fitting what they were shown (config.train.epochs / '
           'max_steps); their test figures measure the training budget as much as the arm.', ''])


def sweeps(results: dict) -> list[str]:
  """Returns every sized arm's sweep as table rows (accuracy per size, mean and interval)."""
  rows = [[arm, size, _pct(v['accuracy'])] for arm, r in results['arms'].items()
          for size, v in sorted(r.get('sweep', {}).items(), key=lambda kv: int(kv[0]))]
  return ['## Sweeps', ''] + table(['arm', 'size', 'accuracy'], rows) if rows else []


def confusion(results: dict) -> list[str]:
  """Returns each arm's confusion matrix (summed over folds and seeds)."""
  classes = results['classes']
  lines = ['## Confusion matrices (summed over folds and seeds; rows = true class)', '']
  for arm, r in results['arms'].items():
    lines += [f'**{arm}** (size {r.get("size", 0)})', '']
    lines += table(['true \\ predicted'] + list(classes),
                    [[classes[i]] + [str(v) for v in row] for i, row in enumerate(r['confusion'])])
  return lines


def samples(config: dict, classes: list[str]) -> list[str]:
  """Returns the table of real and synthetic sample grids per class (fold 0), if generator arms
  ran."""
  kinds = [a for a in config['arms'] if isinstance(config.get(a), dict) and 'kind' in config[a]]
  if not kinds:
    return []
  rows = [[cname, f'![real](figures/{kinds[0]}_fold0/real_{cname}.png)'] +
          [f'![{k}](figures/{k}_fold0/{cname}.png)' for k in kinds] for cname in classes]
  return (['## Samples (fold 0, fixed noise)', ''] +
          table(['class', 'real (training ROIs)'] + [k.upper() for k in kinds], rows))


def diversity(results: dict) -> list[str]:
  """Returns the generators' (GANs', diffusion models') diversity and grid table, with a
  warning for collapsed generators."""
  if not results.get('gan_diversity'):
    return []
  lines = ['## Generator sample diversity', '',
           'Mean RMS difference between generated images of a class, as a percentage of that '
           'between its real training ROIs; below the threshold a generator counts as '
           'collapsed (near-identical images) or partly collapsed (a few images repeated), '
           'and its arm should not be trusted. Grid: spectral power at 2- and 4-pixel periods '
           '(checkerboard / fine-grid artifacts of strided convolutions) as a multiple of the '
           'real ROIs\' (1x = as clean as the real images; a diagnostic, not a flag).', '']
  collapsed = results.get('collapsed_generators') or []
  if collapsed:
    lines += [f'**Warning: collapsed generator(s): {", ".join(collapsed)}.** Their synthetic '
              'images were used by the arm above; its numbers measure those images, not a '
              'working generator.', '']
  rows = [[pool, c, f'{100 * v["ratio"]:.0f}%', f'{100 * v["threshold"]:.0f}%',
           'COLLAPSED' if v['collapsed'] else 'ok', f'{v["grid"]["ratio"]:.1f}x']
          for pool, d in results['gan_diversity'].items() for c, v in d.items()]
  return lines + table(['generator', 'class', 'diversity vs real', 'threshold', 'status',
                         'grid vs real'], rows)


def fidelity(config: dict, results: dict) -> list[str]:
  """Returns the GAN class-fidelity ("GAN-test") table."""
  if not results.get('gan_fidelity'):
    return []
  lines = ['## GAN class fidelity ("GAN-test")', '',
           'Share of each class\'s synthetic images that a classifier trained on real images '
           'only assigns to that class, beside that classifier\'s sensitivity on the real test '
           'ROIs (mean over folds). The classifier of each fold is the classic run the generator '
           f'arm builds on (classic set of {config["synthetic"]["classic_size"]}, seed '
           f'{config["seeds"][0]}). Far below the real figure: the synthetic images lack what '
           'the classifier recognises the class by. Near or above it: recognisable, which alone '
           'does not make them realistic or varied (see the diversity table above). Where the '
           'real figure itself is low, the classifier cannot tell that class and its row says '
           'little. After Shmelkov et al. 2018, "How good is my GAN?".', '']
  rows = [[kind, c, f'{100 * v["synthetic"]:.0f}%', f'{100 * v["real_test"]:.0f}%']
          for kind, f in results['gan_fidelity'].items() for c, v in f['per_class'].items()]
  return lines + table(['GAN', 'class', 'synthetic images assigned to it',
                         'real test sensitivity'], rows)


def figure(title: str, path: str, caption: str = '') -> list[str]:
  """Returns a section with one figure (and its caption)."""
  return [f'## {title}', '', f'![{title}]({path})', ''] + ([caption, ''] if caption else [])
