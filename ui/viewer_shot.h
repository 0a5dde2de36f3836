/* viewer_shot.h: screenshots of mobilenet-viewer's window (PNG) and the
 * time-stamped names of screenshots and recordings.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MN_VIEWER_SHOT_H
#define MN_VIEWER_SHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <SDL.h>

typedef struct {
  int w, h;
  unsigned char *rgb;  /* w * h * 3 bytes, rows top to bottom */
} viewer_image;

/* Reads what the renderer has drawn so far (call before SDL_RenderPresent). */
bool viewer_shot_capture(SDL_Renderer *r, viewer_image *img, char *err, size_t errlen);
void viewer_image_clear(viewer_image *img);

/* Writes img as an 8-bit RGB PNG (stb_image_write). */
bool viewer_png_write(const char *path, const viewer_image *img, char *err, size_t errlen);

/* dir/prefix-YYYYmmdd-HHMMSS.ext (with -2, -3, ... if taken), after checking
 * that dir is an existing folder. Newly allocated; NULL and a message in err
 * if dir is not usable. */
char *viewer_timestamped_path(const char *dir, const char *prefix, const char *ext, char *err,
                              size_t errlen);

#endif
