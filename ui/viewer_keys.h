/* viewer_keys.h: the keys of mobilenet-viewer and the value steps they make.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The mapping from SDL key presses to actions, and the pure functions that
 * step alpha, rho and the thread count, live here so the program's event
 * loop stays a plain switch and the help screen lists exactly these keys.
 */
#ifndef MN_VIEWER_KEYS_H
#define MN_VIEWER_KEYS_H

#include <stdbool.h>
#include <SDL.h>

typedef enum {
  VIEWER_ACT_NONE = 0,
  VIEWER_ACT_ALPHA,      /* value: the alpha to pick (keys 1..4) */
  VIEWER_ACT_RHO,        /* value: -1 (left) or +1 (right) */
  VIEWER_ACT_ARCH,       /* next architecture present (v1, v2, v3-small, v3-large) */
  VIEWER_ACT_DTYPE,      /* next dtype present (f32, u8, i8) */
  VIEWER_ACT_THREADS,    /* next thread count */
  VIEWER_ACT_PAUSE,
  VIEWER_ACT_RECORD,     /* start / stop recording */
  VIEWER_ACT_SCREENSHOT,
  VIEWER_ACT_FULLSCREEN,
  VIEWER_ACT_HELP,
  VIEWER_ACT_QUIT
} viewer_action_kind;

typedef struct {
  viewer_action_kind kind;
  double value;
} viewer_action;

/* The action of a key press; repeat is SDL's key-repeat flag (held keys
 * repeat only the rho steps). */
viewer_action viewer_key_action(SDL_Keycode key, Uint16 mod, bool repeat);

/* The resolutions the arrow keys step through, smallest first. */
extern const int viewer_rhos[];
extern const int viewer_n_rhos;

/* The next resolution from current in direction dir (-1/+1), clamped to the
 * ends of viewer_rhos; a current value between two steps goes to the
 * neighbouring step in that direction. */
int viewer_rho_step(int current, int dir);

/* 1, 2, ..., max, 1, ...: the thread count after current. */
int viewer_threads_next(int current, int max);

/* Lines of the help screen: pairs of key and description, NULL-terminated. */
extern const char *const viewer_help[][2];

#endif
