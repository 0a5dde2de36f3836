/* gstmobilenetapp.h: what the programs built on the plugin share
 * (mobilenet-record, mobilenet-viewer).
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef GST_MOBILENET_APP_H
#define GST_MOBILENET_APP_H

#include <gst/gst.h>

G_BEGIN_DECLS

/* Makes the program run the plugin that belongs to it. Run from a meson
 * build folder (its meson-private/ one level above the program), it puts
 * the build's plugin folder (build_plugin_dir, relative to the program's
 * folder) first on GST_PLUGIN_PATH (or GST_PLUGIN_PATH_1_0 when that is the
 * one set), so it runs the plugin built with it rather than an installed or
 * missing one. Installed, it adds installed_plugin_dir (relative to the
 * program's folder unless absolute; NULL or "" when GStreamer searches it
 * anyway) last, when the plugin is there. Call before gst_init. */
void gst_mobilenet_app_find_plugin (const gchar * build_plugin_dir,
    const gchar * installed_plugin_dir);

/* Whether an error of a decoding pipeline means its input is no video file
 * GStreamer can read (unknown type, a text file, a container it cannot
 * demux), as opposed to a problem while reading or encoding one. */
gboolean gst_mobilenet_app_is_not_video_error (const GError * error);

G_END_DECLS

#endif
