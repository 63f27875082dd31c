"""The reader page of a study (Flask): one ROI at a time, real or synthetic, the lesion class, a
confidence from 1 to 5.

Routes (TOKEN is a reader's secret link; ITEM an image's opaque random id):
  GET  /r/TOKEN                the reader's current image and the answer form (?at=K: an earlier
                               one, only where the study allows changes)
  GET  /r/TOKEN/i/ITEM.png     that image, nearest-neighbour upscaled, written fresh (no metadata)
  POST /r/TOKEN/answer         item, source (real|synthetic), label (class index), confidence
                               (1-5); written in a transaction, then 303 to the next image
What the page refuses, with the test that covers each: ``tests/test_turing.py``. Nothing sent to the
browser says which images are synthetic: the HTML differs between images only in the image id and
the progress, and every image URL holds only its id.
"""

from __future__ import annotations

import io

import flask
import numpy as np
from PIL import Image

from liverjax.tools.turing import store

SCALE = 6          # 64 px ROIs shown at 384 px
LETTERS = 'abcdefghijklmnopqtuvwxyz'   # class shortcuts: r and s are real / synthetic

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<title>Reader study</title>
<style>
 body { font-family: sans-serif; max-width: 58em; margin: 1em auto; background: #111; color: #eee; }
 main { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
 img { image-rendering: pixelated; display: block; border: 1px solid #555; }
 form { flex: 1; min-width: 20em; }
 fieldset { border: 1px solid #555; margin: 0.4em 0; } progress { width: 100%; }
 label { margin-right: 1.2em; } kbd { background: #333; padding: 0 0.3em; border-radius: 3px; }
 button { font-size: 1.1em; padding: 0.3em 1.2em; }
</style></head><body>
{% if item %}
<progress value="{{ position }}" max="{{ total }}"></progress>
<p>Image {{ position + 1 }} of {{ total }}</p>
<main><img src="/r/{{ token }}/i/{{ item }}.png" width="{{ side }}" height="{{ side }}" alt="ROI">
<form method="post" action="/r/{{ token }}/answer" id="answer">
<input type="hidden" name="item" value="{{ item }}">
<fieldset><legend>This image is</legend>
 <label><input type="radio" name="source" value="real" required
  {{ 'checked' if prior and not prior[0] }}> real <kbd>r</kbd></label>
 <label><input type="radio" name="source" value="synthetic"
  {{ 'checked' if prior and prior[0] }}> synthetic <kbd>s</kbd></label></fieldset>
<fieldset><legend>Lesion</legend>
{% for value, name in options %}
 <label><input type="radio" name="label" value="{{ value }}" data-key="{{ keys[loop.index0] }}"
  required {{ 'checked' if prior and prior[1] == value }}> {{ name }} <kbd>{{ keys[loop.index0] }}</kbd></label>
{% endfor %}</fieldset>
<fieldset><legend>Confidence in your answer</legend>
{% for v in range(1, 6) %}
 <label><input type="radio" name="confidence" value="{{ v }}" required
  {{ 'checked' if prior and prior[2] == v }}> {{ v }} <kbd>{{ v }}</kbd></label>
{% endfor %}</fieldset>
<button type="submit">Next <kbd>Enter</kbd></button>
{% if allow_changes and position > 0 %}<a href="/r/{{ token }}?at={{ position - 1 }}">back</a>{% endif %}
<p>1 = a guess, 5 = certain. {{ 'You can go back and change an answer.' if allow_changes else
'An answer cannot be changed once the next image is shown.' }}</p>
</form></main>
<script>
document.addEventListener('keydown', function (e) {
  if (e.ctrlKey || e.altKey || e.metaKey) return;
  var k = e.key.toLowerCase(), f = document.getElementById('answer'), pick = null;
  if (k === 'r') pick = f.querySelector('input[name=source][value=real]');
  else if (k === 's') pick = f.querySelector('input[name=source][value=synthetic]');
  else if ('12345'.indexOf(k) >= 0) pick = f.querySelector('input[name=confidence][value="' + k + '"]');
  else pick = f.querySelector('input[name=label][data-key="' + k + '"]');
  if (pick) { pick.checked = true; e.preventDefault(); }
  else if (k === 'enter') { e.preventDefault(); f.requestSubmit(); }
});
</script>
{% else %}
<progress value="{{ total }}" max="{{ total }}"></progress>
<p>All {{ total }} images answered. Thank you.</p>
{% endif %}
</body></html>
"""


def shortcut_keys(names) -> list[str]:
  """Returns one key per class: the first letter of its name not taken before it (not r or s),
  else the first free letter."""
  keys = []
  for name in names:
    free = [ch for ch in name.lower() + LETTERS if ch in LETTERS and ch not in keys]
    keys.append((free or [''])[0])
  return keys


def png(pixels: np.ndarray, scale: int = SCALE) -> bytes:
  """Returns a grayscale PNG of uint8 pixels upscaled by nearest neighbour, with no metadata."""
  big = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
  buf = io.BytesIO()
  Image.fromarray(big, mode='L').save(buf, format='PNG')
  return buf.getvalue()


def _form(form, labels: set) -> tuple[int, int, int]:
  """Returns (said_synthetic, said_label, confidence) of an answer form, or aborts with 400."""
  source, label, confidence = (form.get(k, '') for k in ('source', 'label', 'confidence'))
  if source not in ('real', 'synthetic'):
    flask.abort(400, 'source must be real or synthetic')
  if not (label.isdigit() and int(label) in labels):
    flask.abort(400, f'label must be one of the class indices {sorted(labels)}')
  if confidence not in ('1', '2', '3', '4', '5'):
    flask.abort(400, 'confidence must be 1 to 5')
  return int(source == 'synthetic'), int(label), int(confidence)


def make_app(db_path: str) -> flask.Flask:
  """Returns the study's WSGI app (one SQLite connection per request)."""
  app = flask.Flask(__name__)
  app.config['MAX_CONTENT_LENGTH'] = 4096
  conn = store.connect(db_path)
  settings = store.meta(conn)
  conn.close()
  allow = bool(settings['allow_changes'])
  options = [(settings['classes'].index(c), c) for c in settings['asked_classes']]
  keys = shortcut_keys(settings['asked_classes'])

  def db():
    if 'db' not in flask.g:
      flask.g.db = store.connect(db_path)
    return flask.g.db

  @app.teardown_appcontext
  def close(_):
    conn = flask.g.pop('db', None)
    if conn is not None:
      conn.close()

  def reader(token: str) -> dict:
    prog = store.progress(db(), token)
    if prog is None:
      flask.abort(404, 'unknown reader link')
    return prog

  @app.after_request
  def headers(response):
    response.headers['Cache-Control'] = 'no-store'
    response.headers['X-Content-Type-Options'] = 'nosniff'
    response.headers['Referrer-Policy'] = 'no-referrer'
    return response

  @app.errorhandler(400)
  @app.errorhandler(404)
  @app.errorhandler(405)
  @app.errorhandler(409)
  @app.errorhandler(413)
  def refused(e):
    return flask.Response(f'{e.code} {e.name}: {e.description}\n', e.code,
                          mimetype='text/plain')

  @app.get('/r/<token>')
  def page(token):
    prog = reader(token)
    position, prior, item = prog['done'], None, prog['current']
    at = flask.request.args.get('at')
    if at is not None:
      if not (allow and at.isdigit() and int(at) < prog['done']):
        flask.abort(404, 'no such earlier image (or this study does not allow changes)')
      position = int(at)
      item, prior = store.scheduled(db(), token, position)
    return flask.render_template_string(
        PAGE, token=token, item=item, position=position, total=prog['total'], prior=prior,
        options=options, keys=keys, allow_changes=allow, side=64 * SCALE)

  @app.get('/r/<token>/i/<item>.png')
  def picture(token, item):
    prog = reader(token)
    where = store.position(db(), token, item)
    if where is None or not (item == prog['current'] or (allow and where[1])):
      flask.abort(404, 'no such image for this reader now')
    return flask.Response(png(store.image(db(), item)), mimetype='image/png')

  @app.post('/r/<token>/answer')
  def answer(token):
    reader(token)
    item = flask.request.form.get('item', '')
    said = _form(flask.request.form, {v for v, _ in options})
    status, position = store.record(db(), token, item, *said, allow_changes=allow)
    if status == 'unknown':
      flask.abort(404, 'no such image for this reader')
    if status == 'conflict':
      flask.abort(409, 'this image is not the one to answer now (already answered, or not yet '
                  'shown); nothing was changed')
    nxt = f'/r/{token}'
    if allow and position + 1 < store.progress(db(), token)['done']:   # back among answered
      nxt += f'?at={position + 1}'
    return flask.redirect(nxt, 303)

  return app
