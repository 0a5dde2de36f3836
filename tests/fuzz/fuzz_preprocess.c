/* fuzz_preprocess.c: libFuzzer target for the plugin's frame preprocessing
 * (pipeline/gstmobilenetpreprocess.c) on every format mobilenetclassify
 * accepts, any frame size, colorimetry and network resolution.
 *
 * The first bytes choose the caps (format, width 1..1024, height 1..768,
 * colorimetry) and two network resolutions (32..160, the second run reuses
 * the first's tap lists when equal); the rest fill the frame, repeated. The
 * frame is mapped as the element maps it and preprocessed. Built with
 * -Dfuzz=true and run by scripts/fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstmobilenetpreprocess.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const GstVideoFormat formats[] = {
  GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx,
  GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR, GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA,
  GST_VIDEO_FORMAT_ARGB, GST_VIDEO_FORMAT_ABGR, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_YV12,
  GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_NV21, GST_VIDEO_FORMAT_Y42B, GST_VIDEO_FORMAT_Y444,
};
/* limited and full range, the three matrices */
static const char *const colorimetries[] = {"bt601", "bt709", "bt2020", "1:4:0:0", "1:3:5:1",
                                            "2:1:5:1"};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  gst_init(argc, argv);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 8) return 0;
  const GstVideoFormat format = formats[data[0] % G_N_ELEMENTS(formats)];
  const int width = 1 + (data[1] | data[2] << 8) % 1024;
  const int height = 1 + (data[3] | data[4] << 8) % 768;
  const char *colorimetry = colorimetries[data[5] % G_N_ELEMENTS(colorimetries)];
  const int res1 = 32 + data[6] % 129, res2 = data[7] & 1 ? res1 : 32 + data[7] % 129;
  data += 8, size -= 8;

  GstVideoInfo info;
  if (!gst_video_info_set_format(&info, format, width, height)) return 0;
  gst_video_colorimetry_from_string(&info.colorimetry, colorimetry);
  GstMobilenetPreprocess p;
  memset(&p, 0, sizeof p);
  if (!gst_mobilenet_preprocess_init(&p, &info)) return 0;

  GstBuffer *buf = gst_buffer_new_allocate(NULL, info.size, NULL);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < map.size; i += size ? size : map.size) {
    const gsize n = MIN(size, map.size - i);
    if (n) memcpy(map.data + i, data, n);
    else memset(map.data + i, 0, map.size - i);
  }
  gst_buffer_unmap(buf, &map);

  GstVideoFrame frame;
  guint8 *rgb = malloc((size_t)160 * 160 * 3);
  gchar err[MN_ERROR_MAX];
  if (rgb && gst_video_frame_map(&frame, &info, buf, GST_MAP_READ)) {
    if (!gst_mobilenet_preprocess_frame(&p, &frame, res1, rgb, err) ||
        !gst_mobilenet_preprocess_frame(&p, &frame, res2, rgb, err))
      abort(); /* every accepted frame must preprocess */
    gst_video_frame_unmap(&frame);
  }
  free(rgb);
  gst_buffer_unref(buf);
  gst_mobilenet_preprocess_clear(&p);
  return 0;
}
