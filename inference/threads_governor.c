/* threads_governor.c: see threads_governor.h. */
#include "threads_governor.h"

#include <string.h>

void mn_gov_init(mn_threads_governor *g, int max, int on) {
  memset(g, 0, sizeof *g);
  g->max = max > 0 ? max : 1;
  g->on = on && g->max > 1;
  g->active = g->max;
  g->dir = -1;
  g->interval = MN_GOV_INTERVAL_MIN;
}

int mn_gov_next(const mn_threads_governor *g) {
  if (!g->on) return g->max;
  return g->trial ? g->trial : g->active;
}

static double median(const double *v, int n) {
  double s[MN_GOV_RECENT > MN_GOV_PROBE_RUNS ? MN_GOV_RECENT : MN_GOV_PROBE_RUNS];
  memcpy(s, v, sizeof(double) * (size_t)n);
  for (int i = 1; i < n; i++) /* insertion sort: a handful of values */
    for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
      const double t = s[j];
      s[j] = s[j - 1], s[j - 1] = t;
    }
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

void mn_gov_record(mn_threads_governor *g, double ms) {
  if (!g->on) return;
  if (g->trial) {
    g->trial_ms[g->n_trial++] = ms;
    if (g->n_trial < MN_GOV_PROBE_RUNS) return;
    const double cur = median(g->recent, g->n_recent), tried = median(g->trial_ms, g->n_trial);
    if (tried < MN_GOV_MARGIN * cur) {
      g->active = g->trial;
      g->n_recent = 0, g->next = 0; /* the new count's own times from now on */
      g->ref_ms = tried;
      g->interval = MN_GOV_INTERVAL_MIN;
      g->switches++;
    } else {
      g->ref_ms = cur;
      g->interval = g->interval * 2 < MN_GOV_INTERVAL_MAX ? g->interval * 2 : MN_GOV_INTERVAL_MAX;
    }
    g->trial = 0, g->n_trial = 0, g->since = 0;
    return;
  }
  g->recent[g->next] = ms; /* a ring: counters never grow with the run's length */
  g->next = (g->next + 1) % MN_GOV_RECENT;
  if (g->n_recent < MN_GOV_RECENT) g->n_recent++;
  if (g->n_recent < MN_GOV_RECENT) return;
  g->since++;
  if (g->ref_ms > 0 && g->since >= MN_GOV_RECENT &&
      median(g->recent, MN_GOV_RECENT) > MN_GOV_SLOWER * g->ref_ms)
    g->interval = MN_GOV_INTERVAL_MIN, g->since = g->interval; /* slower now: try at once */
  if (g->since < g->interval) return;
  /* try one thread fewer, then one more, in turn (within 1..max) */
  int t = g->active + g->dir;
  if (t < 1 || t > g->max) g->dir = -g->dir, t = g->active + g->dir;
  g->dir = -g->dir;
  if (t >= 1 && t <= g->max && t != g->active) g->trial = t;
}
