"""Procedural CT-like phantom of liver-lesion ROIs: cyst, metastasis, hemangioma.

The paper's data set is private, so the embedded default is a seeded, deterministic phantom that
imitates portal-venous-phase CT. Each lesion is rendered in Hounsfield units at a native in-plane
resolution (``pixel_mm``), inside a square ROI whose side is the lesion diameter times a margin
factor, then resized to 64x64 with bicubic interpolation and windowed (default W350/L40) to [0, 1]
-- the same path a real ROI takes (crop, resize, window). Small lesions therefore come out blurrier
than large ones, as in the paper's data.

What each class looks like (radiology textbook appearance, simplified):
- parenchyma: about 110 HU, correlated (blotchy) noise, bright branching portal/hepatic vessels;
- cyst: round or oval, homogeneous near-water density (0-15 HU), sharp smooth margin;
- metastasis: hypodense (40-70 HU), lobulated or irregular, heterogeneous, a blurred (infiltrative)
  margin, sometimes a rim of enhancement and a necrotic centre;
- hemangioma: well defined, hypodense centre with peripheral nodular, discontinuous enhancement as
  bright as vessels; small ones fill in completely ("flash filling").

The difficulty knobs (``noise_hu``, ``contrast``, ``overlap``) live in :class:`PhantomConfig` and in
the config file. ``overlap`` is the fraction of metastases and hemangiomas drawn with the *other*
class's atypical features (a nodular-looking rim on a metastasis, faint sparse nodules on a
hemangioma), which keeps that pair confusable as in the paper; cysts stay the easiest class.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from liverjax.datasets.dataset import Dataset, window_hu

CLASSES = ('cyst', 'metastasis', 'hemangioma')
PAPER_COUNTS = (53, 64, 65)


@dataclasses.dataclass(frozen=True)
class PhantomConfig:
  """Parameters of the phantom; defaults give the paper's class counts and a hard problem."""
  counts: tuple[int, ...] = PAPER_COUNTS
  seed: int = 0
  size: int = 64
  pixel_mm: float = 0.75            # native in-plane resolution before the resize to `size`.
  diameter_mm: tuple[float, float] = (10.0, 102.0)
  margin: float = 1.6               # ROI side = margin * lesion diameter (at least min_side_mm).
  min_side_mm: float = 24.0
  noise_hu: float = 18.0            # std of the correlated noise, per patient x U[0.7, 1.3].
  contrast: float = 1.0             # scales every lesion-vs-parenchyma HU difference.
  overlap: float = 0.25             # fraction of atypical metastases / hemangiomas.
  window: tuple[float, float] = (350.0, 40.0)   # (width, level) in HU.
  lesions_per_patient: tuple[int, int] = (1, 3)


def _gaussian_kernel(sigma: float) -> np.ndarray:
  radius = max(1, int(3 * sigma + 0.5))
  x = np.arange(-radius, radius + 1, dtype=np.float64)
  k = np.exp(-0.5 * (x / sigma) ** 2)
  return k / k.sum()


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
  """Separable Gaussian blur with reflect padding (sigma in pixels)."""
  if sigma <= 0:
    return a
  k = _gaussian_kernel(sigma)
  r = len(k) // 2
  pad = np.pad(a, r, mode='reflect') if r < min(a.shape) else np.pad(a, r, mode='edge')
  out = np.apply_along_axis(lambda v: np.convolve(v, k, mode='valid'), 0, pad)
  out = np.apply_along_axis(lambda v: np.convolve(v, k, mode='valid'), 1, out)
  return out


def _correlated_noise(rng, shape, sigma_px: float, std: float) -> np.ndarray:
  """Gaussian noise blurred to correlation length sigma_px, rescaled to the given std."""
  n = _blur(rng.standard_normal(shape), sigma_px)
  return n * (std / (n.std() + 1e-8))


def _smoothstep_edge(signed_dist: np.ndarray, width: float) -> np.ndarray:
  """Returns 1 inside (signed_dist < 0), 0 outside, with a logistic edge of the given width (px)."""
  return 1.0 / (1.0 + np.exp(np.clip(signed_dist / max(width, 1e-3), -50, 50)))


def _draw_vessels(rng, n_px: int, pixel_mm: float, n_vessels: int) -> np.ndarray:
  """Returns a [0,1] map of branching tubular vessels (random curved segments with branches)."""
  yy, xx = np.mgrid[0:n_px, 0:n_px].astype(np.float64)
  vmap = np.zeros((n_px, n_px))
  segments = []
  for _ in range(n_vessels):
    # Trunk: enters from one border, curves across.
    p0 = rng.uniform(0, n_px, 2)
    ang = rng.uniform(0, 2 * np.pi)
    length = rng.uniform(0.5, 1.2) * n_px
    radius_mm = rng.uniform(1.5, 5.0)
    segments.append((p0, ang, length, radius_mm))
    # One or two branches leaving the trunk at a random point.
    for _ in range(rng.integers(0, 3)):
      t = rng.uniform(0.2, 0.8)
      pb = p0 + t * length * np.array([np.cos(ang), np.sin(ang)])
      segments.append((pb, ang + rng.choice([-1, 1]) * rng.uniform(0.4, 1.1),
                       rng.uniform(0.3, 0.7) * length, radius_mm * rng.uniform(0.5, 0.8)))
  for p0, ang, length, radius_mm in segments:
    curvature = rng.normal(0, 0.6) / max(length, 1.0)
    n_pts = max(8, int(length))
    s = np.linspace(0, length, n_pts)
    a = ang + curvature * s
    pts = p0 + np.cumsum(np.stack([np.cos(a), np.sin(a)], -1) * (length / n_pts), axis=0)
    r_px = radius_mm / pixel_mm
    # Distance from every pixel to the polyline's points (sampled densely enough).
    d2 = np.full((n_px, n_px), np.inf)
    for py, px in pts[:: max(1, int(r_px / 2))]:
      d2 = np.minimum(d2, (yy - py) ** 2 + (xx - px) ** 2)
    # Flat-topped tube with a soft wall (partial-volume edge of about 0.3 radius).
    vmap = np.maximum(vmap, _smoothstep_edge(np.sqrt(d2) - r_px, 0.3 * r_px))
  return vmap


def _parenchyma(rng, n_px: int, px: float, liver_hu: float) -> tuple[np.ndarray, np.ndarray]:
  """Returns (HU, vessel mask) of an n_px square of parenchyma: enhancement varies per patient
  (contrast timing), plus slow shading; 1-3 vessels (drawn in by the caller)."""
  hu = liver_hu + _correlated_noise(rng, (n_px, n_px), 12.0 / px, 6.0)
  vessels = _draw_vessels(rng, n_px, px, n_vessels=rng.integers(1, 4))
  return hu, vessels


def _lesion_radius_field(rng, n_px, centre, radius_px, lobulation, elongation):
  """Returns (signed distance to a lobulated elliptic boundary in px, normalised radius r/R(theta))."""
  yy, xx = np.mgrid[0:n_px, 0:n_px].astype(np.float64)
  rot = rng.uniform(0, np.pi)
  dy, dx = yy - centre[0], xx - centre[1]
  u = dx * np.cos(rot) + dy * np.sin(rot)
  v = (-dx * np.sin(rot) + dy * np.cos(rot)) / elongation
  r = np.hypot(u, v)
  theta = np.arctan2(v, u)
  boundary = np.ones_like(theta)
  for k in range(2, 7):
    amp = lobulation * rng.uniform(0.2, 1.0) / k ** 0.8
    boundary += amp * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
  rb = radius_px * boundary
  return r - rb, r / np.maximum(rb, 1e-6), theta


def _render_lesion(rng, cls: str, d_mm: float, cfg: PhantomConfig, patient):
  """Returns the 64x64 windowed ROI of one lesion and its diameter in output pixels."""
  side_mm = max(cfg.min_side_mm, cfg.margin * d_mm * rng.uniform(0.9, 1.15))
  n_px = int(np.ceil(side_mm / cfg.pixel_mm))
  px = cfg.pixel_mm
  c = cfg.contrast
  centre = np.array([n_px / 2, n_px / 2]) + rng.normal(0, 0.04 * n_px, 2)
  radius_px = d_mm / 2 / px

  liver_hu, vessel_hu = patient['liver_hu'], patient['vessel_hu']
  hu, vessels = _parenchyma(rng, n_px, px, liver_hu)

  atypical = rng.uniform() < cfg.overlap
  if cls == 'cyst':
    lob, elong, edge_mm = rng.uniform(0.0, 0.08), rng.uniform(1.0, 1.35), 0.4
  elif cls == 'metastasis':
    lob, elong, edge_mm = rng.uniform(0.1, 0.35), rng.uniform(1.0, 1.5), rng.uniform(0.8, 2.0)
  else:
    lob, elong, edge_mm = rng.uniform(0.05, 0.25), rng.uniform(1.0, 1.4), rng.uniform(0.5, 1.0)
  sd, rnorm, theta = _lesion_radius_field(rng, n_px, centre, radius_px, lob, elong)
  inside = _smoothstep_edge(sd, edge_mm / px)

  if cls == 'cyst':
    lesion = rng.uniform(0, 15) + _correlated_noise(rng, (n_px, n_px), 2.0 / px, 2.0)
  elif cls == 'metastasis':
    base = rng.uniform(40, 70)
    lesion = base + _correlated_noise(rng, (n_px, n_px), 3.0 / px, 10.0)
    if rng.uniform() < 0.5 + 0.3 * atypical:   # rim of enhancement
      rim_hu = liver_hu + rng.uniform(-10, 25) + (vessel_hu - liver_hu) * 0.6 * atypical
      rim_w = rng.uniform(0.1, 0.25)
      rim = np.exp(-0.5 * ((rnorm - (1 - rim_w)) / (rim_w / 2)) ** 2)
      if atypical:   # a discontinuous, nodular-looking rim: mimics a hemangioma.
        rim *= np.clip(0.5 + np.cos(rng.integers(3, 7) * theta + rng.uniform(0, 6.3)), 0, 1)
      lesion = lesion + (rim_hu - base) * rim
    if d_mm > 25 and rng.uniform() < 0.5:        # necrotic centre
      nec = _smoothstep_edge(rnorm - rng.uniform(0.3, 0.6), 0.08)
      lesion = lesion + (rng.uniform(10, 30) - base) * nec
  else:  # hemangioma
    centre_hu = rng.uniform(35, 65)
    lesion = centre_hu + _correlated_noise(rng, (n_px, n_px), 3.0 / px, 8.0)
    if d_mm < 18 and not atypical and rng.uniform() < 0.6:   # flash-filling small hemangioma
      lesion = lesion + (vessel_hu * rng.uniform(0.8, 0.95) - centre_hu) * np.ones_like(lesion)
    else:
      n_nod = rng.integers(3, 9) if not atypical else rng.integers(1, 4)
      nod_hu = vessel_hu * (rng.uniform(0.85, 1.0) if not atypical else rng.uniform(0.55, 0.75))
      nod = np.zeros_like(lesion)
      yy, xx = np.mgrid[0:n_px, 0:n_px].astype(np.float64)
      for _ in range(n_nod):
        a = rng.uniform(0, 2 * np.pi)
        rr = radius_px * rng.uniform(0.7, 0.95)
        ny, nx = centre + rr * np.array([np.sin(a), np.cos(a)])
        s = radius_px * rng.uniform(0.08, 0.2)
        nod = np.maximum(nod, np.exp(-0.5 * ((yy - ny) ** 2 + (xx - nx) ** 2) / s ** 2))
      lesion = lesion + (nod_hu - centre_hu) * nod
  lesion = liver_hu + c * (lesion - liver_hu)

  hu = np.where(inside > 0.5, hu, hu + (vessel_hu - liver_hu) * vessels)  # vessels stay outside
  hu = inside * lesion + (1 - inside) * hu
  # Scanner noise: correlated (blotchy), per-patient level, on top of everything.
  hu = hu + _correlated_noise(rng, (n_px, n_px), 0.7 / px, patient['noise'])

  roi = Image.fromarray(hu.astype(np.float32), mode='F').resize(
      (cfg.size, cfg.size), Image.Resampling.BICUBIC)
  out = window_hu(np.asarray(roi), *cfg.window)
  return out, d_mm / (n_px * px) * cfg.size


def make_phantom(cfg: PhantomConfig = PhantomConfig()) -> dict[str, np.ndarray]:
  """Returns the phantom data set: images (N,64,64,1) float32 in [0,1], labels, groups, diameters.

  ``groups`` are patient ids (1 to 3 lesions per patient, all of one class), ``lesions`` the lesion
  ids (one image per lesion here), ``diameter_px`` the lesion diameter in output-image pixels.
  The result depends only on ``cfg`` (seeded).
  """
  rng = np.random.default_rng(cfg.seed)
  images, labels, groups, diam = [], [], [], []
  patient_id = 0
  for label, count in enumerate(cfg.counts):
    cls = CLASSES[label % len(CLASSES)]
    remaining = count
    while remaining > 0:
      n_les = int(min(remaining, rng.integers(cfg.lesions_per_patient[0],
                                              cfg.lesions_per_patient[1] + 1)))
      patient = dict(liver_hu=rng.uniform(95, 125), vessel_hu=rng.uniform(170, 210),
                     noise=cfg.noise_hu * rng.uniform(0.7, 1.3))
      for _ in range(n_les):
        lo, hi = np.log(cfg.diameter_mm[0]), np.log(cfg.diameter_mm[1])
        d_mm = float(np.exp(np.clip(rng.normal(np.log(28.0), 0.55), lo, hi)))
        img, d_px = _render_lesion(rng, cls, d_mm, cfg, patient)
        images.append(img)
        labels.append(label)
        groups.append(patient_id)
        diam.append(d_px)
      patient_id += 1
      remaining -= n_les
  n = len(images)
  return dict(images=np.stack(images)[..., None], labels=np.asarray(labels, np.int32),
              groups=np.asarray(groups, np.int32), lesions=np.arange(n, dtype=np.int32),
              diameter_px=np.asarray(diam, np.float32),
              classes=np.asarray(CLASSES[:len(cfg.counts)]))


def load_phantom(counts=None, seed: int = 0, noise_hu: float = 18.0, contrast: float = 1.0,
                 overlap: float = 0.25) -> Dataset:
  """Returns the embedded procedural phantom (groups = patients)."""
  kw = dict(seed=seed, noise_hu=noise_hu, contrast=contrast, overlap=overlap)
  if counts:
    kw['counts'] = tuple(counts)
  d = make_phantom(PhantomConfig(**kw))
  return Dataset(images=d['images'], labels=d['labels'], classes=tuple(str(c) for c in
                 d['classes']), groups=d['groups'].astype(np.int64), diameter_px=d['diameter_px'],
                 source=f'phantom(seed={seed})')
