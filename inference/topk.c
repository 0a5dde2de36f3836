/* topk.c: the k best classes of a probability vector. */
#include "mobilenet/mobilenet.h"

int mn_topk(const float *scores, int count, int k, int *class_out, float *score_out) {
  const int offset = count == 1001 ? 1 : 0; /* 1001 outputs: index 0 is background */
  const int classes = count - offset;
  if (k > classes) k = classes;
  if (k <= 0) return 0;
  int n = 0;
  /* Insertion into a sorted list of k: k is small (<= a few dozen). Strict
   * comparison keeps the lower index first among equal scores. */
  for (int i = 0; i < classes; i++) {
    float s = scores[i + offset];
    if (n == k && !(s > score_out[k - 1])) continue;
    int j = n < k ? n++ : k - 1;
    while (j > 0 && s > score_out[j - 1]) {
      score_out[j] = score_out[j - 1];
      class_out[j] = class_out[j - 1];
      j--;
    }
    score_out[j] = s;
    class_out[j] = i;
  }
  return n;
}
