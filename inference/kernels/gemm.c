/* gemm.c: weight packing and thread split of the GEMM micro-kernels, and
 * the plain reference GEMMs they are tested against. */
#include <string.h>

#include "kernels.h"

static int padded(int n, int nr) { return (n + nr - 1) / nr * nr; }

const mn_f32_gemm *mn_f32_gemm_for(const mn_kernels *kern, int n) {
  const mn_f32_gemm *w = &kern->f32_gemm, *nw = &kern->f32_gemm_narrow, *mid = &kern->f32_gemm_mid;
  /* Measured: the narrow (8-wide) tile only pays when the wide one would be
   * 3/4 padding; the one-vector tile when the wide one would waste a third. */
  if (padded(n, w->nr) >= 4 * padded(n, nw->nr)) return nw;
  if (mid->nr < w->nr && 2 * padded(n, w->nr) >= 3 * padded(n, mid->nr)) return mid;
  return w;
}

const mn_f32_gemm *mn_f32_gemm_for_pointwise(const mn_kernels *kern, int n) {
  const mn_f32_gemm *g = mn_f32_gemm_for(kern, n), *t24 = &kern->f32_gemm_24;
  return t24->ukernel && padded(n, t24->nr) < padded(n, g->nr) ? t24 : g;
}

size_t mn_f32_gemm_packed_size(int n, int k, int nr) {
  size_t panels = (size_t)(n + nr - 1) / (size_t)nr;
  return panels * (size_t)nr * (size_t)(k + 1);
}

void mn_f32_gemm_pack(int n, int k, int nr, const float *w_nk, const float *bias, float *packed) {
  for (int n0 = 0; n0 < n; n0 += nr) {
    float *p = packed + (size_t)(n0 / nr) * (size_t)nr * (size_t)(k + 1);
    for (int j = 0; j < nr; j++) p[j] = (n0 + j < n && bias) ? bias[n0 + j] : 0.0f;
    for (int q = 0; q < k; q++)
      for (int j = 0; j < nr; j++)
        p[(size_t)(q + 1) * nr + j] = n0 + j < n ? w_nk[(size_t)(n0 + j) * k + q] : 0.0f;
  }
}

/* Thread ith's share of the tiles of an m x n GEMM, as tiles [t0, t1) in
 * panel-major order (t = panel * mb + row block, so a thread keeps one
 * weight panel hot while it walks its rows) over row blocks [r0, r1).
 * With enough row blocks each thread takes whole rows, all panels: the
 * layers around a GEMM split the image by rows the same way, so a thread
 * reads the rows it wrote and the activations stay in its own cache (a
 * split by panels moved half of every activation between the cores).
 * Otherwise (the classifier, the last small layers) the tiles are split. */
typedef struct {
  int r0, r1; /* row blocks */
  int t0, t1; /* tiles, panel-major over [r0, r1) */
} tile_share;

static tile_share share_tiles(int mb, int nb, int ith, int nth) {
  tile_share sh;
  if (mb >= 4 * nth) {
    sh.r0 = (int)((long long)mb * ith / nth);
    sh.r1 = (int)((long long)mb * (ith + 1) / nth);
    sh.t0 = 0;
    sh.t1 = (sh.r1 - sh.r0) * nb;
  } else {
    sh.r0 = 0, sh.r1 = mb;
    sh.t0 = (int)((long long)mb * nb * ith / nth);
    sh.t1 = (int)((long long)mb * nb * (ith + 1) / nth);
  }
  return sh;
}

int mn_gemm_rows(int m, int mr, int ith, int nth, int *row0, int *row1) {
  const int mb = (m + mr - 1) / mr;
  if (mb < 4 * nth) return 0;
  const tile_share sh = share_tiles(mb, 1, ith, nth);
  *row0 = sh.r0 * mr;
  *row1 = sh.r1 * mr < m ? sh.r1 * mr : m;
  return 1;
}

/* Tile t of a share: its panel, first row and column, rows and columns. */
typedef struct {
  int panel, row, col, mr, nc;
} tile_pos;

static tile_pos tile_at(const tile_share *sh, int t, int m, int n, int mr, int nr) {
  const int rows = sh->r1 - sh->r0;
  tile_pos p;
  p.panel = t / rows;
  p.row = (sh->r0 + t % rows) * mr;
  p.col = p.panel * nr;
  p.mr = m - p.row < mr ? m - p.row : mr;
  p.nc = n - p.col < nr ? n - p.col : nr;
  return p;
}

void mn_f32_gemm_run(const mn_f32_gemm *g, int m, int n, int k, const float *a, size_t a_stride,
                     const float *packed, float *c, size_t c_stride, float lo, float hi, int ith,
                     int nth) {
  const int mb = (m + g->mr - 1) / g->mr, nb = (n + g->nr - 1) / g->nr;
  const tile_share sh = share_tiles(mb, nb, ith, nth);
  /* tile t's position, stepped without a division per tile (at k = 16 a
   * tile is ~50 ns of work) */
  if (sh.t0 >= sh.t1) return; /* no tiles for this thread (and no rows to divide by) */
  tile_pos p = tile_at(&sh, sh.t0, m, n, g->mr, g->nr);
  for (int t = sh.t0; t < sh.t1; t++) {
    if (t > sh.t0) {
      p.row += g->mr;
      if (p.row >= sh.r1 * g->mr) p.row = sh.r0 * g->mr, p.panel++, p.col += g->nr;
      p.mr = m - p.row < g->mr ? m - p.row : g->mr;
      p.nc = n - p.col < g->nr ? n - p.col : g->nr;
    }
    const float *panel = packed + (size_t)p.panel * g->nr * (size_t)(k + 1);
    if (p.mr * 4 <= g->mr) /* a short tile: one row at a time costs less */
      for (int i = 0; i < p.mr; i++)
        g->ukernel_1row(1, p.nc, k, a + (size_t)(p.row + i) * a_stride, a_stride, panel,
                        c + (size_t)(p.row + i) * c_stride + p.col, c_stride, lo, hi);
    else
      g->ukernel(p.mr, p.nc, k, a + (size_t)p.row * a_stride, a_stride, panel,
                 c + (size_t)p.row * c_stride + p.col, c_stride, lo, hi);
  }
}

void mn_f32_gemm_ref(int m, int n, int k, const float *a, const float *w_nk, const float *bias,
                     float *c, float lo, float hi) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double acc = bias ? bias[j] : 0.0;
      for (int q = 0; q < k; q++) acc += (double)a[(size_t)i * k + q] * w_nk[(size_t)j * k + q];
      float v = (float)acc;
      c[(size_t)i * n + j] = mn_f32_act(v, lo, hi);
    }
}

size_t mn_u8_gemm_packed_size(const mn_u8_gemm *g, int n, int k) {
  size_t panels = (size_t)(n + g->nr - 1) / (size_t)g->nr;
  if (g->format == MN_U8_PACK_S8X4)
    return panels * (size_t)g->nr * (4 + 4 * (size_t)((k + 3) / 4));
  if (g->format == MN_U8_PACK_I16X2)
    return panels * (size_t)g->nr * (4 + 4 * (size_t)((k + 1) / 2));
  return panels * (size_t)g->nr * (size_t)(k + 1) * 4;
}

void mn_u8_gemm_pack(const mn_u8_gemm *g, int n, int k, const uint8_t *w_nk, int32_t w_zp,
                     int32_t in_zp, const int32_t *bias, void *packed) {
  const int nr = g->nr;
  const size_t panel_bytes = mn_u8_gemm_packed_size(g, nr, k);
  for (int n0 = 0; n0 < n; n0 += nr) {
    uint8_t *p = (uint8_t *)packed + (size_t)(n0 / nr) * panel_bytes;
    if (g->format == MN_U8_PACK_S8X4) {
      int32_t *colc = (int32_t *)p;
      int8_t *w = (int8_t *)(colc + nr);
      const int groups = (k + 3) / 4, d = 128 - w_zp;
      for (int j = 0; j < nr; j++) {
        const int col = n0 + j;
        int32_t sum_s = 0;
        for (int q = 0; q < groups * 4; q++) {
          int8_t s = 0;
          if (col < n && q < k) s = (int8_t)((int)w_nk[(size_t)col * k + q] - 128);
          w[(size_t)(q / 4) * nr * 4 + (size_t)j * 4 + q % 4] = s;
          sum_s += s;
        }
        colc[j] = col < n ? (bias ? bias[col] : 0) - in_zp * sum_s - k * in_zp * d : 0;
      }
    } else if (g->format == MN_U8_PACK_I16X2) {
      int32_t *colc = (int32_t *)p;
      int16_t *w = (int16_t *)(colc + nr);
      const int pairs = (k + 1) / 2;
      for (int j = 0; j < nr; j++) {
        const int col = n0 + j;
        int32_t sum = 0;
        for (int q = 0; q < pairs * 2; q++) {
          int16_t v = 0;
          if (col < n && q < k) v = (int16_t)((int)w_nk[(size_t)col * k + q] - w_zp);
          w[(size_t)(q / 2) * nr * 2 + (size_t)j * 2 + q % 2] = v;
          sum += v;
        }
        colc[j] = col < n ? (bias ? bias[col] : 0) - in_zp * sum : 0;
      }
    } else {
      int32_t *q32 = (int32_t *)p;
      for (int j = 0; j < nr; j++) q32[j] = (n0 + j < n && bias) ? bias[n0 + j] : 0;
      for (int q = 0; q < k; q++)
        for (int j = 0; j < nr; j++)
          q32[(size_t)(q + 1) * nr + j] =
              n0 + j < n ? (int32_t)w_nk[(size_t)(n0 + j) * k + q] - w_zp : 0;
    }
  }
}

void mn_u8_gemm_run(const mn_u8_gemm *g, int m, int n, int k, const uint8_t *a, size_t a_stride,
                    const void *packed, uint8_t *c, size_t c_stride, const mn_requant *rq,
                    int ith, int nth) {
  const int mb = (m + g->mr - 1) / g->mr, nb = (n + g->nr - 1) / g->nr;
  const size_t panel_bytes = mn_u8_gemm_packed_size(g, g->nr, k);
  const tile_share sh = share_tiles(mb, nb, ith, nth);
  mn_requant panel_rq = *rq; /* per-channel scales start at the panel's first column */
  for (int t = sh.t0; t < sh.t1; t++) {
    const tile_pos p = tile_at(&sh, t, m, n, g->mr, g->nr);
    if (rq->scales) panel_rq.scales = rq->scales + p.col;
    g->ukernel(p.mr, p.nc, k, a + (size_t)p.row * a_stride, a_stride,
               (const uint8_t *)packed + (size_t)p.panel * panel_bytes,
               c + (size_t)p.row * c_stride + p.col, c_stride, &panel_rq);
  }
}

void mn_u8_gemm_ref(int m, int n, int k, const uint8_t *a, const uint8_t *w_nk, int32_t w_zp,
                    const int32_t *bias, uint8_t *c, const mn_requant *rq) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      int32_t acc = bias ? bias[j] : 0;
      for (int q = 0; q < k; q++)
        acc += ((int32_t)a[(size_t)i * k + q] - rq->in_zp) *
               ((int32_t)w_nk[(size_t)j * k + q] - w_zp);
      c[(size_t)i * n + j] = mn_requantize_at(acc, rq, j);
    }
}
