/* gstmobilenet.c: the "mobilenet" GStreamer plugin: mobilenetclassify and
 * mobilenetoverlay, and the GstMobilenetMeta they share.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/gst.h>

#include "gstmobilenetclassify.h"
#include "gstmobilenetmeta.h"
#include "gstmobilenetoverlay.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  /* Registered here so applications find the meta API by name as soon as
   * the plugin is loaded (gstmobilenetmeta.h). */
  gst_mobilenet_meta_api_get_type ();
  gst_mobilenet_meta_get_info ();

  ret |= GST_ELEMENT_REGISTER (mobilenetclassify, plugin);
  ret |= GST_ELEMENT_REGISTER (mobilenetoverlay, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR,
    GST_VERSION_MINOR,
    mobilenet,
    "MobileNet v1 image classification of video: classifier and results overlay",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
