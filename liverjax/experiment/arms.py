"""The arms of the experiment: how each builds a run's training set from a fold's real ROIs.

An arm is one entry of :data:`ARMS`; its ``recipe`` says what its training set is:
- ``unaugmented``: the fold's real training ROIs as they are (arm ``none``; not arm ``real``,
  the oracle);
- ``classic``: a classic augmented set of N paper variants
  (:func:`liverjax.augment.classic_augment`) for every N in ``config.classic.sizes``;
- ``synthetic``: the classic set of ``config.synthetic.classic_size`` (the very images of the
  classic run of that size, same keys) plus N images per class from the arm's ``pool`` for every N
  in ``config.synthetic.per_class`` (:func:`liverjax.augment.mix_synthetic`). Pool
  ``generator``: the fold's GAN(s) or diffusion model that ``config.<arm>`` describes, trained on
  classic variants of the fold's *training* ROIs only (arms ``dcgan_de`` / ``acgan_de``: the same
  GANs with the data-efficient options of ``configs/variants.py: DATA_EFFICIENT``, compared with
  the paper's GAN too; arm ``diffusion``: one class-conditional EDM model, compared with the
  DCGAN too). Pool
  ``oracle`` (arm ``real``, a name kept for finished workdirs): classic variants of fresh phantom
  ROIs from new patients (``config.oracle``), what a perfect generator would draw; phantom data
  only.
  :mod:`liverjax.experiment.training_sets` builds and caches pools.
- ``synthetic_only``: N images per class of the pool of the generator arm ``source`` and nothing
  else, for every N in ``config.synthetic.per_class`` (arms ``tstr_<generator arm>``: train on
  synthetic, test on real, TSTR);
- ``classic_per_class``: a classic set of N x (number of classes) variants for the same N (arm
  ``trtr``): TSTR's reference, as many images and so as many steps, from the real ROIs.

Adding an arm is adding an entry here (and, for a new kind of pool, its builder in
``training_sets.POOLS``). Order matters: each arm is compared, paired, with the ``none`` and
``classic`` arms before it.
"""

from __future__ import annotations

import dataclasses

RECIPES = ('unaugmented', 'classic', 'synthetic', 'synthetic_only', 'classic_per_class')
REFERENCES = ('synthetic_only', 'classic_per_class')   # TSTR and TRTR: compared with each other
                                                       # only, never with none or classic


@dataclasses.dataclass(frozen=True)
class Arm:
  """One way to build a classifier's training set."""
  name: str
  recipe: str        # one of RECIPES
  pool: str = ''     # synthetic recipe: where the added images come from
  baseline: str = ''  # an arm before it that it is also compared with, paired (besides none
                      # and classic)
  source: str = ''   # synthetic_only recipe: the generator arm whose pool it trains on

  def sizes(self, config) -> list[int]:
    """Returns the arm's sweep of sizes (0 for the unaugmented recipe)."""
    return {'unaugmented': [0], 'classic': list(config.classic.sizes),
            'synthetic': list(config.synthetic.per_class),
            'synthetic_only': list(config.synthetic.per_class),
            'classic_per_class': list(config.synthetic.per_class)}[self.recipe]

  def classic_size(self, config, size: int, num_classes: int) -> int:
    """Returns the size of the classic set under a run of this size (0: none; for the
    unaugmented recipe, the real ROIs)."""
    if self.recipe in ('unaugmented', 'synthetic_only') or size == 0:
      return 0
    if self.recipe == 'classic_per_class':
      return size * num_classes
    return size if self.recipe == 'classic' else int(config.synthetic.classic_size)

  def n_train(self, config, size: int, n_real: int, num_classes: int) -> int:
    """Returns the number of training examples of a run of this size."""
    if self.recipe == 'synthetic_only':
      return size * num_classes
    n_classic = self.classic_size(config, size, num_classes)
    if n_classic == 0:
      return n_real
    return n_classic + (size * num_classes if self.recipe == 'synthetic' else 0)


ARMS = {arm.name: arm for arm in (
    Arm('none', 'unaugmented'),
    Arm('classic', 'classic'),
    Arm('dcgan', 'synthetic', pool='generator'),
    Arm('acgan', 'synthetic', pool='generator'),
    Arm('dcgan_de', 'synthetic', pool='generator', baseline='dcgan'),   # with data-efficient options
    Arm('acgan_de', 'synthetic', pool='generator', baseline='acgan'),
    Arm('diffusion', 'synthetic', pool='generator', baseline='dcgan'),   # EDM, not in the paper
    Arm('real', 'synthetic', pool='oracle'),   # the oracle
    Arm('tstr_dcgan', 'synthetic_only', source='dcgan'),   # synthetic images only
    Arm('tstr_acgan', 'synthetic_only', source='acgan'),
    Arm('tstr_dcgan_de', 'synthetic_only', source='dcgan_de'),
    Arm('tstr_acgan_de', 'synthetic_only', source='acgan_de'),
    Arm('tstr_diffusion', 'synthetic_only', source='diffusion'),
    Arm('trtr', 'classic_per_class'),   # their reference: as many classic variants
)}
GENERATOR_ARMS = tuple(name for name, arm in ARMS.items() if arm.pool == 'generator')
