/* viewer_shot.c: screenshots of mobilenet-viewer's window and file names.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "viewer_shot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Debian's libstb holds the implementation; the header gives the API. */
#include <stb_image_write.h>

bool
viewer_shot_capture(SDL_Renderer *r, viewer_image *img, char *err, size_t errlen)
{
  int w = 0, h = 0;

  memset(img, 0, sizeof *img);
  if (SDL_GetRendererOutputSize(r, &w, &h) != 0 || w <= 0 || h <= 0) {
    snprintf(err, errlen, "cannot read the window size: %s", SDL_GetError());
    return false;
  }
  img->rgb = malloc((size_t) w * h * 3);
  if (!img->rgb) {
    snprintf(err, errlen, "out of memory for a %dx%d screenshot", w, h);
    return false;
  }
  if (SDL_RenderReadPixels(r, NULL, SDL_PIXELFORMAT_RGB24, img->rgb, w * 3) != 0) {
    snprintf(err, errlen, "cannot read the window's pixels: %s", SDL_GetError());
    viewer_image_clear(img);
    return false;
  }
  img->w = w;
  img->h = h;
  return true;
}

void
viewer_image_clear(viewer_image *img)
{
  free(img->rgb);
  memset(img, 0, sizeof *img);
}

bool
viewer_png_write(const char *path, const viewer_image *img, char *err, size_t errlen)
{
  FILE *f;

  /* stb reports no cause: try the file first for a useful message. */
  f = fopen(path, "wb");
  if (!f) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return false;
  }
  fclose(f);
  if (!stbi_write_png(path, img->w, img->h, 3, img->rgb, img->w * 3)) {
    snprintf(err, errlen, "cannot write %s (disk full?)", path);
    unlink(path);
    return false;
  }
  return true;
}

char *
viewer_timestamped_path(const char *dir, const char *prefix, const char *ext, char *err,
                        size_t errlen)
{
  struct stat st;
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  size_t len;
  char *path;

  if (!dir || !*dir)
    dir = ".";
  if (stat(dir, &st) != 0) {
    snprintf(err, errlen, "folder %s: %s", dir, strerror(errno));
    return NULL;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s is not a folder", dir);
    return NULL;
  }
  if (access(dir, W_OK | X_OK) != 0) {
    snprintf(err, errlen, "folder %s is not writable: %s", dir, strerror(errno));
    return NULL;
  }
  localtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  len = strlen(dir) + strlen(prefix) + strlen(stamp) + strlen(ext) + 16;
  path = malloc(len);
  if (!path) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  for (int i = 1; i < 1000; i++) {
    if (i == 1)
      snprintf(path, len, "%s/%s-%s%s", dir, prefix, stamp, ext);
    else
      snprintf(path, len, "%s/%s-%s-%d%s", dir, prefix, stamp, i, ext);
    if (access(path, F_OK) != 0)
      return path;
  }
  snprintf(err, errlen, "too many files named %s/%s-%s*%s", dir, prefix, stamp, ext);
  free(path);
  return NULL;
}
