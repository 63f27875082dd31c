"""The phantom's tissue fields: smoothing, correlated noise, vessels, and (version 2) CT-like
parenchyma texture and the liver's edge with what lies outside it.

Version 2's texture imitates real portal-venous liver at 0.57-0.78 mm pixels (noise SD 0.023 in
the W350/L40 window, as horizontal differences / sqrt 2; autocorrelation 0.73 / 0.45 / 0.33 /
0.20 at lags 1 / 2 / 3 / 5 px) as the sum of three Gaussian-blurred noise fields: fine grain
(blur 0.45 mm), mottle (1.6 mm) and slow shading (12 mm), with variances split 62 / 35 / 3%
(a blurred field's autocorrelation is exp(-lag^2 / (4 blur^2)); the split was fitted with the
phantom's thin vessels in, on parenchyma_patches at 0.75 mm: docs/decisions/phantom_v2.md).
ROIs at the liver's edge show the capsule, perihepatic fat, the abdominal wall's muscle and
sometimes a rib: the saturated pixels (fat below the window, bone above it) real ROIs have.
"""

from __future__ import annotations

import numpy as np

# Version 2's texture: (blur in mm, share of the variance) of each noise field.
TEXTURE = ((0.45, 0.62), (1.6, 0.35), (12.0, 0.03))


def _gaussian_kernel(sigma: float) -> np.ndarray:
  radius = max(1, int(3 * sigma + 0.5))
  x = np.arange(-radius, radius + 1, dtype=np.float64)
  k = np.exp(-0.5 * (x / sigma) ** 2)
  return k / k.sum()


def blur(a: np.ndarray, sigma: float) -> np.ndarray:
  """Separable Gaussian blur with reflect padding (sigma in pixels)."""
  if sigma <= 0:
    return a
  k = _gaussian_kernel(sigma)
  r = len(k) // 2
  pad = np.pad(a, r, mode='reflect') if r < min(a.shape) else np.pad(a, r, mode='edge')
  out = np.apply_along_axis(lambda v: np.convolve(v, k, mode='valid'), 0, pad)
  out = np.apply_along_axis(lambda v: np.convolve(v, k, mode='valid'), 1, out)
  return out


def correlated_noise(rng, shape, sigma_px: float, std: float) -> np.ndarray:
  """Gaussian noise blurred to correlation length sigma_px, rescaled to the given std."""
  n = blur(rng.standard_normal(shape), sigma_px)
  return n * (std / (n.std() + 1e-8))


def smoothstep_edge(signed_dist: np.ndarray, width: float) -> np.ndarray:
  """Returns 1 inside (signed_dist < 0), 0 outside, with a logistic edge of the given width (px)."""
  return 1.0 / (1.0 + np.exp(np.clip(signed_dist / max(width, 1e-3), -50, 50)))


def texture(rng, n_px: int, pixel_mm: float, std: float) -> np.ndarray:
  """Version 2's CT texture: the sum of TEXTURE's blurred noise fields, total SD std (HU)."""
  return sum(correlated_noise(rng, (n_px, n_px), mm / pixel_mm, std * np.sqrt(share))
             for mm, share in TEXTURE)


def draw_vessels(rng, n_px: int, pixel_mm: float, n_vessels: int,
                 radius_mm: tuple[float, float] = (1.5, 5.0)) -> np.ndarray:
  """Returns a [0,1] map of branching tubular vessels (random curved segments with branches)."""
  yy, xx = np.mgrid[0:n_px, 0:n_px].astype(np.float64)
  vmap = np.zeros((n_px, n_px))
  segments = []
  for _ in range(n_vessels):
    # Trunk: enters from one border, curves across.
    p0 = rng.uniform(0, n_px, 2)
    ang = rng.uniform(0, 2 * np.pi)
    length = rng.uniform(0.5, 1.2) * n_px
    r_mm = rng.uniform(*radius_mm)
    segments.append((p0, ang, length, r_mm))
    # One or two branches leaving the trunk at a random point.
    for _ in range(rng.integers(0, 3)):
      t = rng.uniform(0.2, 0.8)
      pb = p0 + t * length * np.array([np.cos(ang), np.sin(ang)])
      segments.append((pb, ang + rng.choice([-1, 1]) * rng.uniform(0.4, 1.1),
                       rng.uniform(0.3, 0.7) * length, r_mm * rng.uniform(0.5, 0.8)))
  for p0, ang, length, r_mm in segments:
    curvature = rng.normal(0, 0.6) / max(length, 1.0)
    n_pts = max(8, int(length))
    s = np.linspace(0, length, n_pts)
    a = ang + curvature * s
    pts = p0 + np.cumsum(np.stack([np.cos(a), np.sin(a)], -1) * (length / n_pts), axis=0)
    r_px = r_mm / pixel_mm
    # Distance from every pixel to the polyline's points (sampled densely enough).
    d2 = np.full((n_px, n_px), np.inf)
    for py, px in pts[:: max(1, int(r_px / 2))]:
      d2 = np.minimum(d2, (yy - py) ** 2 + (xx - px) ** 2)
    # Flat-topped tube with a soft wall (partial-volume edge of about 0.3 radius).
    vmap = np.maximum(vmap, smoothstep_edge(np.sqrt(d2) - r_px, 0.3 * r_px))
  return vmap


def liver_edge(rng, n_px: int, pixel_mm: float, centre, lesion: np.ndarray):
  """Returns (liver, outside_hu): liver in [0, 1] (1 inside the liver, a partial-volume capsule
  edge) and the HU of what lies outside it, for an ROI whose lesion (centre, and its [0, 1] map
  `lesion`) sits near the liver's edge. The edge is a gently curved arc 1-6 mm beyond the
  lesion's margin (moved outwards where it would cut the lesion); outside it, perihepatic fat
  (-170 to -90 HU, 3-15 mm thick), then the abdominal wall's muscle (35-60 HU), and in 40% of
  these ROIs a rib (cortex 500-900 HU around marrow of 150-250 HU)."""
  yy, xx = np.mgrid[0:n_px, 0:n_px].astype(np.float64)
  phi = rng.uniform(0, 2 * np.pi)
  normal = np.array([np.sin(phi), np.cos(phi)])
  reach = np.max(((yy - centre[0]) * normal[0] + (xx - centre[1]) * normal[1])[lesion > 0.1])
  gap = reach + rng.uniform(1.0, 6.0) / pixel_mm
  bend = gap + rng.uniform(40.0, 150.0) / pixel_mm    # radius of the liver's outline
  margin = gap - reach
  c_b = np.asarray(centre) + normal * (gap - bend)     # the outline passes `gap` from the lesion
  for _ in range(8):   # move the outline outwards until the whole lesion is margin inside it
    depth = np.hypot(yy - c_b[0], xx - c_b[1]) - bend  # > 0 outside the liver
    worst = np.max(depth[lesion > 0.1]) + margin
    if worst <= 0.5:
      break
    c_b = c_b + normal * worst
  liver = smoothstep_edge(depth, 0.4 / pixel_mm)
  fat_px = rng.uniform(3.0, 15.0) / pixel_mm
  muscle = smoothstep_edge(fat_px - depth, 0.5 / pixel_mm)
  outside = rng.uniform(-170, -90) * (1 - muscle) + rng.uniform(35, 60) * muscle
  if rng.uniform() < 0.4:
    along = rng.uniform(-0.5, 0.5) * n_px
    rib_c = c_b + normal * (bend + fat_px + rng.uniform(4, 9) / pixel_mm) + along * np.array(
        [-normal[1], normal[0]])
    ry, rx = rng.uniform(4, 6) / pixel_mm, rng.uniform(6, 9) / pixel_mm
    rr = np.hypot((yy - rib_c[0]) / ry, (xx - rib_c[1]) / rx)
    bone = smoothstep_edge(rr - 1.0, 0.08)
    marrow = smoothstep_edge(rr - 0.7, 0.08)
    outside = (outside * (1 - bone) + bone * rng.uniform(500, 900) * (1 - marrow)
               + marrow * rng.uniform(150, 250))
  return liver, outside


def lesion_variant(rng, cls: str, lesion: np.ndarray, rnorm: np.ndarray, theta: np.ndarray,
                   d_mm: float, pixel_mm: float) -> np.ndarray:
  """Returns a lesion's HU redrawn as one of its class's less common forms (version 2), picked at
  random: cysts proteinaceous (20-45 HU) or septated (thin enhancing septa); metastases
  hypervascular (near the liver's level with a hypodense halo), bull's-eye (a denser centre in a
  hypodense ring) or calcified (dense specks); hemangiomas with a central scar (large ones) or
  sclerosed (uniformly hypodense, no nodules). rnorm is the radius over the lesion's boundary
  radius, theta the angle, both per pixel."""
  n = lesion.shape[0]
  grain = correlated_noise(rng, lesion.shape, 1.5 / pixel_mm, 1.0)
  if cls == 'cyst':
    if rng.uniform() < 0.5:
      return lesion + rng.uniform(20, 35)
    septa = np.zeros_like(lesion)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    for _ in range(rng.integers(1, 3)):
      a, off = rng.uniform(0, np.pi), rng.uniform(-0.4, 0.4) * d_mm / pixel_mm / 2
      dist = np.abs((xx - n / 2) * np.sin(a) - (yy - n / 2) * np.cos(a) - off)
      septa = np.maximum(septa, np.exp(-0.5 * (dist * pixel_mm / 0.5) ** 2))
    return lesion + rng.uniform(40, 70) * septa * (rnorm < 0.95)
  if cls == 'metastasis':
    kind = rng.integers(0, 3)
    if kind == 0:   # hypervascular: near the liver's level, a hypodense halo at the margin
      halo = np.exp(-0.5 * ((rnorm - 0.92) / 0.06) ** 2)
      return rng.uniform(95, 125) + 8 * grain - rng.uniform(30, 50) * halo
    if kind == 1:   # bull's-eye: a denser centre inside a hypodense ring
      return lesion + rng.uniform(30, 50) * (rnorm < rng.uniform(0.35, 0.55))
    specks = (correlated_noise(rng, lesion.shape, 0.6 / pixel_mm, 1.0) > 2.3) & (rnorm < 0.8)
    return np.where(specks, rng.uniform(250, 400), lesion)
  if d_mm > 35 and rng.uniform() < 0.6:   # hemangioma, central scar: a hypodense cleft
    cleft = (rnorm < rng.uniform(0.25, 0.4) * (1 + 0.4 * np.cos(3 * theta + rng.uniform(0, 6))))
    return np.where(cleft, rng.uniform(10, 25) + 3 * grain, lesion)
  return rng.uniform(35, 60) + 6 * grain   # sclerosed: uniformly hypodense, no nodules
