"""The visual Turing test end to end in a real browser: a study drawn from a dcgan_aug.py:smoke
workdir by the command line, served by the command line, answered in headless Chromium.

Chromium and its driver come from the system's packages (Debian's chromium and chromium-driver,
which .ci/run installs); Selenium is pointed at both, so nothing is downloaded. Without them these
tests are skipped, except under CI=true, where that is a failure. The tests share one study, with
four readers, and run in file order (the second one's report counts the first one's reader).
"""

import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

import launch
from configs import dcgan_aug
from liverjax.base import workdir as wd
from liverjax.tools.turing import store
from turing_helpers import CHROMIUM, DRIVER, KEYS, Server, browser, command, read


def _need_chromium():
  if CHROMIUM and DRIVER:
    return
  message = ('needs Chromium and chromedriver from the system (Debian: apt-get install chromium '
             'chromium-driver; .ci/run installs them)')
  if os.environ.get('CI'):
    pytest.fail(message)
  pytest.skip(message)


@pytest.fixture(scope='module')
def study(tmp_path_factory):
  _need_chromium()
  work = str(tmp_path_factory.mktemp('turing') / 'dcgan_smoke')
  assert launch.run(dcgan_aug.get_config('smoke'), work) == 0
  proc = command('create', f'--workdir={work}', '--n_real=2', '--n_synthetic=2', '--readers=4')
  assert proc.returncode == 0, proc.stderr[-3000:]
  tokens = dict(re.findall(r'^(reader\d): http://localhost:8765/r/(\S+)$', proc.stdout, re.M))
  assert sorted(tokens) == ['reader1', 'reader2', 'reader3', 'reader4'], proc.stdout
  server = Server(work, str(tmp_path_factory.mktemp('log') / 'serve.log'))
  server.start()
  yield {'workdir': work, 'tokens': tokens, 'server': server}
  server.kill()


def _truth(workdir):
  conn = store.connect(store.path(workdir))
  try:
    return {i: (s, c, o) for i, s, c, o in conn.execute(
        'SELECT id, synthetic, label, origin FROM items')}
  finally:
    conn.close()


def _stored(workdir, token):
  conn = store.connect(store.path(workdir))
  try:
    return {i: (s, c, k) for i, s, c, k in conn.execute(
        'SELECT item, said_synthetic, said_label, confidence FROM answers WHERE reader = ?',
        (token,))}
  finally:
    conn.close()


def test_a_reader_completes_the_study_and_nothing_shown_holds_the_answer_key(study):
  work, token, base = study['workdir'], study['tokens']['reader3'], study['server'].base
  truth = _truth(work)
  rng = np.random.default_rng(3)
  choose = lambda item: (bool(rng.integers(2)), str(rng.choice(list(KEYS))),
                         int(rng.integers(1, 6)))
  pages = []
  driver = browser()
  try:
    sent = read(driver, f'{base}/r/{token}', choose, pages=pages)
    assert f'All {len(truth)} images answered' in driver.page_source
  finally:
    driver.quit()
  assert len(sent) == len(truth) == 12 and _stored(work, token) == sent
  assert 'Serving on http://127.0.0.1:' in open(study['server'].log_path).read()   # localhost
  normalised = set()
  for (html, src), item in zip(pages, sent):
    assert re.fullmatch(rf'{base}/r/{token}/i/[A-Za-z0-9_-]+\.png', src)
    assert not any(origin in html for _, _, origin in truth.values())
    assert 'fold' not in html and 'sample' not in html and 'dcgan' not in html
    normalised.add(re.sub(r'value="\d+" max|Image \d+ of', 'N', html.replace(item, 'ITEM')))
  assert len(normalised) == 1   # real and synthetic images get the very same page


def test_two_readers_at_once_lose_no_answer_and_their_statistics_follow(study):
  """reader1 knows the truth (confident, always right); reader2 calls every image real. They
  answer at the same time, one by keyboard, one by clicks; every answer is kept, and the report
  computes what their strategies imply."""
  work, tokens, base = study['workdir'], study['tokens'], study['server'].base
  truth = _truth(work)
  classes = list(KEYS)
  oracle = lambda item: (bool(truth[item][0]), classes[truth[item][1]], 5)
  naive = lambda item: (False, classes[truth[item][1]], 3)
  sent = {}

  def reader(name, choose, keyboard):
    driver = browser()
    try:
      sent[name] = read(driver, f'{base}/r/{tokens[name]}', choose, keyboard)
    finally:
      driver.quit()

  threads = [threading.Thread(target=reader, args=('reader1', oracle, True)),
             threading.Thread(target=reader, args=('reader2', naive, False))]
  for t in threads:
    t.start()
  for t in threads:
    t.join(timeout=300)
  for name in ('reader1', 'reader2'):
    assert len(sent[name]) == 12 and _stored(work, tokens[name]) == sent[name]
  proc = command('report', f'--workdir={work}')
  assert proc.returncode == 0, proc.stderr[-3000:]
  stats = wd.read_json(os.path.join(work, 'turing', 'turing.json'))
  r1, r2 = stats['per_reader']['reader1'], stats['per_reader']['reader2']
  assert (r1['accuracy'], r1['auc'], r1['class_accuracy_synthetic']) == (1.0, 1.0, 1.0)
  assert (r2['accuracy'], r2['sensitivity'], r2['specificity'], r2['auc']) == (0.5, 0.0, 1.0,
                                                                               0.5)
  assert r1['binomial_p'] == pytest.approx(2 * 0.5 ** 12, rel=1e-9)
  results = wd.read_json(os.path.join(work, 'results.json'))
  assert results['turing_test']['readers'] == 3   # with reader3 from the test before
  assert '## Visual Turing test' in open(os.path.join(work, 'report.md')).read()


def _http(method, url, data=None):
  body = None if data is None else urllib.parse.urlencode(data).encode()
  try:
    with urllib.request.urlopen(urllib.request.Request(url, body, method=method)) as r:
      return r.status
  except urllib.error.HTTPError as e:
    return e.code


def test_the_server_is_killed_mid_study_and_the_reader_resumes(study):
  work, token, server = study['workdir'], study['tokens']['reader4'], study['server']
  classes = list(KEYS)
  choose = lambda item: (True, classes[len(item) % 3], 2)
  driver = browser()
  try:
    first = read(driver, f'{server.base}/r/{token}', choose, stop_after=5)
    server.kill()
    server.start()
    driver.get(f'{server.base}/r/{token}')
    assert 'Image 6 of 12' in driver.page_source
    assert _stored(work, token) == first
    # tampered requests over HTTP, refused by the restarted server, changing nothing
    answered = next(iter(first))
    replay = {'item': answered, 'source': 'real', 'label': '0', 'confidence': '1'}
    assert _http('POST', f'{server.base}/r/{token}/answer', replay) == 409
    assert _http('POST', f'{server.base}/r/forged/answer', replay) == 404
    assert _http('GET', f'{server.base}/r/{token}/i/{answered}.png') == 404
    rest = read(driver, f'{server.base}/r/{token}', choose)
    assert 'All 12 images answered' in driver.page_source
  finally:
    driver.quit()
  assert len(rest) == 7 and _stored(work, token) == {**first, **rest}
