"""The experiment's summary (results.json): arms with intervals, paired tests, and the class
fidelity of each GAN arm's synthetic pool ("GAN-test")."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from liverjax.evaluation import classification, inference
from liverjax.experiment import context, synthetic_quality
from liverjax.experiment.arms import ARMS, GENERATOR_ARMS, REFERENCES
from liverjax.experiment.runner import Runner

# A run whose last epoch's mean training accuracy (dropout on) is below this has not fit its
# training set: its test figures say more about the budget than about the arm.
FIT_ACCURACY = 0.9


def training_fit(runs: list[dict]) -> dict | None:
  """Returns the mean and lowest last-epoch training accuracy of runs, and how many of them fall
  below FIT_ACCURACY; None if no run recorded it (records without 'final_train'). Accuracy, not
  loss: a share of whole batches, it is the same number however the devices and processes sum it
  (the loss is in runs/<run>.json, exact to the last bits only for one process layout)."""
  fits = [r['final_train'] for r in runs if r.get('final_train')]
  if not fits:
    return None
  acc = np.asarray([f['accuracy'] for f in fits])
  return {'accuracy': float(acc.mean()), 'min_accuracy': float(acc.min()),
          'runs': len(fits),
          'below': int(np.sum(acc < FIT_ACCURACY)), 'threshold': FIT_ACCURACY}


def summarize(records: list[dict], classes, config, design: inference.Design) -> dict:
  """Returns the results.json content: one summary per arm (sized arms: best size + sweep) and
  paired accuracy tests of each arm against the arms before it (none, classic, its baseline),
  unit by unit (each unit's accuracy the mean over the seeds both arms ran), under the design's
  variance (:mod:`liverjax.evaluation.inference`), each with the smallest difference it could
  detect."""
  arms = {}
  for arm in config.arms:
    mine = [r for r in records if r['arm'] == arm]
    sizes = sorted({r['size'] for r in mine})
    sweep = {str(s): classification.summarize([r for r in mine if r['size'] == s], classes,
                                              design) for s in sizes}
    best = max(sizes, key=lambda s: sweep[str(s)]['accuracy']['mean'])
    arms[arm] = dict(sweep[str(best)], size=best)
    fit = training_fit([r for r in mine if r['size'] == best])
    if fit is not None:
      arms[arm]['training_fit'] = fit
    if arm != 'none':
      arms[arm]['selection'] = ('size with the best mean test accuracy over the sweep '
                                '(as in the paper; optimistic)')
      arms[arm]['sweep'] = {s: {m: {'mean': v[m]['mean'], 'ci95': v[m]['ci95']}
                                for m in classification.SCALAR_METRICS} for s, v in sweep.items()}
  paired, order = {}, list(ARMS)
  for arm in config.arms:
    if ARMS[arm].recipe in REFERENCES:
      continue   # TSTR and TRTR: compared with each other only (train_synthetic_test_real)
    for ref in ('none', 'classic', ARMS[arm].baseline):
      if arm != ref and ref in arms and order.index(arm) > order.index(ref):
        paired[f'{arm}_vs_{ref}'] = paired_runs(records, (arm, arms[arm]['size']),
                                                (ref, arms[ref]['size']), design)
  out = {'classes': list(classes), 'design': design.to_dict(), 'arms': arms,
         'paired_accuracy': paired}
  if config.get('primary'):   # declared in advance; the other comparisons are secondary
    out['primary'] = config.primary
  tstr = train_synthetic_test_real(records, config, arms, len(classes), design)
  if tstr:
    out['tstr'] = tstr
  return out


def paired_runs(records: list[dict], a: tuple[str, int], b: tuple[str, int],
                design: inference.Design) -> dict:
  """Returns the paired test of runs (arm, size) a against b, unit by unit, over the seeds both
  ran (each unit's accuracy the mean over those seeds)."""
  a_runs, b_runs = ([r for r in records if (r['arm'], r['size']) == x] for x in (a, b))
  seeds = {r['seed'] for r in a_runs} & {r['seed'] for r in b_runs}
  a_folds, b_folds = (classification.fold_means([r for r in runs if r['seed'] in seeds])
                      for runs in (a_runs, b_runs))
  folds = sorted(set(a_folds) & set(b_folds))
  return inference.paired([a_folds[f] for f in folds], [b_folds[f] for f in folds], design,
                          shared_test_variance(a_runs, b_runs, folds, seeds),
                          _shared_df(a_runs))


def _shared_df(runs: list[dict]) -> float:
  """Degrees of freedom of the shared cohort's variance: one fewer than its test ROIs."""
  return float(max(min(r.get('n_test', 2) for r in runs) - 1, 1)) if runs else np.inf


def shared_test_variance(a_runs: list[dict], b_runs: list[dict], units, seeds) -> float:
  """Returns the sampling variance of a - b that one shared test cohort adds (replicates whose
  records keep their answers per test ROI; 0 otherwise): inference.shared_test_variance over the
  units' per-ROI answers, each the mean over the seeds both ran."""
  def answers(runs):
    per = [[classification.unpack_correct(r['test_correct'], r['n_test']) for r in runs
            if r['fold'] == u and r['seed'] in seeds and 'test_correct' in r] for u in units]
    return [np.mean(p, 0) for p in per] if all(per) else None
  a, b = answers(a_runs), answers(b_runs)
  return inference.shared_test_variance(a, b) if a and b and len(units) > 1 else 0.0


def train_synthetic_test_real(records: list[dict], config, arms: dict, num_classes: int,
                              design: inference.Design) -> dict:
  """Returns {tstr arm: {'source', 'sizes': {N: {images, tstr, trtr, paired}}}}: the classifier
  trained on N synthetic images per class only (TSTR), tested on the fold's real test ROIs,
  beside arm trtr, as many classic variants of the real training ROIs with the same steps (None
  without that arm), paired over folds. TSTR near TRTR: the synthetic images carry what the
  classes are told apart by; far below: they do not (however real they look)."""
  out = {}
  for arm in [a for a in config.arms if ARMS[a].recipe == 'synthetic_only']:
    rows = {}
    for size in sorted({r['size'] for r in records if r['arm'] == arm}):
      images = size * num_classes
      trtr = arms.get('trtr', {}).get('sweep', {}).get(str(size))
      rows[str(size)] = {'images': images,
                         'tstr': arms[arm]['sweep'][str(size)]['accuracy'],
                         'trtr': trtr and trtr['accuracy'],
                         'paired': trtr and paired_runs(records, (arm, size), ('trtr', size),
                                                        design)}
    out[arm] = {'source': ARMS[arm].source, 'sizes': rows}
  return out


def oracle_share(records: list[dict], config, design: inference.Design) -> dict:
  """Returns {arm: ...}: the gain over classic of each GAN arm and of the oracle (arm real) at one
  fixed number of images per class (the sweeps' common size nearest the paper's 1,000, not each
  arm's best), paired over units, and the share of the oracle's gain that the GAN arm recovers,
  (arm - classic) / (real - classic), with its Fieller interval (:func:`inference.fieller`).
  The share is None, with why, when the oracle's gain is not above 0 by its interval: the
  positive control failed, and a null or negative GAN result from this design says nothing.
  Empty without the classic and real arms."""
  if 'classic' not in config.arms or 'real' not in config.arms:
    return {}
  classic = int(config.synthetic.classic_size)

  def folds(arm, size, seeds):
    return classification.fold_means([r for r in records if r['arm'] == arm and
                                      r['size'] == size and r['seed'] in seeds])

  out = {}
  for arm in [a for a in config.arms if a in GENERATOR_ARMS]:
    sizes = ({r['size'] for r in records if r['arm'] == arm} &
             {r['size'] for r in records if r['arm'] == 'real'})
    if not sizes:
      continue
    size = min(sizes, key=lambda s: (abs(s - 1000), -s))
    seeds = set.intersection(*({r['seed'] for r in records if r['arm'] == a} for a in
                               (arm, 'real', 'classic')))
    base, gan, real = folds('classic', classic, seeds), folds(arm, size, seeds), folds(
        'real', size, seeds)
    common = sorted(set(base) & set(gan) & set(real))
    g, o, c = ([x[f] for f in common] for x in (gan, real, base))
    ratio = inference.fieller(np.subtract(g, c), np.subtract(o, c), design)
    runs = lambda a, n: [r for r in records if (r['arm'], r['size']) == (a, n)]
    shared = lambda a, n: shared_test_variance(runs(a, n), runs('classic', classic), common, seeds)
    df = _shared_df(runs('classic', classic))
    out[arm] = {'size': size, 'gain': inference.paired(g, c, design, shared(arm, size), df),
                'oracle_gain': inference.paired(o, c, design, shared('real', size), df),
                'share': ratio['ratio'],
                'share_ci95': ratio['ci95']}
    if not ratio['bounded']:
      out[arm]['share_why'] = ratio['why']
  return out


def fold_fidelity(ctx, state, images, labels, real_cm, fold: int, name: str) -> dict:
  """Returns one fold's GAN-test: the confusion of classifier `state` (run `name`) on synthetic
  images with their intended labels, each class's share assigned to it, and the classifier's
  sensitivity on the real test ROIs (from their confusion real_cm)."""
  preds = np.asarray(jnp.argmax(ctx.programs.predict(state, jnp.asarray(images)), -1))
  cm = classification.confusion_matrix(np.asarray(labels), preds, ctx.num_classes)
  return {'fold': fold, 'classifier': name, 'synthetic_confusion': cm.tolist(),
          'synthetic': classification.metrics_from_confusion(cm)['sensitivity'],
          'real_test': classification.metrics_from_confusion(np.asarray(real_cm))['sensitivity']}


def gan_fidelity(runner: Runner, records: list[dict]) -> dict:
  """Returns {kind: ...}: how many of each GAN arm's synthetic images a classifier trained on real
  images only assigns to their intended class ("GAN-test", Shmelkov et al. 2018, ECCV: "How good
  is my GAN?"), beside the same classifier's sensitivity on the real test ROIs.

  The classifier of fold k is the classic run that the GAN arm's training sets are built on (size
  config.synthetic.classic_size, the first seed, fold k): trained without synthetic images. Its
  input is the fold's whole synthetic pool (max(synthetic.per_class) images per class). A class
  whose synthetic share is far below its real-test sensitivity has synthetic images that lack
  what the classifier recognises that class by (wrong-class or unrealistic lesions). A share near
  or above it does not prove realism: images can be recognisable yet too alike (see the
  diversity check). Empty without the classic arm at that size.
  """
  ctx = runner.ctx
  cfg = ctx.config
  size, seed = int(cfg.synthetic.classic_size), int(cfg.seeds[0])
  if 'classic' not in cfg.arms or size not in [int(s) for s in cfg.classic.sizes]:
    return {}
  classes = list(ctx.ds.classes)
  real_cm = {r['fold']: np.asarray(r['confusion']) for r in records
             if (r['arm'], r['size'], r['seed']) == ('classic', size, seed)}
  kinds = [a for a in cfg.arms if a in GENERATOR_ARMS]
  per_kind = {kind: [] for kind in kinds}
  for fold in context.quality_splits(ctx):   # each classifier restored once, for every GAN arm
    if fold not in real_cm:
      continue
    ref = synthetic_quality.reference_classifier(runner, fold)
    if ref is None:
      continue
    name, state = ref
    for kind in kinds:
      images, labels = runner.sets.pool(kind, fold)
      per_kind[kind].append(fold_fidelity(ctx, state, images, labels, real_cm[fold], fold, name))
  out = {}
  for kind, folds in per_kind.items():
    if not folds:
      continue
    mean = lambda key, c: float(np.nanmean([f[key][c] for f in folds]))
    out[kind] = {
        'per_class': {name: {'synthetic': mean('synthetic', c), 'real_test': mean('real_test', c)}
                      for c, name in enumerate(classes)},
        'synthetic_confusion': np.sum([f['synthetic_confusion'] for f in folds], 0).tolist(),
        'folds': folds}
  return out
