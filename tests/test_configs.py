"""Config files show themselves: each docstring gives its command, the tables of configs/variants.py
name only keys that exist, and every variant builds."""

import glob
import os

import pytest

from configs import common, variants

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(os.path.basename(f)[:-3] for f in glob.glob(os.path.join(ROOT, 'configs', '*.py'))
                 if os.path.basename(f) not in ('__init__.py', 'common.py', 'variants.py'))



def _module(name):
  return __import__(f'configs.{name}', fromlist=['get_config'])


@pytest.mark.parametrize('name', CONFIGS)
def test_each_config_file_gives_its_command(name):
  doc = _module(name).__doc__
  assert f'python launch.py --config=configs/{name}.py' in doc, name


@pytest.mark.parametrize('name', CONFIGS)
def test_each_variant_builds_and_a_bad_one_is_refused(name):
  m = _module(name)
  for arg in (None, 'quick', 'smoke'):
    m.get_config(arg)
  with pytest.raises(ValueError, match='unknown variant'):
    m.get_config('quik')


def test_tables_name_only_existing_keys():
  """Applying every table to the config it is meant for raises nothing: no table adds a key."""
  exp = common.base_config()
  for table in (variants.SMOKE, variants.AUG_SMOKE, variants.QUICK_CLASSIFIER, variants.AUG_QUICK):
    common.apply(exp, table)
  for kind in ('dcgan', 'acgan'):
    g = common.gan_config(kind)
    for table in (variants.GAN_QUICK[kind], variants.AUG_QUICK_GAN, variants.GAN_SMOKE,
                  variants.DATA_EFFICIENT[kind]):
      common.apply(g, table)
  for table in (variants.DIFFUSION_SMOKE, variants.DIFFUSION_QUICK):
    common.apply(common.gan_config('diffusion'), table)


def test_the_diffusion_arm_trains_as_the_diffusion_job_does():
  """The arm of diffusion_aug.py:quick is the model that docs/decisions/diffusion_budget.md chose
  and timed as the job of diffusion.py:quick (the GAN arms' AUG_QUICK_GAN, which drops the EMA,
  is not applied to it); only the samples the job writes differ (the arm samples its pool)."""
  from configs import diffusion, diffusion_aug
  job = diffusion.get_config('quick').gan
  arm = diffusion_aug.get_config('quick').diffusion
  for key, value in variants.DIFFUSION_QUICK.items():
    assert arm[key] == job[key] == value, key
  assert arm.ema_decay == job.ema_decay == common.diffusion_config().ema_decay > 0
  assert diffusion_aug.get_config('quick').dcgan.ema_decay == 0.0


def test_a_misspelt_table_key_is_refused():
  with pytest.raises(KeyError, match='train.max_step'):
    common.apply(common.base_config(), {'train.max_step': 10})


def test_the_main_jobs_quick_values_are_its_docstrings():
  """dcgan_aug.py's docstring states its :quick values; they are the config's."""
  c = _module('dcgan_aug').get_config('quick')
  assert c.seeds == (0,) and c.train.max_steps == 1200 and c.train.learning_rate == 0.01
  assert c.model.features == (16, 32, 64) and c.model.dense == 128
  assert c.classic.sizes == (1000,) and c.synthetic.per_class == (1000,)
  assert c.dcgan.g_widths == (128, 64, 32, 16) and c.dcgan.d_widths == (16, 32, 64, 128)
  assert (c.dcgan.max_steps, c.dcgan.augmented_per_class, c.dcgan.ema_decay) == (400, 500, 0.0)
  paper = _module('dcgan_aug').get_config()
  assert paper.model.features == (32, 64, 128) and paper.dcgan.g_widths == (1024, 512, 256, 128)


def _repo_text_files():
  for pattern in ('*.md', 'configs/*.py', 'liverjax/**/*.py', 'benchmarks/*.md', 'benchmarks/*.py',
                  'docs/**/*.md'):
    yield from glob.glob(os.path.join(ROOT, pattern), recursive=True)


def test_every_decision_record_cited_exists_and_is_headed_by_its_question():
  """Code and docs cite docs/decisions/<name>.md; each exists, and each record opens with its
  question, its answer and the command that reproduces it."""
  import re
  cited = {m for f in _repo_text_files()
           for m in re.findall(r'docs/decisions/([a-z0-9_]+\.md)', open(f).read())}
  records = {os.path.basename(f) for f in glob.glob(os.path.join(ROOT, 'docs/decisions/*.md'))}
  assert cited and cited <= records, cited - records
  for name in records:
    head = open(os.path.join(ROOT, 'docs/decisions', name)).read()[:3000]
    assert head.startswith('# ') and all(
        k in head for k in ('**Question.**', '**Answer.**', '**Reproduce.**')), name


def test_the_benchmarks_readme_holds_current_tables_only():
  """benchmarks/README.md stays a page of current tables (15 KB or less); records go to
  docs/decisions/."""
  assert os.path.getsize(os.path.join(ROOT, 'benchmarks', 'README.md')) <= 15_000
