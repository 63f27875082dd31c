import numpy as np
import pytest

from liverjax.datasets import dataset, phantom


@pytest.fixture(scope='module')
def ph():
  return phantom.make_phantom()


def test_counts_shapes_range(ph):
  assert ph['images'].shape == (182, 64, 64, 1)
  assert ph['images'].dtype == np.float32
  assert np.bincount(ph['labels']).tolist() == [53, 64, 65]
  assert 0.0 <= ph['images'].min() and ph['images'].max() <= 1.0
  d_mm = ph['diameter_px']
  assert np.all(d_mm > 10) and np.all(d_mm < 64)


def test_deterministic_and_seeded(ph):
  again = phantom.make_phantom()
  np.testing.assert_array_equal(ph['images'], again['images'])
  other = phantom.make_phantom(phantom.PhantomConfig(seed=1))
  assert not np.allclose(ph['images'], other['images'])


def test_patients_hold_one_class(ph):
  for g in np.unique(ph['groups']):
    assert len(np.unique(ph['labels'][ph['groups'] == g])) == 1
  assert len(np.unique(ph['groups'])) < len(ph['labels'])   # some patients have several lesions


def test_window():
  hu = np.array([-1000.0, -135.0, 40.0, 215.0, 3000.0])
  np.testing.assert_allclose(dataset.window_hu(hu), [0, 0, 0.5, 1, 1], atol=1e-6)


def test_classes_differ_as_in_ct(ph):
  """Cysts are darkest at the centre (water); parenchyma around the lesion is liver (~110 HU)."""
  centre = ph['images'][:, 28:36, 28:36, 0].mean((1, 2))
  corner = np.concatenate([ph['images'][:, :6, :6, 0], ph['images'][:, -6:, -6:, 0]], 1)
  cyst, met, hem = (centre[ph['labels'] == k].mean() for k in range(3))
  assert cyst < met and cyst < hem
  assert 0.6 < corner.mean() < 0.8   # 110 HU in W350/L40 is 0.70


def test_metastasis_vs_hemangioma_is_the_hard_pair(ph):
  """A linear classifier on pixels separates cysts well, metastasis vs hemangioma much less so."""
  from sklearn.linear_model import LogisticRegression
  from sklearn.model_selection import cross_val_score
  x = ph['images'][:, ::4, ::4, 0].reshape(len(ph['labels']), -1)
  y = ph['labels']

  def cv(mask, target):
    return cross_val_score(LogisticRegression(C=0.1, max_iter=2000), x[mask], target[mask],
                           cv=3).mean()

  cyst_vs_rest = cv(np.ones_like(y, bool), (y == 0).astype(int))
  met_vs_hem = cv(y > 0, y)
  assert met_vs_hem < 0.9, met_vs_hem
  assert met_vs_hem < cyst_vs_rest, (met_vs_hem, cyst_vs_rest)
