/* stb_image_instrumented.c: stb_image compiled into fuzz_image, from the same
 * header as Debian's libstb, so that libFuzzer sees the coverage of the PNG,
 * BMP, GIF and PPM decoders (the shared library is not instrumented). The
 * program's own definitions take precedence over libstb.so's. */
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
