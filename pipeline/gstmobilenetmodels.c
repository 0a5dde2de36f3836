/* gstmobilenetmodels.c: see gstmobilenetmodels.h.
 *
 * Copyright (C) 2026 mobilenet-live contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "gstmobilenetmodels.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  gchar *path;
  mn_model *model;
  gint refs;
  guint64 stamp;
} CacheEntry;

struct _GstMobilenetModelCache {
  GMutex lock;
  GPtrArray *entries;           /* CacheEntry */
  guint keep_unused;
  guint64 clock;
};

static void
cache_entry_free (gpointer data)
{
  CacheEntry *e = data;

  mn_model_free (e->model);
  g_free (e->path);
  g_free (e);
}

GstMobilenetModelCache *
gst_mobilenet_model_cache_new (guint keep_unused)
{
  GstMobilenetModelCache *c = g_new0 (GstMobilenetModelCache, 1);

  g_mutex_init (&c->lock);
  c->entries = g_ptr_array_new_with_free_func (cache_entry_free);
  c->keep_unused = keep_unused;
  return c;
}

void
gst_mobilenet_model_cache_free (GstMobilenetModelCache * c)
{
  if (!c)
    return;
  for (guint i = 0; i < c->entries->len; i++)
    g_warn_if_fail (((CacheEntry *) g_ptr_array_index (c->entries, i))->refs == 0);
  g_ptr_array_unref (c->entries);
  g_mutex_clear (&c->lock);
  g_free (c);
}

/* Drops the least recently used models no runner holds beyond keep_unused.
 * Called with the lock held. */
static void
cache_trim (GstMobilenetModelCache * c)
{
  for (;;) {
    guint unused = 0, oldest = 0;
    guint64 oldest_stamp = G_MAXUINT64;
    for (guint i = 0; i < c->entries->len; i++) {
      CacheEntry *e = g_ptr_array_index (c->entries, i);
      if (e->refs == 0) {
        unused++;
        if (e->stamp < oldest_stamp)
          oldest_stamp = e->stamp, oldest = i;
      }
    }
    if (unused <= c->keep_unused)
      return;
    g_ptr_array_remove_index_fast (c->entries, oldest);
  }
}

static CacheEntry *
cache_acquire (GstMobilenetModelCache * c, const gchar * path, gdouble * load_ms,
    gchar err[MN_ERROR_MAX])
{
  CacheEntry *e = NULL;
  mn_model *model = NULL;
  gint64 t0;

  *load_ms = 0;
  g_mutex_lock (&c->lock);
  for (guint i = 0; i < c->entries->len && !e; i++) {
    CacheEntry *x = g_ptr_array_index (c->entries, i);
    if (!strcmp (x->path, path))
      e = x;
  }
  if (e) {
    e->refs++;
    e->stamp = ++c->clock;
    g_mutex_unlock (&c->lock);
    return e;
  }
  g_mutex_unlock (&c->lock);

  /* Load without the lock: another thread may use the cache meanwhile. */
  t0 = g_get_monotonic_time ();
  if (mn_model_load (path, &model, err) != MN_OK)
    return NULL;
  *load_ms = (g_get_monotonic_time () - t0) / 1000.0;

  g_mutex_lock (&c->lock);
  e = g_new0 (CacheEntry, 1);
  e->path = g_strdup (path);
  e->model = model;
  e->refs = 1;
  e->stamp = ++c->clock;
  g_ptr_array_add (c->entries, e);
  cache_trim (c);
  g_mutex_unlock (&c->lock);
  return e;
}

static void
cache_release (GstMobilenetModelCache * c, CacheEntry * e)
{
  g_mutex_lock (&c->lock);
  e->refs--;
  cache_trim (c);
  g_mutex_unlock (&c->lock);
}

void
gst_mobilenet_model_config_clear (GstMobilenetModelConfig * config)
{
  g_free (config->models_dir);
  g_free (config->model_path);
  memset (config, 0, sizeof *config);
}

gchar *
gst_mobilenet_model_config_resolve (const GstMobilenetModelConfig * config,
    gchar err[MN_ERROR_MAX])
{
  char dir[4096], path[4352];

  if (config->model_path && *config->model_path)
    return g_strdup (config->model_path);
  mn_models_dir (config->models_dir, dir, sizeof dir);
  if (mn_models_find (dir, (mn_arch) config->arch, (float) config->alpha,
          (mn_dtype) config->dtype,
          config->resolution, path, sizeof path, err) != MN_OK)
    return NULL;
  return g_strdup (path);
}

GstMobilenetRunnerKey *
gst_mobilenet_model_config_key (const GstMobilenetModelConfig * config, const gchar * path)
{
  GstMobilenetRunnerKey *k = g_new0 (GstMobilenetRunnerKey, 1);

  k->path = g_strdup (path);
  k->resolution = config->resolution;
  k->threads = config->threads;
  return k;
}

GstMobilenetRunnerKey *
gst_mobilenet_runner_key_copy (const GstMobilenetRunnerKey * key)
{
  GstMobilenetRunnerKey *k;

  if (!key)
    return NULL;
  k = g_new0 (GstMobilenetRunnerKey, 1);
  *k = *key;
  k->path = g_strdup (key->path);
  return k;
}

void
gst_mobilenet_runner_key_free (GstMobilenetRunnerKey * key)
{
  if (!key)
    return;
  g_free (key->path);
  g_free (key);
}

gboolean
gst_mobilenet_runner_key_equal (const GstMobilenetRunnerKey * a, const GstMobilenetRunnerKey * b)
{
  if (!a || !b)
    return a == b;
  return !g_strcmp0 (a->path, b->path) && a->resolution == b->resolution
      && a->threads == b->threads;
}

GstMobilenetRunner *
gst_mobilenet_runner_new (GstMobilenetModelCache * cache, const GstMobilenetModelConfig * config,
    const gchar * path, gboolean warm_single, gchar err[MN_ERROR_MAX])
{
  GstMobilenetRunner *r;
  CacheEntry *e;
  gdouble load_ms;
  gint64 t0;
  mn_result top;
  gint res;

  e = cache_acquire (cache, path, &load_ms, err);
  if (!e)
    return NULL;
  res = config->resolution > 0 ? config->resolution : mn_model_resolution (e->model);

  r = g_new0 (GstMobilenetRunner, 1);
  r->cache = cache;
  r->entry = e;
  r->model = e->model;
  t0 = g_get_monotonic_time ();
  if (mn_runner_create (e->model, res, config->threads, &r->runner, err) != MN_OK) {
    gchar msg[MN_ERROR_MAX];
    snprintf (msg, sizeof msg, "%s: %s", path, err);
    memcpy (err, msg, MN_ERROR_MAX);
    gst_mobilenet_runner_free (r);
    return NULL;
  }
  r->load_ms = load_ms + (g_get_monotonic_time () - t0) / 1000.0;
  r->path = g_strdup (path);
  r->key = gst_mobilenet_model_config_key (config, path);
  r->arch = (GstMobilenetArch) mn_model_arch (e->model);
  r->alpha = mn_model_alpha (e->model);
  r->resolution = res;
  r->dtype = (GstMobilenetDtype) mn_model_dtype (e->model);

  /* One run on a blank picture: touches every buffer and weight once, so
   * the first real frame is not slower, and measures the latency. While
   * another model classifies live (a switch), it runs on one thread so as
   * not to compete with that for every core. */
  {
    guint8 *blank = g_malloc0 ((gsize) res * res * 3);
    gchar ignored[MN_ERROR_MAX];
    if (warm_single)
      mn_runner_set_threads (r->runner, 1, ignored);
    t0 = g_get_monotonic_time ();
    mn_runner_classify_preprocessed (r->runner, blank, 1, &top, err);
    r->warm_ms = (g_get_monotonic_time () - t0) / 1000.0;
    if (warm_single)
      mn_runner_set_threads (r->runner, config->threads, ignored);
    g_free (blank);
  }
  r->threads = mn_runner_threads (r->runner);
  return r;
}

void
gst_mobilenet_runner_free (GstMobilenetRunner * r)
{
  if (!r)
    return;
  mn_runner_free (r->runner);
  if (r->entry)
    cache_release (r->cache, r->entry);
  g_free (r->path);
  gst_mobilenet_runner_key_free (r->key);
  g_free (r);
}

gboolean
gst_mobilenet_key_differs_in_threads_only (const GstMobilenetRunnerKey * a,
    const GstMobilenetRunnerKey * b)
{
  return a && b && !g_strcmp0 (a->path, b->path) && a->resolution == b->resolution
      && a->threads != b->threads;
}

GstMobilenetRunner *
gst_mobilenet_runner_new_threads (const GstMobilenetModelConfig * config, const gchar * path)
{
  GstMobilenetRunner *r = g_new0 (GstMobilenetRunner, 1);

  r->path = g_strdup (path);
  r->key = gst_mobilenet_model_config_key (config, path);
  r->threads = config->threads;
  return r;
}

void
gst_mobilenet_runner_apply_threads (GstMobilenetRunner * runner,
    const GstMobilenetRunner * request)
{
  gchar err[MN_ERROR_MAX];

  if (mn_runner_set_threads (runner->runner, request->threads, err) != MN_OK)
    return;                     /* the property's range keeps it from happening */
  runner->threads = mn_runner_threads (runner->runner);
  gst_mobilenet_runner_key_free (runner->key);
  runner->key = gst_mobilenet_runner_key_copy (request->key);
}

const gchar *
gst_mobilenet_runner_name (const GstMobilenetRunner * r)
{
  return mn_model_name (r->model);
}
