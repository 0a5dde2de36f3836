/* gstmobilenetapp.c: see gstmobilenetapp.h.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "gstmobilenetapp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
gst_mobilenet_app_use_build_plugin (const gchar * build_dir, const gchar * plugin_dir)
{
  char exe[PATH_MAX], build[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  gchar *dir;

  if (n <= 0 || !build_dir || !plugin_dir)
    return;
  exe[n] = '\0';
  dir = g_path_get_dirname (exe);
  /* only the program of this build folder: a copy installed elsewhere must
   * not pick up a build tree that happens to still exist */
  if (realpath (build_dir, build) && strcmp (dir, build) == 0
      && g_file_test (plugin_dir, G_FILE_TEST_IS_DIR)) {
    const gchar *name = g_getenv ("GST_PLUGIN_PATH_1_0") ? "GST_PLUGIN_PATH_1_0"
        : "GST_PLUGIN_PATH";
    const gchar *old = g_getenv (name);
    gchar *var = old && *old ? g_strconcat (plugin_dir, G_SEARCHPATH_SEPARATOR_S, old, NULL)
        : g_strdup (plugin_dir);
    g_setenv (name, var, TRUE);
    g_free (var);
  }
  g_free (dir);
}

gboolean
gst_mobilenet_app_is_not_video_error (const GError * error)
{
  return g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_TYPE_NOT_FOUND)
      || g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE)
      || g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DEMUX);
}
