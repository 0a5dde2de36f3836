/* gstmobilenetapp.c: see gstmobilenetapp.h.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "gstmobilenetapp.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

/* Puts dir on the plugin path variable the user set (GST_PLUGIN_PATH_1_0
 * when that one is set), first or last. */
static void
add_plugin_path (const gchar * dir, gboolean first)
{
  const gchar *name = g_getenv ("GST_PLUGIN_PATH_1_0") ? "GST_PLUGIN_PATH_1_0"
      : "GST_PLUGIN_PATH";
  const gchar *old = g_getenv (name);
  gchar *var;

  if (!old || !*old)
    var = g_strdup (dir);
  else if (first)
    var = g_strconcat (dir, G_SEARCHPATH_SEPARATOR_S, old, NULL);
  else
    var = g_strconcat (old, G_SEARCHPATH_SEPARATOR_S, dir, NULL);
  g_setenv (name, var, TRUE);
  g_free (var);
}

void
gst_mobilenet_app_find_plugin (const gchar * build_plugin_dir, const gchar * installed_plugin_dir)
{
  char exe[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  gchar *dir, *marker, *build = NULL, *installed = NULL, *plugin = NULL;

  if (n <= 0)
    return;
  exe[n] = '\0';
  dir = g_path_get_dirname (exe);
  /* A meson build folder holds meson-private/ at its top, one level above
   * the programs; an installed tree does not. No build path is compiled in,
   * so installed programs do not depend on where they were built. */
  marker = g_build_filename (dir, "..", "meson-private", NULL);
  if (build_plugin_dir && g_file_test (marker, G_FILE_TEST_IS_DIR)) {
    build = g_build_filename (dir, build_plugin_dir, NULL);
    plugin = g_build_filename (build, "libgstmobilenet.so", NULL);
  }
  if (plugin && g_file_test (plugin, G_FILE_TEST_EXISTS)) {
    add_plugin_path (build, TRUE);
  } else if (installed_plugin_dir && *installed_plugin_dir) {
    /* installed in a prefix GStreamer does not search ($HOME/.local, /opt):
     * the plugin installed with it, after the user's own folders */
    g_free (plugin);
    installed = g_path_is_absolute (installed_plugin_dir)
        ? g_strdup (installed_plugin_dir)
        : g_build_filename (dir, installed_plugin_dir, NULL);
    plugin = g_build_filename (installed, "libgstmobilenet.so", NULL);
    if (g_file_test (plugin, G_FILE_TEST_EXISTS))
      add_plugin_path (installed, FALSE);
  }
  g_free (plugin);
  g_free (installed);
  g_free (build);
  g_free (marker);
  g_free (dir);
}

gboolean
gst_mobilenet_app_is_not_video_error (const GError * error)
{
  return g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_TYPE_NOT_FOUND)
      || g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE)
      || g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DEMUX);
}
