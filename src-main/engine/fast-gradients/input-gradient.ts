/** dL/dx of a conv on wasm: forward convs of dy with flipped sub-filters (polyphase for strides). */
import * as tf from '@tensorflow/tfjs';
import { interleavePhases } from '../wasm-layout';
import { convInfo, padOrCrop4d } from './common';
import { flippedSubFilter } from './filter-cache';

/**
 * dL/dx of a conv. Stride 1: a forward conv of the padded dy with the flipped, in/out-swapped
 * filter. Stride s > 1: polyphase: each of the s*s output phases dx[s*q+r] is a stride-1 conv of
 * the (undilated) dy with the sub-filter w[k0::s], then the phases are interleaved. This avoids
 * convolving the zeros of a stride-dilated dy (4x the work for stride 2).
 */
export function conv2dInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: [number, number, number, number], attrs: tf.NamedAttrMap): tf.Tensor4D {
  return tf.tidy(() => {
    const info = convInfo(inputShape, filter.shape, attrs);
    const [n, h, w, ci] = inputShape;
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const [oh, ow] = [dy.shape[1], dy.shape[2]];
    const qh = Math.ceil(h / sh);
    const qw = Math.ceil(w / sw);
    // Per axis and phase r: first tap k0, number of taps m, and [before, after] padding of dy.
    const phase = (r: number, pad: number, k: number, s: number, q: number, o: number) => {
      const k0 = (r + pad) % s;
      const m = k0 >= k ? 0 : Math.ceil((k - k0) / s);
      const c = Math.floor((r + pad) / s);
      const before = m - 1 - c;
      const after = q + m - 1 - before - o;
      return { k0, m, before, after };
    };
    const phases: tf.Tensor4D[][] = [];
    for (let rh = 0; rh < sh; rh++) {
      const ph = phase(rh, info.padInfo.top, kh, sh, qh, oh);
      const row: tf.Tensor4D[] = [];
      for (let rw = 0; rw < sw; rw++) {
        const pw = phase(rw, info.padInfo.left, kw, sw, qw, ow);
        if (ph.m === 0 || pw.m === 0) {
          row.push(tf.zeros([n, qh, qw, ci]));
          continue;
        }
        const flipped = flippedSubFilter(filter, ph.k0, pw.k0, sh, sw);
        // Padding goes to the conv itself (XNNPACK pads implicitly); only cropping needs a slice.
        const crop = (a: number) => Math.max(0, -a);
        const cropped = padOrCrop4d(dy, [
          [0, 0],
          [-crop(ph.before), -crop(ph.after)],
          [-crop(pw.before), -crop(pw.after)],
          [0, 0],
        ]);
        const pad: [[number, number], [number, number], [number, number], [number, number]] = [
          [0, 0],
          [Math.max(0, ph.before), Math.max(0, ph.after)],
          [Math.max(0, pw.before), Math.max(0, pw.after)],
          [0, 0],
        ];
        row.push(tf.conv2d(cropped, flipped, 1, pad));
      }
      phases.push(row);
    }
    if (sh === 1 && sw === 1) return phases[0][0];
    return interleavePhases(phases, [n, h, w, ci]);
  });
}
