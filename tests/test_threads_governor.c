/* test_threads_governor.c: the runner's choice of thread count, on made-up
 * inference times (inference/threads_governor.c). */
#include <check.h>
#include <stdlib.h>

#include "threads_governor.h"

/* Runs n inferences whose time depends on the thread count: ms[t]. */
static void run(mn_threads_governor *g, const double *ms, int n) {
  for (int i = 0; i < n; i++) mn_gov_record(g, ms[mn_gov_next(g)]);
}

/* Runs n inferences and counts those outside trials on each count. */
static int active_after(mn_threads_governor *g, const double *ms, int n) {
  run(g, ms, n);
  return g->active;
}

START_TEST(test_off_or_one_thread_never_changes) {
  mn_threads_governor g;
  const double slow_two[3] = {0, 10.0, 30.0};
  mn_gov_init(&g, 2, 0);
  run(&g, slow_two, 1000);
  ck_assert_int_eq(mn_gov_next(&g), 2);
  ck_assert_int_eq(g.switches, 0);
  mn_gov_init(&g, 1, 1);
  run(&g, slow_two, 1000);
  ck_assert_int_eq(mn_gov_next(&g), 1);
}
END_TEST

/* A busy core: two threads take 1.5x one thread's time. The governor moves
 * to one thread after its first trial and stays there while it lasts. */
START_TEST(test_busy_core_falls_back) {
  mn_threads_governor g;
  mn_gov_init(&g, 2, 1);
  const double busy[3] = {0, 16.0, 24.0};
  ck_assert_int_eq(mn_gov_next(&g), 2);
  ck_assert_int_eq(active_after(&g, busy, MN_GOV_RECENT + MN_GOV_INTERVAL_MIN + MN_GOV_PROBE_RUNS), 1);
  ck_assert_int_eq(g.switches, 1);
  /* while the core stays busy, trials of two threads never win */
  ck_assert_int_eq(active_after(&g, busy, 5000), 1);
  ck_assert_int_eq(g.switches, 1);
  /* the other work ends: two threads take half the time; back within the
   * longest interval between trials */
  const double idle[3] = {0, 16.0, 8.5};
  ck_assert_int_eq(active_after(&g, idle, MN_GOV_INTERVAL_MAX + MN_GOV_PROBE_RUNS + 1), 2);
  ck_assert_int_eq(g.switches, 2);
}
END_TEST

/* Trials back off: on an idle machine (two threads twice as fast) the
 * losing trials of one thread take under 1 % of the inferences; and when
 * other work starts, the slowdown of the current count brings a trial at
 * once instead of after the long interval. */
START_TEST(test_trials_back_off_and_react) {
  mn_threads_governor g;
  mn_gov_init(&g, 2, 1);
  const double idle[3] = {0, 16.0, 8.0}, busy[3] = {0, 16.0, 24.0};
  int on_one = 0;
  for (int i = 0; i < 20000; i++) {
    const int t = mn_gov_next(&g);
    on_one += t == 1;
    mn_gov_record(&g, idle[t]);
  }
  ck_assert_int_eq(g.switches, 0);
  ck_assert_int_lt(on_one, 20000 / 100);
  /* a busy core from now on: one thread within a few dozen inferences */
  ck_assert_int_eq(active_after(&g, busy, 2 * MN_GOV_RECENT + MN_GOV_PROBE_RUNS + 1), 1);
}
END_TEST

/* Equal times (and differences inside the margin) never switch: no
 * oscillation on a machine where the count does not matter. */
START_TEST(test_no_switch_inside_margin) {
  mn_threads_governor g;
  mn_gov_init(&g, 4, 1);
  const double flat[5] = {0, 10.0, 10.0, 10.0, 10.0}, close[5] = {0, 9.5, 9.4, 9.3, 10.0};
  run(&g, flat, 10000);
  ck_assert_int_eq(g.switches, 0);
  ck_assert_int_eq(g.active, 4);
  run(&g, close, 10000); /* 3 threads: 9.3 ms, 7 % better than 4: not enough */
  ck_assert_int_eq(g.switches, 0);
}
END_TEST

/* Noisy times (a spike in a trial or at the current count) do not switch
 * by themselves: trials and the comparison use medians. */
START_TEST(test_single_spikes_do_not_switch) {
  mn_threads_governor g;
  mn_gov_init(&g, 2, 1);
  for (int i = 0; i < 20000; i++) {
    const int t = mn_gov_next(&g);
    double ms = t == 2 ? 8.0 : 14.0;
    if (i % 7 == 3) ms *= 5.0; /* one inference in seven hit by something else */
    mn_gov_record(&g, ms);
  }
  ck_assert_int_eq(g.switches, 0);
  ck_assert_int_eq(g.active, 2);
}
END_TEST

/* With many threads and two cores busy, the count steps down one at a time
 * to the best and stays there. */
START_TEST(test_steps_down_to_the_best_count) {
  mn_threads_governor g;
  mn_gov_init(&g, 8, 1);
  /* 8 cores, 2 busy: 6 threads best, more wait at barriers */
  const double ms[9] = {0, 48.0, 24.0, 16.0, 12.0, 9.6, 8.0, 14.0, 20.0};
  run(&g, ms, 20000);
  ck_assert_int_eq(g.active, 6);
  ck_assert_int_le(g.switches, 3); /* 8 -> 7 -> 6, and never back */
}
END_TEST

/* A long run at one count (2^31 inferences is 2.5 days at 0.1 ms): the
 * governor's state stays bounded. */
START_TEST(test_long_run_state_bounded) {
  mn_threads_governor g;
  mn_gov_init(&g, 2, 1);
  const double idle[3] = {0, 16.0, 8.0};
  run(&g, idle, 100000);
  ck_assert_int_le(g.n_recent, MN_GOV_RECENT);
  ck_assert_int_ge(g.next, 0);
  ck_assert_int_lt(g.next, MN_GOV_RECENT);
  ck_assert_int_le(g.since, MN_GOV_INTERVAL_MAX);
  ck_assert_int_eq(g.active, 2);
}
END_TEST

static Suite *governor_suite(void) {
  Suite *s = suite_create("threads-governor");
  TCase *tc = tcase_create("governor");
  tcase_add_test(tc, test_off_or_one_thread_never_changes);
  tcase_add_test(tc, test_busy_core_falls_back);
  tcase_add_test(tc, test_trials_back_off_and_react);
  tcase_add_test(tc, test_long_run_state_bounded);
  tcase_add_test(tc, test_no_switch_inside_margin);
  tcase_add_test(tc, test_single_spikes_do_not_switch);
  tcase_add_test(tc, test_steps_down_to_the_best_count);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(governor_suite());
  srunner_run_all(sr, CK_NORMAL);
  const int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
