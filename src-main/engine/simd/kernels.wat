;; Data-movement kernels for the backward pass on the tfjs wasm backend, in wasm SIMD.
;;
;; The module imports the tfjs wasm heap (its WebAssembly.Memory), so every pointer below is a
;; byte offset of a tensor the backend already holds: no copies in or out. XNNPACK does the
;; arithmetic (conv, matmul); these are the layout passes around it, which in plain JS ran at
;; 150-600 M floats/s and cost ~110 ms of a cnn-small training step.
;; Counts are in elements, strides marked "bytes" are in bytes. Every kernel handles any count
;; (SIMD body + scalar tail); kernels that need channels in multiples of 4 say so, and the
;; caller checks. Compiled by scripts/build-simd-kernels.mjs into kernels-wasm.ts.
(module
  (import "env" "memory" (memory 1))

  ;; out[i] = y[i] > 0 ? dy[i] : 0 (the ReLU gradient from the saved output or input).
  (func $relu_mask (export "relu_mask") (param $dy i32) (param $y i32) (param $out i32) (param $n i32)
    (local $end i32) (local $end4 i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $body
      (br_if $done (i32.ge_u (local.get $out) (local.get $end4)))
      (v128.store (local.get $out)
        (v128.and (v128.load (local.get $dy)) (f32x4.gt (v128.load (local.get $y)) (v128.const f32x4 0 0 0 0))))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br $body)))
    (block $tdone (loop $tail
      (br_if $tdone (i32.ge_u (local.get $out) (local.get $end)))
      (f32.store (local.get $out)
        (select (f32.load (local.get $dy)) (f32.const 0) (f32.gt (f32.load (local.get $y)) (f32.const 0))))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br $tail))))

  ;; acc[j] (f64) += partial[j] (f32) for j < c, then partial = 0. c multiple of 4.
  (func $flush (param $partial i32) (param $acc i32) (param $c i32)
    (local $end i32) (local $p v128)
    (local.set $end (i32.add (local.get $partial) (i32.shl (local.get $c) (i32.const 2))))
    (block $done (loop $body
      (br_if $done (i32.ge_u (local.get $partial) (local.get $end)))
      (local.set $p (v128.load (local.get $partial)))
      (v128.store (local.get $acc) (f64x2.add (v128.load (local.get $acc)) (f64x2.promote_low_f32x4 (local.get $p))))
      (v128.store offset=16 (local.get $acc)
        (f64x2.add (v128.load offset=16 (local.get $acc))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $p) (local.get $p)))))
      (v128.store (local.get $partial) (v128.const i32x4 0 0 0 0))
      (local.set $partial (i32.add (local.get $partial) (i32.const 16)))
      (local.set $acc (i32.add (local.get $acc) (i32.const 32)))
      (br $body))))

  ;; Column sums of src viewed as [rows, c]: acc[j] (f64, caller-zeroed) += sum_r src[r, j].
  ;; f32 partial sums over blocks of 64 rows, then f64: accurate for millions of rows.
  ;; If $y is not 0, the rows are first masked by y > 0 and written to $out (ReLU gradient and
  ;; its bias gradient in one pass). c multiple of 4; partial: c f32 of scratch, zeroed here.
  (func $column_sums (export "column_sums") (param $src i32) (param $y i32) (param $out i32) (param $rows i32) (param $c i32) (param $partial i32) (param $acc i32)
    (local $r i32) (local $block i32) (local $j i32) (local $v v128) (local $pp i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $c) (i32.const 2)))
    (memory.fill (local.get $partial) (i32.const 0) (local.get $rowBytes))
    (local.set $r (i32.const 0))
    (block $done (loop $rowLoop
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (local.set $pp (local.get $partial))
      (block $cdone (loop $colLoop
        (br_if $cdone (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (local.set $v (v128.load (i32.add (local.get $src) (local.get $j))))
        (if (local.get $y)
          (then
            (local.set $v (v128.and (local.get $v)
              (f32x4.gt (v128.load (i32.add (local.get $y) (local.get $j))) (v128.const f32x4 0 0 0 0))))
            (v128.store (i32.add (local.get $out) (local.get $j)) (local.get $v))))
        (v128.store (local.get $pp) (f32x4.add (v128.load (local.get $pp)) (local.get $v)))
        (local.set $pp (i32.add (local.get $pp) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $colLoop)))
      (local.set $src (i32.add (local.get $src) (local.get $rowBytes)))
      (if (local.get $y)
        (then
          (local.set $y (i32.add (local.get $y) (local.get $rowBytes)))
          (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (local.set $block (i32.add (local.get $block) (i32.const 1)))
      (if (i32.eq (local.get $block) (i32.const 64))
        (then
          (call $flush (local.get $partial) (local.get $acc) (local.get $c))
          (local.set $block (i32.const 0))))
      (br $rowLoop)))
    (call $flush (local.get $partial) (local.get $acc) (local.get $c)))

  ;; dst[k * dstRow + j] = src[j * ps + k] for j < count, k < ci: a strided run of count pixels
  ;; of ci channels, transposed to ci rows (4x4 register transposes; scalar tails).
  ;; ps, dstRow in bytes.
  (func $transpose_block (export "transpose_block") (param $src i32) (param $ps i32) (param $count i32) (param $ci i32) (param $dst i32) (param $dstRow i32)
    (local $c i32) (local $j i32) (local $s i32) (local $d i32) (local $k i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local $count4 i32) (local $ci4 i32)
    (local.set $count4 (i32.and (local.get $count) (i32.const -4)))
    (local.set $ci4 (i32.and (local.get $ci) (i32.const -4)))
    (local.set $c (i32.const 0))
    (block $cdone (loop $cLoop
      (br_if $cdone (i32.ge_u (local.get $c) (local.get $ci4)))
      (local.set $j (i32.const 0))
      (local.set $s (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $c) (local.get $dstRow))))
      (block $jdone (loop $jLoop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $count4)))
        (local.set $r0 (v128.load (local.get $s)))
        (local.set $r1 (v128.load (i32.add (local.get $s) (local.get $ps))))
        (local.set $r2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $ps) (i32.const 1)))))
        (local.set $r3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $ps) (i32.const 3)))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (v128.store (local.get $d)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $d) (local.get $dstRow))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $d) (i32.shl (local.get $dstRow) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store (i32.add (local.get $d) (i32.mul (local.get $dstRow) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $s (i32.add (local.get $s) (i32.shl (local.get $ps) (i32.const 2))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $jLoop)))
      ;; pixels past the last group of 4, these 4 channels
      (block $tdone (loop $tLoop
        (br_if $tdone (i32.ge_u (local.get $j) (local.get $count)))
        (local.set $k (i32.const 0))
        (block $kdone (loop $kLoop
          (br_if $kdone (i32.ge_u (local.get $k) (i32.const 4)))
          (f32.store (i32.add (local.get $d) (i32.mul (local.get $k) (local.get $dstRow)))
            (f32.load (i32.add (local.get $s) (i32.shl (local.get $k) (i32.const 2)))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $kLoop)))
        (local.set $s (i32.add (local.get $s) (local.get $ps)))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $tLoop)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $cLoop)))
    ;; channels past the last group of 4
    (block $rdone (loop $rLoop
      (br_if $rdone (i32.ge_u (local.get $c) (local.get $ci)))
      (local.set $s (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $c) (local.get $dstRow))))
      (local.set $j (i32.const 0))
      (block $jdone2 (loop $jLoop2
        (br_if $jdone2 (i32.ge_u (local.get $j) (local.get $count)))
        (f32.store (local.get $d) (f32.load (local.get $s)))
        (local.set $s (i32.add (local.get $s) (local.get $ps)))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jLoop2)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $rLoop))))

  ;; Patches of one NHWC image for the filter gradient: for each tap (p, q) and channel k, the
  ;; row ((p * kw + q) * ci + k) at dst + row * rowStride holds x[i*sh + p - top, j*sw + q - left, k]
  ;; for the oh x ow output positions (row-major), 0 outside the image. rowStride in bytes.
  (func $im2col (export "im2col") (param $src i32) (param $h i32) (param $w i32) (param $ci i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (param $oh i32) (param $ow i32) (param $dst i32) (param $rowStride i32)
    (local $p i32) (local $q i32) (local $k i32) (local $i i32) (local $j i32) (local $y i32) (local $x i32)
    (local $row i32) (local $d i32) (local $srcRow i32) (local $pixelBytes i32) (local $jLo i32) (local $jHi i32)
    (local.set $pixelBytes (i32.shl (local.get $ci) (i32.const 2)))
    (local.set $p (i32.const 0))
    (block $pdone (loop $pLoop
      (br_if $pdone (i32.ge_u (local.get $p) (local.get $kh)))
      (local.set $q (i32.const 0))
      (block $qdone (loop $qLoop
        (br_if $qdone (i32.ge_u (local.get $q) (local.get $kw)))
        ;; output columns whose input column j*sw + q - left lies in [0, w): [jLo, jHi)
        (local.set $jLo (i32.const 0))
        (block $lodone (loop $loLoop
          (br_if $lodone (i32.ge_s (i32.sub (i32.add (i32.mul (local.get $jLo) (local.get $sw)) (local.get $q)) (local.get $left)) (i32.const 0)))
          (br_if $lodone (i32.ge_u (local.get $jLo) (local.get $ow)))
          (local.set $jLo (i32.add (local.get $jLo) (i32.const 1)))
          (br $loLoop)))
        (local.set $jHi (local.get $ow))
        (block $hidone (loop $hiLoop
          (br_if $hidone (i32.le_u (local.get $jHi) (local.get $jLo)))
          (br_if $hidone (i32.lt_s (i32.sub (i32.add (i32.mul (i32.sub (local.get $jHi) (i32.const 1)) (local.get $sw)) (local.get $q)) (local.get $left)) (local.get $w)))
          (local.set $jHi (i32.sub (local.get $jHi) (i32.const 1)))
          (br $hiLoop)))
        (local.set $k (i32.const 0))
        (block $kdone (loop $kLoop
          (br_if $kdone (i32.ge_u (local.get $k) (local.get $ci)))
          (local.set $row (i32.add (local.get $dst)
            (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $p) (local.get $kw)) (local.get $q)) (local.get $ci)) (local.get $k)) (local.get $rowStride))))
          (local.set $i (i32.const 0))
          (block $idone (loop $iLoop
            (br_if $idone (i32.ge_u (local.get $i) (local.get $oh)))
            (local.set $d (i32.add (local.get $row) (i32.shl (i32.mul (local.get $i) (local.get $ow)) (i32.const 2))))
            (local.set $y (i32.sub (i32.add (i32.mul (local.get $i) (local.get $sh)) (local.get $p)) (local.get $top)))
            (if (i32.or (i32.lt_s (local.get $y) (i32.const 0)) (i32.ge_s (local.get $y) (local.get $h)))
              (then (memory.fill (local.get $d) (i32.const 0) (i32.shl (local.get $ow) (i32.const 2))))
              (else
                (memory.fill (local.get $d) (i32.const 0) (i32.shl (local.get $jLo) (i32.const 2)))
                (memory.fill (i32.add (local.get $d) (i32.shl (local.get $jHi) (i32.const 2))) (i32.const 0)
                  (i32.shl (i32.sub (local.get $ow) (local.get $jHi)) (i32.const 2)))
                ;; src pixel (y, jLo*sw + q - left), channel k
                (local.set $srcRow (i32.add (local.get $src)
                  (i32.add (i32.mul (i32.add (i32.mul (local.get $y) (local.get $w))
                    (i32.sub (i32.add (i32.mul (local.get $jLo) (local.get $sw)) (local.get $q)) (local.get $left))) (local.get $pixelBytes))
                    (i32.shl (local.get $k) (i32.const 2)))))
                (local.set $j (local.get $jLo))
                (local.set $x (i32.mul (local.get $sw) (local.get $pixelBytes)))
                (block $jdone (loop $jLoop
                  (br_if $jdone (i32.ge_u (local.get $j) (local.get $jHi)))
                  (f32.store (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 2))) (f32.load (local.get $srcRow)))
                  (local.set $srcRow (i32.add (local.get $srcRow) (local.get $x)))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br $jLoop)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $iLoop)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $kLoop)))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $qLoop)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pLoop))))

  ;; count pixels of pixelBytes each from src (contiguous) to dst + j * dstStride (bytes).
  ;; Pixels of whole vectors up to 256 bytes are copied with v128 moves (memory.copy is a call).
  (func $scatter_pixels (export "scatter_pixels") (param $src i32) (param $count i32) (param $pixelBytes i32) (param $dst i32) (param $dstStride i32)
    (local $j i32) (local $o i32)
    (if (i32.and (i32.eqz (i32.and (local.get $pixelBytes) (i32.const 15))) (i32.le_u (local.get $pixelBytes) (i32.const 256)))
      (then
        (block $vdone (loop $vbody
          (br_if $vdone (i32.ge_u (local.get $j) (local.get $count)))
          (local.set $o (i32.const 0))
          (block $odone (loop $obody
            (br_if $odone (i32.ge_u (local.get $o) (local.get $pixelBytes)))
            (v128.store (i32.add (local.get $dst) (local.get $o)) (v128.load (i32.add (local.get $src) (local.get $o))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $obody)))
          (local.set $src (i32.add (local.get $src) (local.get $pixelBytes)))
          (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $vbody)))
        (return)))
    (block $done (loop $body
      (br_if $done (i32.ge_u (local.get $j) (local.get $count)))
      (memory.copy (local.get $dst) (local.get $src) (local.get $pixelBytes))
      (local.set $src (i32.add (local.get $src) (local.get $pixelBytes)))
      (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $body))))

  ;; Gradient of a 2x2 stride-2 'valid' max pool (NHWC, c multiple of 4): each output's dy goes
  ;; to the first maximum of its window (NaN never wins), the other three positions get 0.
  ;; Rows/columns past 2*oh, 2*ow are left alone (the caller zeroes them).
  (func $maxpool2_grad (export "maxpool2_grad") (param $x i32) (param $dy i32) (param $out i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (local $b i32) (local $i i32) (local $j i32) (local $k i32) (local $a i32) (local $g i32) (local $cBytes i32) (local $rowBytes i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $best v128)
    (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $gv v128)
    (local.set $cBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $w) (local.get $cBytes)))
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bLoop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $i (i32.const 0))
      (block $idone (loop $iLoop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $oh)))
        (local.set $j (i32.const 0))
        (block $jdone (loop $jLoop
          (br_if $jdone (i32.ge_u (local.get $j) (local.get $ow)))
          ;; byte offset of window (i, j) in image b
          (local.set $a (i32.add
            (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $i) (i32.const 1))) (local.get $rowBytes))
            (i32.mul (i32.shl (local.get $j) (i32.const 1)) (local.get $cBytes))))
          (local.set $k (i32.const 0))
          (block $kdone (loop $kLoop
            (br_if $kdone (i32.ge_u (local.get $k) (local.get $cBytes)))
            (local.set $v0 (v128.load (i32.add (local.get $x) (local.get $a))))
            (local.set $v1 (v128.load (i32.add (i32.add (local.get $x) (local.get $a)) (local.get $cBytes))))
            (local.set $v2 (v128.load (i32.add (i32.add (local.get $x) (local.get $a)) (local.get $rowBytes))))
            (local.set $v3 (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $a)) (local.get $rowBytes)) (local.get $cBytes))))
            (local.set $best (local.get $v0))
            (local.set $c1 (v128.or (f32x4.gt (local.get $v1) (local.get $best)) (f32x4.ne (local.get $best) (local.get $best))))
            (local.set $best (v128.bitselect (local.get $v1) (local.get $best) (local.get $c1)))
            (local.set $c2 (v128.or (f32x4.gt (local.get $v2) (local.get $best)) (f32x4.ne (local.get $best) (local.get $best))))
            (local.set $best (v128.bitselect (local.get $v2) (local.get $best) (local.get $c2)))
            (local.set $c3 (v128.or (f32x4.gt (local.get $v3) (local.get $best)) (f32x4.ne (local.get $best) (local.get $best))))
            (local.set $gv (v128.load (local.get $g)))
            ;; winner: the last candidate whose test passed
            (v128.store (i32.add (i32.add (i32.add (local.get $out) (local.get $a)) (local.get $rowBytes)) (local.get $cBytes))
              (v128.and (local.get $gv) (local.get $c3)))
            (local.set $gv (v128.andnot (local.get $gv) (local.get $c3)))
            (v128.store (i32.add (i32.add (local.get $out) (local.get $a)) (local.get $rowBytes))
              (v128.and (local.get $gv) (local.get $c2)))
            (local.set $gv (v128.andnot (local.get $gv) (local.get $c2)))
            (v128.store (i32.add (i32.add (local.get $out) (local.get $a)) (local.get $cBytes))
              (v128.and (local.get $gv) (local.get $c1)))
            (v128.store (i32.add (local.get $out) (local.get $a)) (v128.andnot (local.get $gv) (local.get $c1)))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $g (i32.add (local.get $g) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $kLoop)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jLoop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop))))

  ;; C[m, n] += A[m, k] . B[k, n] for few rows m (the filter gradient of a first layer: m = kh*kw*ci):
  ;; no packing of B (XNNPACK repacks its B operand on every call, which costs more than the
  ;; product when m is small). A rows are lda bytes apart, B and C rows contiguous; n a multiple
  ;; of 8. Tiles of 4 rows x 8 columns held in registers over the whole k.
  (func $gemm_small_m (export "gemm_small_m") (param $a i32) (param $lda i32) (param $b i32) (param $k i32) (param $n i32) (param $c i32) (param $m i32)
    (local $r0 i32) (local $rows i32) (local $j0 i32) (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32)
    (local $pb i32) (local $ka i32) (local $kEnd i32) (local $ldb i32) (local $pc i32)
    (local $b0 v128) (local $b1 v128) (local $s v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $ldb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $kEnd (i32.shl (local.get $k) (i32.const 2)))
    (block $rdone (loop $rLoop
      (br_if $rdone (i32.ge_u (local.get $r0) (local.get $m)))
      (local.set $rows (i32.sub (local.get $m) (local.get $r0)))
      (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $r0) (local.get $lda))))
      ;; rows past m read row r0 again; their sums are not stored
      (local.set $pa1 (select (i32.add (local.get $pa0) (local.get $lda)) (local.get $pa0) (i32.gt_u (local.get $rows) (i32.const 1))))
      (local.set $pa2 (select (i32.add (local.get $pa1) (local.get $lda)) (local.get $pa0) (i32.gt_u (local.get $rows) (i32.const 2))))
      (local.set $pa3 (select (i32.add (local.get $pa2) (local.get $lda)) (local.get $pa0) (i32.gt_u (local.get $rows) (i32.const 3))))
      (local.set $j0 (i32.const 0))
      (block $jdone (loop $jLoop
        (br_if $jdone (i32.ge_u (local.get $j0) (local.get $n)))
        (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
        (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
        (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
        (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2))))
        (local.set $ka (i32.const 0))
        (block $kdone (loop $kLoop
          (br_if $kdone (i32.ge_u (local.get $ka) (local.get $kEnd)))
          (local.set $b0 (v128.load (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          (local.set $s (v128.load32_splat (i32.add (local.get $pa0) (local.get $ka))))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $s (v128.load32_splat (i32.add (local.get $pa1) (local.get $ka))))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $s (v128.load32_splat (i32.add (local.get $pa2) (local.get $ka))))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $s (v128.load32_splat (i32.add (local.get $pa3) (local.get $ka))))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $pb (i32.add (local.get $pb) (local.get $ldb)))
          (local.set $ka (i32.add (local.get $ka) (i32.const 4)))
          (br $kLoop)))
        (local.set $pc (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $r0) (local.get $n)) (local.get $j0)) (i32.const 2))))
        (v128.store (local.get $pc) (f32x4.add (v128.load (local.get $pc)) (local.get $c00)))
        (v128.store offset=16 (local.get $pc) (f32x4.add (v128.load offset=16 (local.get $pc)) (local.get $c01)))
        (if (i32.gt_u (local.get $rows) (i32.const 1)) (then
          (local.set $pc (i32.add (local.get $pc) (local.get $ldb)))
          (v128.store (local.get $pc) (f32x4.add (v128.load (local.get $pc)) (local.get $c10)))
          (v128.store offset=16 (local.get $pc) (f32x4.add (v128.load offset=16 (local.get $pc)) (local.get $c11)))))
        (if (i32.gt_u (local.get $rows) (i32.const 2)) (then
          (local.set $pc (i32.add (local.get $pc) (local.get $ldb)))
          (v128.store (local.get $pc) (f32x4.add (v128.load (local.get $pc)) (local.get $c20)))
          (v128.store offset=16 (local.get $pc) (f32x4.add (v128.load offset=16 (local.get $pc)) (local.get $c21)))))
        (if (i32.gt_u (local.get $rows) (i32.const 3)) (then
          (local.set $pc (i32.add (local.get $pc) (local.get $ldb)))
          (v128.store (local.get $pc) (f32x4.add (v128.load (local.get $pc)) (local.get $c30)))
          (v128.store offset=16 (local.get $pc) (f32x4.add (v128.load offset=16 (local.get $pc)) (local.get $c31)))))
        (local.set $j0 (i32.add (local.get $j0) (i32.const 8)))
        (br $jLoop)))
      (local.set $r0 (i32.add (local.get $r0) (i32.const 4)))
      (br $rLoop))))

  ;; acc[i] += src[i] for i < n (f32).
  (func $add_into (export "add_into") (param $acc i32) (param $src i32) (param $n i32)
    (local $end i32) (local $end4 i32)
    (local.set $end (i32.add (local.get $acc) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $acc) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $body
      (br_if $done (i32.ge_u (local.get $acc) (local.get $end4)))
      (v128.store (local.get $acc) (f32x4.add (v128.load (local.get $acc)) (v128.load (local.get $src))))
      (local.set $acc (i32.add (local.get $acc) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (br $body)))
    (block $tdone (loop $tail
      (br_if $tdone (i32.ge_u (local.get $acc) (local.get $end)))
      (f32.store (local.get $acc) (f32.add (f32.load (local.get $acc)) (f32.load (local.get $src))))
      (local.set $acc (i32.add (local.get $acc) (i32.const 4)))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (br $tail))))
)
