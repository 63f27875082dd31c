"""A reader study in one SQLite file (W/turing/study.sqlite): its images, readers and answers.

The schema is plain SQL (SCHEMA), so another database could serve it. Images carry opaque random
ids; what each one is (real or synthetic, its class, where it came from) sits in columns that only
the statistics read. Every answer is written in its own transaction (BEGIN IMMEDIATE: one writer
at a time, readers of the page never see half an answer) before the server sends the next image.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import sqlite3

import numpy as np

from liverjax.evaluation import turing

SCHEMA = """
CREATE TABLE study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (
  id TEXT PRIMARY KEY, pixels BLOB NOT NULL, side INTEGER NOT NULL,
  synthetic INTEGER NOT NULL CHECK (synthetic IN (0, 1)), label INTEGER NOT NULL,
  origin TEXT NOT NULL);
CREATE TABLE readers (token TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE schedule (
  reader TEXT NOT NULL REFERENCES readers(token), position INTEGER NOT NULL,
  item TEXT NOT NULL REFERENCES items(id),
  PRIMARY KEY (reader, position), UNIQUE (reader, item));
CREATE TABLE answers (
  reader TEXT NOT NULL, item TEXT NOT NULL,
  said_synthetic INTEGER NOT NULL CHECK (said_synthetic IN (0, 1)),
  said_label INTEGER NOT NULL, confidence INTEGER NOT NULL CHECK (confidence BETWEEN 1 AND 5),
  answered_at TEXT NOT NULL, changes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (reader, item), FOREIGN KEY (reader, item) REFERENCES schedule(reader, item));
"""


def path(workdir: str) -> str:
  return os.path.join(workdir, 'turing', 'study.sqlite')


def connect(db_path: str) -> sqlite3.Connection:
  """Returns a connection in autocommit mode (transactions are explicit), foreign keys on."""
  conn = sqlite3.connect(db_path, isolation_level=None, timeout=30, check_same_thread=False)
  conn.execute('PRAGMA foreign_keys = ON')
  conn.execute('PRAGMA busy_timeout = 30000')
  return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection):
  conn.execute('BEGIN IMMEDIATE')
  try:
    yield conn
  except BaseException:
    conn.execute('ROLLBACK')
    raise
  conn.execute('COMMIT')


def create(db_path: str, images: np.ndarray, synthetic, labels, origins, readers, meta: dict,
           seed: int) -> dict:
  """Writes a new study: images (N, H, W) in [0, 1] under fresh random ids, one shuffled order
  per reader (seeded), meta as the study's settings. Returns {reader name: token}."""
  os.makedirs(os.path.dirname(db_path), exist_ok=True)
  conn = connect(db_path)
  conn.execute('PRAGMA journal_mode = WAL')
  conn.executescript(SCHEMA)
  pixels = np.clip(np.rint(np.asarray(images, np.float64) * 255), 0, 255).astype(np.uint8)
  ids = [secrets.token_urlsafe(12) for _ in range(len(pixels))]
  tokens = {name: secrets.token_urlsafe(18) for name in readers}
  rng = np.random.default_rng(seed)
  with transaction(conn):
    conn.executemany('INSERT INTO study VALUES (?, ?)',
                     [(k, json.dumps(v)) for k, v in meta.items()])
    conn.executemany('INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)',
                     [(i, p.tobytes(), p.shape[0], int(s), int(c), o)
                      for i, p, s, c, o in zip(ids, pixels, synthetic, labels, origins)])
    for name, token in tokens.items():
      conn.execute('INSERT INTO readers VALUES (?, ?)', (token, name))
      conn.executemany('INSERT INTO schedule VALUES (?, ?, ?)',
                       [(token, pos, ids[i]) for pos, i in enumerate(rng.permutation(len(ids)))])
  conn.close()
  return tokens


def meta(conn: sqlite3.Connection) -> dict:
  return {k: json.loads(v) for k, v in conn.execute('SELECT key, value FROM study')}


def readers(conn: sqlite3.Connection) -> dict:
  """Returns {reader name: token}."""
  return dict(conn.execute('SELECT name, token FROM readers ORDER BY name'))


def progress(conn: sqlite3.Connection, token: str) -> dict | None:
  """Returns {name, total, done, current (the first unanswered item's id or None)} of a reader,
  or None for an unknown token."""
  row = conn.execute('SELECT name FROM readers WHERE token = ?', (token,)).fetchone()
  if row is None:
    return None
  total, done = conn.execute(
      'SELECT COUNT(*), COUNT(a.item) FROM schedule s LEFT JOIN answers a '
      'ON a.reader = s.reader AND a.item = s.item WHERE s.reader = ?', (token,)).fetchone()
  current = conn.execute(
      'SELECT s.item FROM schedule s LEFT JOIN answers a ON a.reader = s.reader AND '
      'a.item = s.item WHERE s.reader = ? AND a.item IS NULL ORDER BY s.position LIMIT 1',
      (token,)).fetchone()
  return {'name': row[0], 'total': total, 'done': done, 'current': current and current[0]}


def scheduled(conn: sqlite3.Connection, token: str, position: int) -> tuple | None:
  """Returns (item id, earlier answer as (said_synthetic, said_label, confidence) or None) at a
  position of a reader's order, or None."""
  row = conn.execute(
      'SELECT s.item, a.said_synthetic, a.said_label, a.confidence FROM schedule s LEFT JOIN '
      'answers a ON a.reader = s.reader AND a.item = s.item WHERE s.reader = ? AND '
      's.position = ?', (token, position)).fetchone()
  return None if row is None else (row[0], None if row[1] is None else tuple(row[1:]))


def position(conn: sqlite3.Connection, token: str, item: str) -> tuple | None:
  """Returns (position, answered) of an item in a reader's order, or None if not in it."""
  row = conn.execute(
      'SELECT s.position, a.item IS NOT NULL FROM schedule s LEFT JOIN answers a ON '
      'a.reader = s.reader AND a.item = s.item WHERE s.reader = ? AND s.item = ?',
      (token, item)).fetchone()
  return None if row is None else (row[0], bool(row[1]))


def record(conn: sqlite3.Connection, token: str, item: str, said_synthetic: int, said_label: int,
           confidence: int, allow_changes: bool) -> tuple[str, int | None]:
  """Writes an answer in one transaction; returns (status, the item's position in the reader's
  order): 'ok', 'unknown' (not in the reader's order; position None) or 'conflict' (not the
  reader's current item, and not a change the study allows)."""
  now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')
  with transaction(conn):
    where = position(conn, token, item)
    if where is None:
      return 'unknown', None
    prog = progress(conn, token)
    if where[1] and allow_changes:
      conn.execute('UPDATE answers SET said_synthetic = ?, said_label = ?, confidence = ?, '
                   'answered_at = ?, changes = changes + 1 WHERE reader = ? AND item = ?',
                   (said_synthetic, said_label, confidence, now, token, item))
      return 'ok', where[0]
    if item != prog['current']:
      return 'conflict', where[0]
    conn.execute('INSERT INTO answers (reader, item, said_synthetic, said_label, confidence, '
                 'answered_at) VALUES (?, ?, ?, ?, ?, ?)',
                 (token, item, said_synthetic, said_label, confidence, now))
  return 'ok', where[0]


def image(conn: sqlite3.Connection, item: str) -> np.ndarray:
  """Returns an item's pixels, (side, side) uint8."""
  blob, side = conn.execute('SELECT pixels, side FROM items WHERE id = ?', (item,)).fetchone()
  return np.frombuffer(blob, np.uint8).reshape(side, side)


def answers(conn: sqlite3.Connection) -> dict:
  """Returns every answer with its truth, as columns (liverjax.evaluation.turing.FIELDS; readers
  by name)."""
  rows = conn.execute(
      'SELECT r.name, a.item, i.synthetic, i.label, a.said_synthetic, a.said_label, '
      'a.confidence FROM answers a JOIN readers r ON r.token = a.reader JOIN items i ON '
      'i.id = a.item ORDER BY r.name, a.item').fetchall()
  cols = list(zip(*rows)) if rows else [()] * len(turing.FIELDS)
  return {n: np.asarray(c) for n, c in zip(turing.FIELDS, cols)}
