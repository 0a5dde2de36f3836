/* viewer_panel.h: drawing of mobilenet-viewer's window: the layout (video
 * fitted with its aspect kept beside a side panel), the panel with the
 * top-5, rates and model settings, the key help and short messages.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * All text goes through SDL2_ttf with a system font that fontconfig finds
 * (DejaVu Sans, as `fc-match "DejaVu Sans"` gives, else the default sans
 * font). Sizes follow the window's size in pixels, so the panel reads the
 * same on a small window and on a 4K screen. Rendered lines are cached as
 * textures and only re-rendered when their text or size changes.
 */
#ifndef MN_VIEWER_PANEL_H
#define MN_VIEWER_PANEL_H

#include <stdbool.h>
#include <stddef.h>
#include <SDL.h>

#define VIEWER_TOP_MAX 5
#define VIEWER_TEXT_MAX 256

/* Where things go in a window of out_w x out_h pixels. */
typedef struct {
  SDL_Rect video;   /* the picture, aspect kept, centred in the area left of the panel */
  SDL_Rect panel;   /* the side panel, full height on the right */
  int font_px;      /* body text size */
} viewer_layout;

/* video_w/h: the picture's display size (pixel aspect applied); 0 if not known. */
void viewer_layout_compute(int out_w, int out_h, int video_w, int video_h, viewer_layout *l);

/* A window size that shows a video_w x video_h picture at about its own
 * size beside the panel, fitting in max_w x max_h. */
void viewer_window_size_for(int video_w, int video_h, int max_w, int max_h, int *w, int *h);

/* What the panel shows. Strings are copied when drawn; NULL/empty hides. */
typedef struct {
  int n_top;
  struct {
    char label[VIEWER_TEXT_MAX];
    float score;
  } top[VIEWER_TOP_MAX];
  bool have_result;

  double display_fps, inference_fps, inference_ms;

  /* live: what the classification on screen was made with */
  const char *arch;   /* "v1", "v2", ... */
  double alpha;
  int rho;
  const char *dtype;
  int threads;
  const char *model;
  /* asked for (differs from live while a new model loads) */
  const char *want_arch;
  double want_alpha;
  int want_rho;
  const char *want_dtype;
  int want_threads;

  const char *source;
  bool paused;
  bool recording;
  double record_seconds;
  const char *record_file;  /* base name */
} viewer_panel_info;

typedef struct viewer_ui viewer_ui;

/* Finds the font (font_file if not NULL, else fontconfig's match for
 * "DejaVu Sans", else for "sans-serif") and opens it. NULL and a message
 * in err on failure. TTF_Init must have been called. */
viewer_ui *viewer_ui_new(SDL_Renderer *renderer, const char *font_file, char *err, size_t errlen);
void viewer_ui_free(viewer_ui *ui);
const char *viewer_ui_font_path(const viewer_ui *ui);

/* Looks a font family up with fontconfig; returns a newly allocated file path or NULL. */
char *viewer_find_font(const char *family);

void viewer_ui_draw_panel(viewer_ui *ui, const viewer_layout *l, const viewer_panel_info *info);
void viewer_ui_draw_help(viewer_ui *ui, const viewer_layout *l);
/* A message in a box at the bottom of the video area; error: red. */
void viewer_ui_draw_message(viewer_ui *ui, const viewer_layout *l, const char *msg, bool error);
/* A large line (and an optional smaller one) centred on the video area. */
void viewer_ui_draw_banner(viewer_ui *ui, const viewer_layout *l, const char *line1, const char *line2);

/* Drops cached text not drawn for a while; call once per drawn frame. */
void viewer_ui_end_frame(viewer_ui *ui);

#endif
