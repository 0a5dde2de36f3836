/* viewer_keys.c: the keys of mobilenet-viewer and the value steps they make.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "viewer_keys.h"

const int viewer_rhos[] = { 128, 160, 192, 224 };
const int viewer_n_rhos = (int) (sizeof viewer_rhos / sizeof viewer_rhos[0]);

const char *const viewer_help[][2] = {
  { "1 2 3 4", "\xce\xb1 = 0.25 / 0.5 / 0.75 / 1.0" },
  { "\xe2\x86\x90 \xe2\x86\x92", "\xcf\x81 down / up: 128 160 192 224" },
  { "V", "next architecture: v1, v2, v3-small, v3-large" },
  { "D", "next dtype: float32, uint8, int8" },
  { "T", "inference threads 1 \xe2\x80\xa6 cores" },
  { "Space", "pause / play" },
  { "R", "start / stop recording (WebM, labels burnt in)" },
  { "S", "save a PNG screenshot of the window" },
  { "F", "fullscreen" },
  { "H", "show / hide this help" },
  { "Q  Esc", "quit" },
  { NULL, NULL }
};

viewer_action
viewer_key_action(SDL_Keycode key, Uint16 mod, bool repeat)
{
  viewer_action a = { VIEWER_ACT_NONE, 0.0 };

  /* Leave window-manager and editing shortcuts (Ctrl/Alt/GUI + key) alone. */
  if (mod & (KMOD_CTRL | KMOD_ALT | KMOD_GUI))
    return a;
  switch (key) {
  case SDLK_LEFT:
  case SDLK_RIGHT:
    a.kind = VIEWER_ACT_RHO;
    a.value = key == SDLK_LEFT ? -1.0 : 1.0;
    return a;
  default:
    break;
  }
  if (repeat)
    return a;
  switch (key) {
  case SDLK_1: case SDLK_KP_1: a.kind = VIEWER_ACT_ALPHA; a.value = 0.25; break;
  case SDLK_2: case SDLK_KP_2: a.kind = VIEWER_ACT_ALPHA; a.value = 0.5; break;
  case SDLK_3: case SDLK_KP_3: a.kind = VIEWER_ACT_ALPHA; a.value = 0.75; break;
  case SDLK_4: case SDLK_KP_4: a.kind = VIEWER_ACT_ALPHA; a.value = 1.0; break;
  case SDLK_d: a.kind = VIEWER_ACT_DTYPE; break;
  case SDLK_v: a.kind = VIEWER_ACT_ARCH; break;
  case SDLK_t: a.kind = VIEWER_ACT_THREADS; break;
  case SDLK_SPACE: a.kind = VIEWER_ACT_PAUSE; break;
  case SDLK_r: a.kind = VIEWER_ACT_RECORD; break;
  case SDLK_s: a.kind = VIEWER_ACT_SCREENSHOT; break;
  case SDLK_f: case SDLK_F11: a.kind = VIEWER_ACT_FULLSCREEN; break;
  case SDLK_h: case SDLK_F1: a.kind = VIEWER_ACT_HELP; break;
  case SDLK_q: case SDLK_ESCAPE: a.kind = VIEWER_ACT_QUIT; break;
  default: break;
  }
  return a;
}

int
viewer_rho_step(int current, int dir)
{
  if (dir > 0) {
    for (int i = 0; i < viewer_n_rhos; i++)
      if (viewer_rhos[i] > current)
        return viewer_rhos[i];
    return viewer_rhos[viewer_n_rhos - 1];
  }
  for (int i = viewer_n_rhos - 1; i >= 0; i--)
    if (viewer_rhos[i] < current)
      return viewer_rhos[i];
  return viewer_rhos[0];
}

int
viewer_threads_next(int current, int max)
{
  if (max < 1)
    max = 1;
  return current >= max || current < 1 ? 1 : current + 1;
}
