"""The reader study's store and page (liverjax/tools/turing): what a reader can do, what the page
refuses, and that nothing it sends tells real from synthetic. Flask's test client; the same page in
Chromium: tests/test_turing_browser.py."""

import io
import re
import struct

import numpy as np
import pytest
from PIL import Image

from liverjax.base import errors
from liverjax.tools.turing import app as page, store, study

CLASSES = ['cyst', 'metastasis', 'hemangioma']


def _study(tmp_path, allow_changes=False, asked=CLASSES, n=8, readers=('reader1', 'reader2')):
  rng = np.random.default_rng(0)
  images = rng.random((n, 64, 64))
  synthetic = np.arange(n) % 2
  labels = np.array([CLASSES.index(asked[i % len(asked)]) for i in range(n)])
  origins = [f'{"gan sample" if s else "test ROI"} {i}' for i, s in enumerate(synthetic)]
  meta = {'classes': CLASSES, 'asked_classes': list(asked), 'real_source': 'test',
          'synthetic_source': 'dcgan', 'n_real_per_class': 1, 'n_synthetic_per_class': 1,
          'seed': 0, 'allow_changes': allow_changes}
  db_path = str(tmp_path / 'turing' / 'study.sqlite')
  tokens = store.create(db_path, images, synthetic, labels, origins, list(readers), meta, seed=0)
  return db_path, tokens, images


def _current(db_path, token):
  conn = store.connect(db_path)
  try:
    return store.progress(conn, token)
  finally:
    conn.close()


def _answers(db_path):
  conn = store.connect(db_path)
  try:
    rows = conn.execute('SELECT reader, item, said_synthetic, said_label, confidence, changes '
                        'FROM answers ORDER BY reader, item').fetchall()
  finally:
    conn.close()
  return rows


def _post(client, token, item, source='real', label='0', confidence='3'):
  return client.post(f'/r/{token}/answer', data={'item': item, 'source': source, 'label': label,
                                                  'confidence': confidence})


def _png_chunks(data: bytes) -> list[bytes]:
  assert data[:8] == b'\x89PNG\r\n\x1a\n'
  chunks, at = [], 8
  while at < len(data):
    length, kind = struct.unpack('>I4s', data[at:at + 8])
    chunks.append(kind)
    at += 12 + length
  return chunks


def test_a_reader_answers_in_order_and_sees_only_their_own_progress(tmp_path):
  db_path, tokens, images = _study(tmp_path)
  client = page.make_app(db_path).test_client()
  t1, t2 = tokens['reader1'], tokens['reader2']
  for k in range(3):
    item = _current(db_path, t1)['current']
    html = client.get(f'/r/{t1}').get_data(as_text=True)
    assert f'Image {k + 1} of 8' in html and f'/r/{t1}/i/{item}.png' in html
    r = _post(client, t1, item, source='synthetic', label=str(k), confidence=str(k + 2))
    assert r.status_code == 303 and r.headers['Location'].endswith(f'/r/{t1}')
  assert 'Image 1 of 8' in client.get(f'/r/{t2}').get_data(as_text=True)
  assert _current(db_path, t1)['done'] == 3 and _current(db_path, t2)['done'] == 0
  assert sorted(r[3:5] for r in _answers(db_path)) == [(0, 2), (1, 3), (2, 4)]
  # the readers' orders are shuffled independently
  conn = store.connect(db_path)
  orders = [[r[0] for r in conn.execute('SELECT item FROM schedule WHERE reader = ? ORDER BY '
                                         'position', (t,))] for t in (t1, t2)]
  conn.close()
  assert sorted(orders[0]) == sorted(orders[1]) and orders[0] != orders[1]


def test_the_image_is_the_stored_roi_upscaled_with_no_metadata(tmp_path):
  db_path, tokens, images = _study(tmp_path)
  client = page.make_app(db_path).test_client()
  t = tokens['reader1']
  item = _current(db_path, t)['current']
  r = client.get(f'/r/{t}/i/{item}.png')
  assert r.status_code == 200 and r.mimetype == 'image/png'
  assert r.headers['Cache-Control'] == 'no-store'
  assert _png_chunks(r.data) == [b'IHDR', b'IDAT', b'IEND']
  shown = np.asarray(Image.open(io.BytesIO(r.data)))
  conn = store.connect(db_path)
  stored = store.image(conn, item)
  conn.close()
  assert shown.shape == (64 * page.SCALE, 64 * page.SCALE)
  np.testing.assert_array_equal(shown[::page.SCALE, ::page.SCALE], stored)
  assert any(np.array_equal(stored, np.rint(im * 255).astype(np.uint8)) for im in images)


def test_every_page_is_the_same_but_for_the_image_id_and_progress(tmp_path):
  """The answer key never reaches the browser: the HTML of real and synthetic images differs
  only in the opaque id and the position, and holds no origin, source or label."""
  db_path, tokens, _ = _study(tmp_path)
  client = page.make_app(db_path).test_client()
  t = tokens['reader1']
  normalised = set()
  for _ in range(8):
    item = _current(db_path, t)['current']
    html = client.get(f'/r/{t}').get_data(as_text=True)
    assert 'sample' not in html and 'ROI ' not in html and 'dcgan' not in html
    html = html.replace(item, 'ITEM')
    normalised.add(re.sub(r'value="\d+" max|Image \d+ of', 'N', html))
    _post(client, t, item)
  assert len(normalised) == 1
  assert 'All 8 images answered' in client.get(f'/r/{t}').get_data(as_text=True)


def test_refusals_change_nothing(tmp_path):
  """Each refusal the page makes, with its status; the answers table is unchanged by all."""
  db_path, tokens, _ = _study(tmp_path, asked=['cyst', 'hemangioma'])
  client = page.make_app(db_path).test_client()
  t, t2 = tokens['reader1'], tokens['reader2']
  first = _current(db_path, t)['current']
  assert _post(client, t, first, source='synthetic', label='2', confidence='5').status_code == 303
  before = _answers(db_path)
  item = _current(db_path, t)['current']
  conn = store.connect(db_path)
  ahead, ahead2 = (store.scheduled(conn, token, 5)[0] for token in (t, t2))
  conn.close()
  refusals = {
      'unknown reader link': (client.get('/r/not-a-token'), 404),
      'unknown reader posting': (_post(client, 'not-a-token', item), 404),
      'unknown image id': (_post(client, t, 'no-such-item'), 404),
      'image not yet shown': (client.get(f'/r/{t}/i/{ahead}.png'), 404),
      'image already answered': (client.get(f'/r/{t}/i/{first}.png'), 404),
      'replay of an answered image': (_post(client, t, first, source='real'), 409),
      'an image ahead of the current one': (_post(client, t, ahead), 409),
      'source missing': (client.post(f'/r/{t}/answer', data={'item': item, 'label': '0',
                                                              'confidence': '3'}), 400),
      'source not real or synthetic': (_post(client, t, item, source='maybe'), 400),
      'label not a class index': (_post(client, t, item, label='x'), 400),
      'label of a class not in the study': (_post(client, t, item, label='1'), 400),
      'label out of range': (_post(client, t, item, label='7'), 400),
      'confidence out of 1-5': (_post(client, t, item, confidence='6'), 400),
      'confidence not a number': (_post(client, t, item, confidence='high'), 400),
      'a JSON body': (client.post(f'/r/{t}/answer', json={'item': item, 'source': 'real',
                                                          'label': 0, 'confidence': 3}), 400),
      'a huge body': (_post(client, t, item, source='x' * 10000), 413),
      'GET on the answer URL': (client.get(f'/r/{t}/answer'), 405),
      'going back in a study without changes': (client.get(f'/r/{t}?at=0'), 404),
      'another reader posting an image ahead of their own': (_post(client, t2, ahead2), 409),
  }
  for what, (response, status) in refusals.items():
    assert response.status_code == status, (what, response.status_code)
    assert response.mimetype == 'text/plain', what
  assert _answers(db_path) == before


def test_a_study_that_allows_changes(tmp_path):
  db_path, tokens, _ = _study(tmp_path, allow_changes=True)
  client = page.make_app(db_path).test_client()
  t = tokens['reader1']
  first = _current(db_path, t)['current']
  _post(client, t, first, source='real', label='0', confidence='2')
  second = _current(db_path, t)['current']
  _post(client, t, second, source='real', label='1', confidence='4')
  html = client.get(f'/r/{t}?at=0').get_data(as_text=True)
  assert first in html and re.search(r'value="real" required\s+checked', html)
  assert client.get(f'/r/{t}/i/{first}.png').status_code == 200
  r = _post(client, t, first, source='synthetic', label='2', confidence='5')
  assert r.status_code == 303 and r.headers['Location'].endswith('?at=1')
  rows = {row[1]: row for row in _answers(db_path)}
  assert rows[first][2:] == (1, 2, 5, 1) and rows[second][2:] == (0, 1, 4, 0)
  assert client.get(f'/r/{t}?at=2').status_code == 404   # not answered yet


def test_shortcut_keys_are_first_free_letters():
  assert page.shortcut_keys(['cyst', 'metastasis', 'hemangioma']) == ['c', 'm', 'h']
  assert page.shortcut_keys(['tumour', 'tissue', 'rim', 'spot']) == ['t', 'i', 'm', 'p']


def test_a_new_study_never_overwrites_one(tmp_path):
  db_path, tokens, _ = _study(tmp_path)
  client = page.make_app(db_path).test_client()
  _post(client, tokens['reader1'], _current(db_path, tokens['reader1'])['current'])
  with pytest.raises(errors.WorkdirError, match='never overwritten'):
    study.create(str(tmp_path), 1, 1)
  assert len(_answers(db_path)) == 1
