/* viewer_panel.c: drawing of mobilenet-viewer's window (layout, side panel,
 * key help, messages) with SDL2 and SDL2_ttf.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "viewer_panel.h"
#include "viewer_keys.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <SDL_ttf.h>
#include <fontconfig/fontconfig.h>

enum { ROLE_BODY, ROLE_SMALL, ROLE_BOLD, ROLE_BIG, N_ROLES };

#define CACHE_SIZE 160
/* Cached lines not drawn for this many frames are dropped. */
#define CACHE_KEEP_FRAMES 90

typedef struct {
  bool used;
  int role, size, max_w;
  SDL_Color color;
  char text[VIEWER_TEXT_MAX];
  SDL_Texture *tex;
  int w, h;
  unsigned last;
} text_entry;

struct viewer_ui {
  SDL_Renderer *r;
  char *font_path, *bold_path;
  TTF_Font *font[N_ROLES];
  int size[N_ROLES];
  text_entry cache[CACHE_SIZE];
  unsigned frame;
};

static const SDL_Color C_TEXT = { 232, 234, 237, 255 };
static const SDL_Color C_DIM = { 154, 160, 166, 255 };
static const SDL_Color C_ACCENT = { 138, 180, 248, 255 };
static const SDL_Color C_PENDING = { 251, 188, 4, 255 };
static const SDL_Color C_RED = { 242, 95, 80, 255 };
static const SDL_Color C_PANEL = { 24, 27, 32, 255 };
static const SDL_Color C_BAR_BG = { 52, 57, 65, 255 };
static const SDL_Color C_BAR_TOP = { 52, 168, 83, 255 };
static const SDL_Color C_BAR = { 95, 156, 240, 255 };

/* ---- fonts ------------------------------------------------------------------ */

char *
viewer_find_font(const char *family)
{
  FcPattern *pat, *match;
  FcResult res;
  FcChar8 *file = NULL;
  char *out = NULL;

  if (!FcInit())
    return NULL;
  pat = FcNameParse((const FcChar8 *) family);
  if (!pat)
    return NULL;
  FcPatternAddBool(pat, FC_SCALABLE, FcTrue);
  FcConfigSubstitute(NULL, pat, FcMatchPattern);
  FcDefaultSubstitute(pat);
  match = FcFontMatch(NULL, pat, &res);
  if (match && FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch && file)
    out = strdup((const char *) file);
  if (match)
    FcPatternDestroy(match);
  FcPatternDestroy(pat);
  return out;
}

viewer_ui *
viewer_ui_new(SDL_Renderer *renderer, const char *font_file, char *err, size_t errlen)
{
  viewer_ui *ui = calloc(1, sizeof *ui);
  static const char *const families[] = { "DejaVu Sans", "sans-serif" };

  if (!ui) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  ui->r = renderer;
  if (font_file) {
    ui->font_path = strdup(font_file);
  } else {
    for (size_t i = 0; i < sizeof families / sizeof families[0] && !ui->font_path; i++) {
      char *p = viewer_find_font(families[i]);
      TTF_Font *f = p ? TTF_OpenFont(p, 16) : NULL;
      if (f) {
        TTF_CloseFont(f);
        ui->font_path = p;
      } else {
        free(p);
      }
    }
    ui->bold_path = viewer_find_font("DejaVu Sans:bold");
  }
  if (!ui->font_path) {
    snprintf(err, errlen, "no usable font: fontconfig found neither \"DejaVu Sans\" nor a "
             "sans-serif TrueType font (install fonts-dejavu-core, or pass --font FILE)");
    viewer_ui_free(ui);
    return NULL;
  }
  for (int i = 0; i < N_ROLES; i++) {
    const char *path = (i == ROLE_BOLD || i == ROLE_BIG) && ui->bold_path ? ui->bold_path
                                                                           : ui->font_path;
    ui->size[i] = 16;
    ui->font[i] = TTF_OpenFont(path, ui->size[i]);
    if (!ui->font[i] && path != ui->font_path)
      ui->font[i] = TTF_OpenFont(ui->font_path, ui->size[i]);
    if (!ui->font[i]) {
      snprintf(err, errlen, "cannot open font %s: %s", path, TTF_GetError());
      viewer_ui_free(ui);
      return NULL;
    }
    if ((i == ROLE_BOLD || i == ROLE_BIG) && !ui->bold_path)
      TTF_SetFontStyle(ui->font[i], TTF_STYLE_BOLD);
    TTF_SetFontHinting(ui->font[i], TTF_HINTING_LIGHT);
  }
  return ui;
}

void
viewer_ui_free(viewer_ui *ui)
{
  if (!ui)
    return;
  for (int i = 0; i < CACHE_SIZE; i++)
    if (ui->cache[i].tex)
      SDL_DestroyTexture(ui->cache[i].tex);
  for (int i = 0; i < N_ROLES; i++)
    if (ui->font[i])
      TTF_CloseFont(ui->font[i]);
  free(ui->font_path);
  free(ui->bold_path);
  free(ui);
}

const char *
viewer_ui_font_path(const viewer_ui *ui)
{
  return ui->font_path;
}

static TTF_Font *
font_at(viewer_ui *ui, int role, int px)
{
  if (px < 6)
    px = 6;
  if (ui->size[role] != px && TTF_SetFontSize(ui->font[role], px) == 0)
    ui->size[role] = px;
  return ui->font[role];
}

/* ---- text ------------------------------------------------------------------ */

/* Shortens text (UTF-8) with an ellipsis until it is at most max_w wide. */
static void
ellipsize(TTF_Font *f, const char *text, int max_w, char *out, size_t outlen)
{
  int w = 0;
  size_t n;

  snprintf(out, outlen, "%s", text);
  if (max_w <= 0 || TTF_SizeUTF8(f, out, &w, NULL) != 0 || w <= max_w)
    return;
  n = strlen(out);
  while (n > 0) {
    do
      n--;
    while (n > 0 && ((unsigned char) out[n] & 0xC0) == 0x80);
    while (n > 0 && out[n - 1] == ' ')
      n--;
    if (n + 4 > outlen)
      continue;
    memcpy(out + n, "\xe2\x80\xa6", 4);
    if (TTF_SizeUTF8(f, out, &w, NULL) == 0 && w <= max_w)
      return;
  }
  snprintf(out, outlen, "\xe2\x80\xa6");
}

static text_entry *
text_get(viewer_ui *ui, int role, int px, SDL_Color c, const char *text, int max_w)
{
  text_entry *slot = NULL, *oldest = NULL;
  char shown[VIEWER_TEXT_MAX];
  TTF_Font *f;
  SDL_Surface *s;

  if (!text || !*text)
    return NULL;
  for (int i = 0; i < CACHE_SIZE; i++) {
    text_entry *e = &ui->cache[i];
    if (!e->used) {
      if (!slot)
        slot = e;
      continue;
    }
    if (e->role == role && e->size == px && e->max_w == max_w && e->color.r == c.r
        && e->color.g == c.g && e->color.b == c.b && e->color.a == c.a
        && strcmp(e->text, text) == 0) {
      e->last = ui->frame;
      return e;
    }
    if (!oldest || e->last < oldest->last)
      oldest = e;
  }
  if (!slot) {
    slot = oldest;
    SDL_DestroyTexture(slot->tex);
    memset(slot, 0, sizeof *slot);
  }
  f = font_at(ui, role, px);
  ellipsize(f, text, max_w, shown, sizeof shown);
  s = TTF_RenderUTF8_Blended(f, shown, c);
  if (!s)
    return NULL;
  slot->tex = SDL_CreateTextureFromSurface(ui->r, s);
  slot->w = s->w;
  slot->h = s->h;
  SDL_FreeSurface(s);
  if (!slot->tex)
    return NULL;
  slot->used = true;
  slot->role = role;
  slot->size = px;
  slot->max_w = max_w;
  slot->color = c;
  snprintf(slot->text, sizeof slot->text, "%s", text);
  slot->last = ui->frame;
  return slot;
}

enum { ALIGN_LEFT, ALIGN_RIGHT, ALIGN_CENTER };

/* Draws text with its top at y; x is the left edge, right edge or centre
 * by align. Returns the width drawn. */
static int
draw_text(viewer_ui *ui, int role, int px, SDL_Color c, const char *text, int x, int y,
          int max_w, int align)
{
  text_entry *e = text_get(ui, role, px, c, text, max_w);
  SDL_Rect dst;

  if (!e)
    return 0;
  dst.w = e->w;
  dst.h = e->h;
  dst.x = align == ALIGN_RIGHT ? x - e->w : align == ALIGN_CENTER ? x - e->w / 2 : x;
  dst.y = y;
  SDL_RenderCopy(ui->r, e->tex, NULL, &dst);
  return e->w;
}

static int
text_width(viewer_ui *ui, int role, int px, const char *text)
{
  int w = 0;
  TTF_SizeUTF8(font_at(ui, role, px), text, &w, NULL);
  return w;
}

static int
line_skip(viewer_ui *ui, int role, int px)
{
  return TTF_FontLineSkip(font_at(ui, role, px));
}

void
viewer_ui_end_frame(viewer_ui *ui)
{
  ui->frame++;
  if (ui->frame % 30)
    return;
  for (int i = 0; i < CACHE_SIZE; i++) {
    text_entry *e = &ui->cache[i];
    if (e->used && ui->frame - e->last > CACHE_KEEP_FRAMES) {
      SDL_DestroyTexture(e->tex);
      memset(e, 0, sizeof *e);
    }
  }
}

/* ---- shapes ------------------------------------------------------------------ */

static void
fill(SDL_Renderer *r, SDL_Color c, int x, int y, int w, int h)
{
  SDL_Rect rc = { x, y, w, h };
  SDL_SetRenderDrawColor(r, c.r, c.g, c.b, c.a);
  SDL_RenderFillRect(r, &rc);
}

/* ---- layout ------------------------------------------------------------------ */

static int
font_for(int out_w, int out_h)
{
  double f = fmin(out_h / 30.0, out_w / 48.0);
  if (f < 10)
    f = 10;
  if (f > 200)
    f = 200;
  return (int) lround(f);
}

void
viewer_layout_compute(int out_w, int out_h, int video_w, int video_h, viewer_layout *l)
{
  int pw, aw;

  l->font_px = font_for(out_w, out_h);
  pw = l->font_px * 17;
  if (pw > out_w / 2)
    pw = out_w / 2;
  aw = out_w - pw;
  l->panel = (SDL_Rect) { aw, 0, pw, out_h };
  if (video_w > 0 && video_h > 0 && aw > 0 && out_h > 0) {
    double s = fmin((double) aw / video_w, (double) out_h / video_h);
    int w = (int) lround(video_w * s), h = (int) lround(video_h * s);
    l->video = (SDL_Rect) { (aw - w) / 2, (out_h - h) / 2, w, h };
  } else {
    l->video = (SDL_Rect) { 0, 0, aw, out_h };
  }
}

void
viewer_window_size_for(int video_w, int video_h, int max_w, int max_h, int *w, int *h)
{
  double H, W;

  if (video_w <= 0 || video_h <= 0) {
    video_w = 640;
    video_h = 480;
  }
  H = video_h < 540 ? 540 : video_h;
  if (max_h > 0 && H > max_h)
    H = max_h;
  for (int i = 0; i < 8; i++) {
    W = video_w * H / video_h + font_for(100000, (int) H) * 17;
    if (max_w <= 0 || W <= max_w)
      break;
    H *= max_w / W;
  }
  *w = (int) lround(W);
  *h = (int) lround(H);
}

/* ---- panel ------------------------------------------------------------------ */

/* A "name ... value" row; value in colour vc. Returns the row height. */
static int
row(viewer_ui *ui, int f, int x0, int x1, int y, const char *name, const char *value,
    SDL_Color vc)
{
  int nw = draw_text(ui, ROLE_BODY, f, C_DIM, name, x0, y, 0, ALIGN_LEFT);
  draw_text(ui, ROLE_BODY, f, vc, value, x1, y, x1 - x0 - nw - f / 2, ALIGN_RIGHT);
  return line_skip(ui, ROLE_BODY, f);
}

static void
separator(SDL_Renderer *r, int x0, int x1, int *y, int f)
{
  *y += f / 2;
  fill(r, (SDL_Color) { 60, 65, 74, 255 }, x0, *y, x1 - x0, f / 14 > 1 ? f / 14 : 1);
  *y += f / 2;
}

static bool
same_alpha(double a, double b)
{
  return fabs(a - b) < 1e-3;
}

void
viewer_ui_draw_panel(viewer_ui *ui, const viewer_layout *l, const viewer_panel_info *in)
{
  SDL_Renderer *r = ui->r;
  const SDL_Rect *p = &l->panel;
  const int f = l->font_px, fs = (int) lround(f * 0.8);
  const int pad = (int) lround(f * 0.9);
  const int x0 = p->x + pad, x1 = p->x + p->w - pad;
  const int lh = line_skip(ui, ROLE_BODY, f);
  char buf[VIEWER_TEXT_MAX], buf2[VIEWER_TEXT_MAX];
  int y = p->y + pad;

  if (p->w <= 2 * pad)
    return;
  SDL_RenderSetClipRect(r, p);
  fill(r, C_PANEL, p->x, p->y, p->w, p->h);
  fill(r, (SDL_Color) { 60, 65, 74, 255 }, p->x, p->y, f / 10 > 1 ? f / 10 : 1, p->h);

  {
    const char *arch = in->have_result && in->arch ? in->arch : in->want_arch;
    const int tpx = (int) lround(f * 1.15);
    snprintf(buf, sizeof buf, "MobileNet %s \xc2\xb7 top 5", arch ? arch : "v1");
    if (text_width(ui, ROLE_BOLD, tpx, buf) > x1 - x0) /* narrow panels: the name first */
      snprintf(buf, sizeof buf, "MobileNet %s", arch ? arch : "v1");
    draw_text(ui, ROLE_BOLD, tpx, C_ACCENT, buf, x0, y, x1 - x0, ALIGN_LEFT);
  }
  y += line_skip(ui, ROLE_BOLD, (int) lround(f * 1.15)) + f / 3;

  /* top-5: label and score, then a bar */
  for (int i = 0; i < VIEWER_TOP_MAX; i++) {
    int bh = (int) lround(f * 0.42), pw;
    if (bh < 3)
      bh = 3;
    if (in->have_result && i < in->n_top) {
      double sc = in->top[i].score;
      snprintf(buf, sizeof buf, "%.1f%%", 100.0 * sc);
      pw = draw_text(ui, ROLE_BODY, f, C_TEXT, buf, x1, y, 0, ALIGN_RIGHT);
      draw_text(ui, i == 0 ? ROLE_BOLD : ROLE_BODY, f, C_TEXT, in->top[i].label, x0, y,
                x1 - x0 - pw - f / 2, ALIGN_LEFT);
      y += lh;
      fill(r, C_BAR_BG, x0, y, x1 - x0, bh);
      if (sc < 0)
        sc = 0;
      if (sc > 1)
        sc = 1;
      fill(r, i == 0 ? C_BAR_TOP : C_BAR, x0, y, (int) lround((x1 - x0) * sc), bh);
    } else {
      if (i == 0)
        draw_text(ui, ROLE_BODY, f, C_DIM, "waiting for the first result\xe2\x80\xa6", x0, y,
                  x1 - x0, ALIGN_LEFT);
      y += lh;
      fill(r, C_BAR_BG, x0, y, x1 - x0, bh);
    }
    y += bh + f / 2;
  }

  separator(r, x0, x1, &y, f);
  snprintf(buf, sizeof buf, "%.1f fps", in->display_fps);
  y += row(ui, f, x0, x1, y, "Display", buf, C_TEXT);
  snprintf(buf, sizeof buf, "%.1f fps", in->inference_fps);
  y += row(ui, f, x0, x1, y, "Inference", buf, C_TEXT);
  if (in->inference_ms > 0)
    snprintf(buf, sizeof buf, "%.1f ms", in->inference_ms);
  else
    snprintf(buf, sizeof buf, "\xe2\x80\x93");
  y += row(ui, f, x0, x1, y, "Inference time", buf, C_TEXT);

  separator(r, x0, x1, &y, f);
  /* model settings: live value, "→ wanted" while a switch is loading */
  {
    const char *d = in->arch ? in->arch : "", *wd = in->want_arch ? in->want_arch : "";
    bool pend = in->have_result && strcmp(d, wd) != 0 &&
                !(strcmp(wd, "v3-large") == 0 && strcmp(d, "v3-large-minimalistic") == 0);
    if (pend)
      snprintf(buf, sizeof buf, "%s \xe2\x86\x92 %s", d, wd);
    else
      snprintf(buf, sizeof buf, "%s", in->have_result ? d : wd);
    y += row(ui, f, x0, x1, y, "arch", buf, pend ? C_PENDING : C_TEXT);
  }
  if (in->have_result && !same_alpha(in->alpha, in->want_alpha))
    snprintf(buf, sizeof buf, "%.2f \xe2\x86\x92 %.2f", in->alpha, in->want_alpha);
  else
    snprintf(buf, sizeof buf, "%.2f", in->have_result ? in->alpha : in->want_alpha);
  y += row(ui, f, x0, x1, y, "\xce\xb1  width", buf,
           in->have_result && !same_alpha(in->alpha, in->want_alpha) ? C_PENDING : C_TEXT);
  if (in->have_result && in->rho != in->want_rho)
    snprintf(buf, sizeof buf, "%d \xe2\x86\x92 %d px", in->rho, in->want_rho);
  else
    snprintf(buf, sizeof buf, "%d px", in->have_result ? in->rho : in->want_rho);
  y += row(ui, f, x0, x1, y, "\xcf\x81  input", buf,
           in->have_result && in->rho != in->want_rho ? C_PENDING : C_TEXT);
  {
    const char *d = in->dtype ? in->dtype : "", *wd = in->want_dtype ? in->want_dtype : "";
    bool pend = in->have_result && strcmp(d, wd) != 0;
    if (pend)
      snprintf(buf, sizeof buf, "%s \xe2\x86\x92 %s", d, wd);
    else
      snprintf(buf, sizeof buf, "%s", in->have_result ? d : wd);
    y += row(ui, f, x0, x1, y, "dtype", buf, pend ? C_PENDING : C_TEXT);
  }
  {
    bool pend = in->threads > 0 && in->threads != in->want_threads;
    if (pend)
      snprintf(buf, sizeof buf, "%d \xe2\x86\x92 %d", in->threads, in->want_threads);
    else
      snprintf(buf, sizeof buf, "%d", in->want_threads);
    y += row(ui, f, x0, x1, y, "threads", buf, pend ? C_PENDING : C_TEXT);
  }
  if (in->model && *in->model) {
    draw_text(ui, ROLE_SMALL, fs, C_DIM, in->model, x0, y, x1 - x0, ALIGN_LEFT);
    y += line_skip(ui, ROLE_SMALL, fs);
  }

  separator(r, x0, x1, &y, f);
  if (in->recording) {
    int s = (int) in->record_seconds;
    snprintf(buf, sizeof buf, "\xe2\x97\x8f REC %d:%02d", s / 60, s % 60);
    draw_text(ui, ROLE_BOLD, f, C_RED, buf, x0, y, x1 - x0, ALIGN_LEFT);
    y += lh;
    if (in->record_file) {
      draw_text(ui, ROLE_SMALL, fs, C_DIM, in->record_file, x0, y, x1 - x0, ALIGN_LEFT);
      y += line_skip(ui, ROLE_SMALL, fs);
    }
  }
  if (in->paused) {
    draw_text(ui, ROLE_BOLD, f, C_PENDING, "\xe2\x9d\x9a\xe2\x9d\x9a PAUSED", x0, y, x1 - x0,
              ALIGN_LEFT);
    y += lh;
  }
  if (in->source && *in->source) {
    snprintf(buf2, sizeof buf2, "source: %s", in->source);
    draw_text(ui, ROLE_SMALL, fs, C_DIM, buf2, x0, y, x1 - x0, ALIGN_LEFT);
  }

  /* key hint at the bottom */
  {
    int sy = p->y + p->h - pad - line_skip(ui, ROLE_SMALL, fs);
    if (sy > y + line_skip(ui, ROLE_SMALL, fs))
      draw_text(ui, ROLE_SMALL, fs, C_DIM, "H keys \xc2\xb7 R record \xc2\xb7 S screenshot", x0,
                sy, x1 - x0, ALIGN_LEFT);
  }
  SDL_RenderSetClipRect(r, NULL);
}

/* ---- overlays on the video area ---------------------------------------------- */

static void
shade(SDL_Renderer *r, int x, int y, int w, int h, Uint8 a)
{
  SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_BLEND);
  fill(r, (SDL_Color) { 10, 12, 15, a }, x, y, w, h);
  SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
}

void
viewer_ui_draw_help(viewer_ui *ui, const viewer_layout *l)
{
  const int f = l->font_px, pad = f;
  const SDL_Rect *v = &l->video;
  int n = 0, kw = 0, dw = 0, lh = line_skip(ui, ROLE_BODY, f), w, h, x, y;

  for (n = 0; viewer_help[n][0]; n++) {
    int a = text_width(ui, ROLE_BOLD, f, viewer_help[n][0]);
    int b = text_width(ui, ROLE_BODY, f, viewer_help[n][1]);
    kw = a > kw ? a : kw;
    dw = b > dw ? b : dw;
  }
  w = kw + f * 2 + dw + 2 * pad;
  h = (n + 1) * lh + 2 * pad + f / 2;
  /* the video area, or the whole window when that is too small */
  {
    SDL_Rect area = *v;
    if (area.w < w || area.h < h)
      area = (SDL_Rect) { 0, 0, l->panel.x + l->panel.w, l->panel.h };
    if (w > area.w)
      w = area.w;
    x = area.x + (area.w - w) / 2;
    y = area.y + (area.h - h) / 2;
    if (y < 0)
      y = 0;
  }
  shade(ui->r, x, y, w, h, 215);
  draw_text(ui, ROLE_BOLD, (int) lround(f * 1.1), C_ACCENT, "Keys", x + pad, y + pad, w - 2 * pad,
            ALIGN_LEFT);
  y += pad + lh + f / 2;
  for (int i = 0; i < n; i++, y += lh) {
    draw_text(ui, ROLE_BOLD, f, C_TEXT, viewer_help[i][0], x + pad, y, kw + f, ALIGN_LEFT);
    draw_text(ui, ROLE_BODY, f, C_TEXT, viewer_help[i][1], x + pad + kw + f * 2, y,
              w - 2 * pad - kw - f * 2, ALIGN_LEFT);
  }
}

void
viewer_ui_draw_message(viewer_ui *ui, const viewer_layout *l, const char *msg, bool error)
{
  const int f = l->font_px, pad = f / 2 + 2;
  SDL_Rect area = { 0, 0, l->panel.x, l->panel.h };
  text_entry *e;
  int w, h, x, y;

  if (!msg || !*msg)
    return;
  e = text_get(ui, ROLE_BODY, f, error ? C_RED : C_TEXT, msg, area.w - 4 * pad);
  if (!e)
    return;
  w = e->w + 2 * pad;
  h = e->h + 2 * pad;
  x = area.x + (area.w - w) / 2;
  y = area.y + area.h - h - f;
  shade(ui->r, x, y, w, h, 200);
  if (error)
    fill(ui->r, C_RED, x, y, f / 6 > 2 ? f / 6 : 2, h);
  SDL_RenderCopy(ui->r, e->tex, NULL, &(SDL_Rect) { x + pad, y + pad, e->w, e->h });
}

void
viewer_ui_draw_banner(viewer_ui *ui, const viewer_layout *l, const char *line1, const char *line2)
{
  const int f = l->font_px, big = (int) lround(f * 1.6);
  SDL_Rect area = { 0, 0, l->panel.x, l->panel.h };
  int cx = area.x + area.w / 2, cy = area.y + area.h / 2;
  int h1 = line_skip(ui, ROLE_BIG, big), h2 = line2 ? line_skip(ui, ROLE_BODY, f) : 0;
  int w = 0, y = cy - (h1 + h2) / 2;

  if (line1)
    w = text_width(ui, ROLE_BIG, big, line1);
  if (line2) {
    int w2 = text_width(ui, ROLE_BODY, f, line2);
    w = w2 > w ? w2 : w;
  }
  if (w > area.w - 2 * f)
    w = area.w - 2 * f;
  shade(ui->r, cx - w / 2 - f, y - f / 2, w + 2 * f, h1 + h2 + f, 170);
  if (line1)
    draw_text(ui, ROLE_BIG, big, C_TEXT, line1, cx, y, area.w - 2 * f, ALIGN_CENTER);
  if (line2)
    draw_text(ui, ROLE_BODY, f, C_DIM, line2, cx, y + h1, area.w - 2 * f, ALIGN_CENTER);
}
