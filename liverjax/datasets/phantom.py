"""Procedural CT-like phantom of liver-lesion ROIs: cyst, metastasis, hemangioma.

The paper's data set is private, so the embedded default is a seeded, deterministic phantom that
imitates portal-venous-phase CT. Each lesion is rendered in Hounsfield units at a native in-plane
resolution (``pixel_mm``), inside a square ROI whose side is the lesion diameter times a margin
factor, then resized to 64x64 with bicubic interpolation and windowed (default W350/L40) to [0, 1]
-- the same path a real ROI takes (crop, resize, window). Small lesions therefore come out blurrier
than large ones, as in the paper's data.

What each class looks like (radiology textbook appearance, simplified):
- parenchyma: 105-130 HU per patient, CT texture, bright branching portal/hepatic vessels;
- cyst: round or oval, homogeneous near-water density (0-15 HU), sharp smooth margin;
- metastasis: hypodense (40-70 HU), lobulated or irregular, heterogeneous, a blurred (infiltrative)
  margin, sometimes a rim of enhancement and a necrotic centre;
- hemangioma: well defined, hypodense centre with peripheral nodular, discontinuous enhancement as
  bright as vessels; small ones fill in completely ("flash filling").

Two versions (``PhantomConfig.version``, config.data.phantom.version). Version 2, the default,
has real CT's parenchyma texture at matched pixel spacing, ROIs at the liver's edge (fat, muscle,
ribs) and lesions in less common forms (:mod:`liverjax.datasets.phantom_tissue`); its knobs were
calibrated on phantom seed 1 toward the paper's regime (benchmarks/phantom_calibration.py). Version
1 is the earlier phantom (blotchy noise, no edge, no variants), kept byte for byte. The knobs:
``noise_hu``, ``contrast``, ``overlap`` (the fraction of metastases and hemangiomas drawn with the
*other* class's atypical features: a nodular-looking rim on a metastasis, faint sparse nodules on
a hemangioma), ``edge`` and ``variety`` (version 2); each defaults to its version's value.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from liverjax.datasets import phantom_tissue as tissue
from liverjax.datasets.dataset import Dataset, window_hu

CLASSES = ('cyst', 'metastasis', 'hemangioma')
PAPER_COUNTS = (53, 64, 65)


# Each version's knobs. Version 2's are calibrated on phantom seed 1 by
# benchmarks/phantom_calibration.py; version 1 keeps the earlier phantom's images, byte for byte.
VERSIONS = {1: dict(noise_hu=18.0, contrast=1.0, overlap=0.25, edge=0.0, variety=0.0),
            2: dict(noise_hu=13.0, contrast=0.85, overlap=0.4, edge=0.5, variety=0.5)}
# version: the phantom seed its knobs were chosen on (docs/decisions/phantom_v2.md)
CALIBRATED_ON = {2: 1}


def settings(p) -> dict:
  """Returns PhantomConfig's keyword arguments from config.data.phantom (a ConfigDict or the dict
  of a workdir's config.json): version (1 where it is missing: workdirs written before versions
  existed) and the knobs, a negative knob meaning the version's value."""
  out = {'version': int(p.get('version', 1))}
  for k in VERSIONS[1]:
    v = p.get(k, -1.0)
    out[k] = None if v is None or v < 0 else float(v)
  return out


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
  window: tuple[float, float] = (350.0, 40.0)   # (width, level) in HU.
  lesions_per_patient: tuple[int, int] = (1, 3)
  version: int = 2                  # 2: calibrated (module docstring); 1: the earlier phantom.
  # The knobs; None: the version's value (VERSIONS).
  noise_hu: float | None = None     # std of the CT noise (HU), per patient x a random factor.
  contrast: float | None = None     # scales every lesion-vs-parenchyma HU difference.
  overlap: float | None = None      # fraction of atypical metastases / hemangiomas.
  edge: float | None = None         # fraction of ROIs at the liver's edge (version 2).
  variety: float | None = None      # fraction of lesions in a less common form (version 2).

  def __post_init__(self):
    if self.version not in VERSIONS:
      raise ValueError(f'phantom version {self.version}: expected one of {sorted(VERSIONS)}')
    for k, v in VERSIONS[self.version].items():
      if getattr(self, k) is None:
        object.__setattr__(self, k, v)


def background(rng, n_px: int, cfg: PhantomConfig, patient: dict):
  """Returns (HU, vessel map) of an n_px square of lesion-free parenchyma before the CT noise:
  the patient's enhancement (version 1: plus slow shading, 1-3 vessels; version 2: 0-1 thin
  vessels, its shading being part of ct_noise's texture); the caller draws the vessels in."""
  px = cfg.pixel_mm
  if cfg.version == 1:
    hu = patient['liver_hu'] + tissue.correlated_noise(rng, (n_px, n_px), 12.0 / px, 6.0)
    return hu, tissue.draw_vessels(rng, n_px, px, n_vessels=rng.integers(1, 4))
  return (np.full((n_px, n_px), patient['liver_hu']),
          tissue.draw_vessels(rng, n_px, px, rng.integers(0, 2), radius_mm=(1.0, 2.5)))


def ct_noise(rng, n_px: int, cfg: PhantomConfig, patient: dict) -> np.ndarray:
  """Returns the CT noise (HU) laid over everything at the patient's level: version 1's blotchy
  correlated noise, or version 2's texture (phantom_tissue.texture)."""
  if cfg.version == 1:
    return tissue.correlated_noise(rng, (n_px, n_px), 0.7 / cfg.pixel_mm, patient['noise'])
  return tissue.texture(rng, n_px, cfg.pixel_mm, patient['noise'])


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
  hu, vessels = background(rng, n_px, cfg, patient)

  atypical = rng.uniform() < cfg.overlap
  if cls == 'cyst':
    lob, elong, edge_mm = rng.uniform(0.0, 0.08), rng.uniform(1.0, 1.35), 0.4
  elif cls == 'metastasis':
    lob, elong, edge_mm = rng.uniform(0.1, 0.35), rng.uniform(1.0, 1.5), rng.uniform(0.8, 2.0)
  else:
    lob, elong, edge_mm = rng.uniform(0.05, 0.25), rng.uniform(1.0, 1.4), rng.uniform(0.5, 1.0)
  sd, rnorm, theta = _lesion_radius_field(rng, n_px, centre, radius_px, lob, elong)
  inside = tissue.smoothstep_edge(sd, edge_mm / px)

  if cls == 'cyst':
    lesion = rng.uniform(0, 15) + tissue.correlated_noise(rng, (n_px, n_px), 2.0 / px, 2.0)
  elif cls == 'metastasis':
    base = rng.uniform(40, 70)
    lesion = base + tissue.correlated_noise(rng, (n_px, n_px), 3.0 / px, 10.0)
    if rng.uniform() < 0.5 + 0.3 * atypical:   # rim of enhancement
      rim_hu = liver_hu + rng.uniform(-10, 25) + (vessel_hu - liver_hu) * 0.6 * atypical
      rim_w = rng.uniform(0.1, 0.25)
      rim = np.exp(-0.5 * ((rnorm - (1 - rim_w)) / (rim_w / 2)) ** 2)
      if atypical:   # a discontinuous, nodular-looking rim: mimics a hemangioma.
        rim *= np.clip(0.5 + np.cos(rng.integers(3, 7) * theta + rng.uniform(0, 6.3)), 0, 1)
      lesion = lesion + (rim_hu - base) * rim
    if d_mm > 25 and rng.uniform() < 0.5:        # necrotic centre
      nec = tissue.smoothstep_edge(rnorm - rng.uniform(0.3, 0.6), 0.08)
      lesion = lesion + (rng.uniform(10, 30) - base) * nec
  else:  # hemangioma
    centre_hu = rng.uniform(35, 65)
    lesion = centre_hu + tissue.correlated_noise(rng, (n_px, n_px), 3.0 / px, 8.0)
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
  if cfg.version == 2 and rng.uniform() < cfg.variety:
    lesion = tissue.lesion_variant(rng, cls, lesion, rnorm, theta, d_mm, px)
  lesion = liver_hu + c * (lesion - liver_hu)

  hu = np.where(inside > 0.5, hu, hu + (vessel_hu - liver_hu) * vessels)  # vessels stay outside
  hu = inside * lesion + (1 - inside) * hu
  if cfg.version == 2 and rng.uniform() < cfg.edge:
    liver, outside = tissue.liver_edge(rng, n_px, px, centre, inside)
    hu = liver * hu + (1 - liver) * outside
  hu = hu + ct_noise(rng, n_px, cfg, patient)

  roi = Image.fromarray(hu.astype(np.float32), mode='F').resize(
      (cfg.size, cfg.size), Image.Resampling.BICUBIC)
  out = window_hu(np.asarray(roi), *cfg.window)
  return out, d_mm / (n_px * px) * cfg.size


def new_patient(rng, cfg: PhantomConfig) -> dict:
  """Returns a patient's liver and vessel enhancement (HU) and CT noise level."""
  if cfg.version == 1:
    return dict(liver_hu=rng.uniform(95, 125), vessel_hu=rng.uniform(170, 210),
                noise=cfg.noise_hu * rng.uniform(0.7, 1.3))
  return dict(liver_hu=rng.uniform(105, 130), vessel_hu=rng.uniform(160, 200),
              noise=cfg.noise_hu * rng.uniform(0.85, 1.15))


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
      patient = new_patient(rng, cfg)
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


def load_phantom(counts=None, seed: int = 0, **knobs) -> Dataset:
  """Returns the embedded procedural phantom (groups = patients); knobs: PhantomConfig's version,
  noise_hu, contrast, overlap, edge, variety (e.g. ``**settings(config.data.phantom)``)."""
  kw = dict(seed=seed, **knobs)
  if counts:
    kw['counts'] = tuple(counts)
  cfg = PhantomConfig(**kw)
  d = make_phantom(cfg)
  return Dataset(images=d['images'], labels=d['labels'], classes=tuple(str(c) for c in
                 d['classes']), groups=d['groups'].astype(np.int64), diameter_px=d['diameter_px'],
                 source=f'phantom(seed={seed}, version={cfg.version})')
