/**
 * Draws the app icon, resources/icon.png (512×512 RGBA; electron-builder makes the .icns/.ico
 * from it): two classes of points either side of a decision boundary, the margin band between
 * them, and the points nearest the boundary — the ones margin-based pruning weighs — ringed.
 * Deterministic, 4×4 supersampled. Usage: node --import tsx scripts/make-icon.ts [out.png]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

export const ICON_SIZE = 512;
type RGBA = [number, number, number, number];

/** Signed distance to a rounded square filling the icon with a small inset (negative inside). */
function roundedSquare(x: number, y: number, s: number): number {
  const inset = s * 0.04;
  const r = s * 0.2;
  const half = s / 2 - inset;
  const qx = Math.abs(x - s / 2) - (half - r);
  const qy = Math.abs(y - s / 2) - (half - r);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

// The boundary: a line through the centre, given by its unit normal (for signed distances).
const NORMAL = [Math.sin(Math.PI / 6), Math.cos(Math.PI / 6)] as const;
const POINTS: Array<{ x: number; y: number; cls: 0 | 1 }> = [
  { x: 0.24, y: 0.3, cls: 0 },
  { x: 0.4, y: 0.2, cls: 0 },
  { x: 0.2, y: 0.52, cls: 0 },
  { x: 0.55, y: 0.3, cls: 0 },
  { x: 0.36, y: 0.42, cls: 0 },
  { x: 0.8, y: 0.7, cls: 1 },
  { x: 0.62, y: 0.8, cls: 1 },
  { x: 0.78, y: 0.5, cls: 1 },
  { x: 0.46, y: 0.7, cls: 1 },
  { x: 0.64, y: 0.6, cls: 1 },
];
const CLASS_COLOURS: RGBA[] = [
  [255, 184, 76, 255],
  [110, 231, 183, 255],
];

function over(dst: RGBA, src: RGBA, coverage = 1): RGBA {
  const a = (src[3] / 255) * coverage;
  return [dst[0] * (1 - a) + src[0] * a, dst[1] * (1 - a) + src[1] * a, dst[2] * (1 - a) + src[2] * a, dst[3] + (255 - dst[3]) * a];
}

/** The colour at one sample point (u, v in 0..1). */
function sample(u: number, v: number, s: number): RGBA {
  if (roundedSquare(u * s, v * s, s) > 0) return [0, 0, 0, 0];
  // background: a deep blue diagonal gradient
  const t = (u + v) / 2;
  let c: RGBA = [18 + 20 * t, 32 + 36 * t, 72 + 60 * t, 255];
  const d = (u - 0.5) * NORMAL[0] + (v - 0.5) * NORMAL[1]; // signed distance to the boundary
  const margin = 0.075;
  if (Math.abs(d) < margin) c = over(c, [120, 170, 255, 60]);
  if (Math.abs(Math.abs(d) - margin) < 0.004) c = over(c, [170, 205, 255, 150]); // the band's edges
  if (Math.abs(d) < 0.009) c = over(c, [235, 242, 255, 255]);
  for (const p of POINTS) {
    const r = Math.hypot(u - p.x, v - p.y);
    const near = Math.abs((p.x - 0.5) * NORMAL[0] + (p.y - 0.5) * NORMAL[1]) < 0.14;
    if (near && r < 0.072 && r > 0.058) c = over(c, [255, 255, 255, 230]);
    if (r < 0.046) c = over(c, CLASS_COLOURS[p.cls]);
  }
  return c;
}

export function drawIcon(size = ICON_SIZE): PNG {
  const png = new PNG({ width: size, height: size });
  const n = 4; // samples per axis
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const acc = [0, 0, 0, 0];
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          const c = sample((x + (i + 0.5) / n) / size, (y + (j + 0.5) / n) / size, size);
          // premultiplied, so transparent samples do not darken the edge
          acc[0] += (c[0] * c[3]) / 255;
          acc[1] += (c[1] * c[3]) / 255;
          acc[2] += (c[2] * c[3]) / 255;
          acc[3] += c[3];
        }
      }
      const k = (y * size + x) * 4;
      const a = acc[3] / (n * n);
      png.data[k + 3] = Math.round(a);
      for (let ch = 0; ch < 3; ch++) png.data[k + ch] = a > 0 ? Math.round(Math.min(255, (acc[ch] / (n * n)) * (255 / a))) : 0;
    }
  }
  return png;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const out = path.resolve(process.argv[2] ?? path.join(root, 'resources', 'icon.png'));
  fs.writeFileSync(out, PNG.sync.write(drawIcon()));
  console.log(`${path.relative(process.cwd(), out)}: ${ICON_SIZE}×${ICON_SIZE}`);
}
