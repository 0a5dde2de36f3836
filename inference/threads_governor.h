/* threads_governor.h: how many of a runner's threads an inference uses.
 *
 * A runner's thread count is a ceiling. When other work keeps a core busy,
 * an inference split across every core waits at each barrier for the thread
 * that shares its core (v1 1.0/224 f32 here: 16 ms on one thread, 23 ms on
 * two with one core busy; XNNPACK and oneDNN degrade the same way). The
 * governor measures: now and then it runs a few inferences on one thread
 * more or fewer, and keeps the count that ran clearly faster. Pure logic on
 * the times it is given (threads_governor.c), so it is tested with made-up
 * times.
 *
 * Trials cost time when they lose (a trial of one thread on an idle
 * machine runs at half speed), so after each lost trial the next comes
 * twice as late, up to MN_GOV_INTERVAL_MAX inferences (0.6 % of the runs);
 * a switch, or inferences at the current count getting clearly slower
 * (other work started), bring the next trial back to MN_GOV_INTERVAL_MIN. */
#ifndef MN_THREADS_GOVERNOR_H
#define MN_THREADS_GOVERNOR_H

enum {
  MN_GOV_RECENT = 8,         /* inferences at the current count that are compared */
  MN_GOV_PROBE_RUNS = 3,     /* inferences of a trial of another count */
  MN_GOV_INTERVAL_MIN = 30,  /* inferences at the current count between trials */
  MN_GOV_INTERVAL_MAX = 480
};
/* a trial's median must be below this share of the current one to switch */
#define MN_GOV_MARGIN 0.9
/* the current count's median this much above the last trial's reference:
 * something changed, try again soon */
#define MN_GOV_SLOWER 1.25

typedef struct {
  int max;      /* the runner's threads */
  int on;       /* 0: always max */
  int active;   /* threads of inferences outside trials */
  int trial;    /* 0, or the count being tried */
  int dir;      /* next trial: one fewer (-1) or one more (+1) */
  int since;    /* inferences at active since the last trial */
  int interval; /* inferences between trials now */
  double ref_ms; /* the current count's median when the last trial ended */
  double recent[MN_GOV_RECENT];
  int n_recent; /* filled entries, at most MN_GOV_RECENT */
  int next;     /* the ring's entry to write next */
  double trial_ms[MN_GOV_PROBE_RUNS];
  int n_trial;
  int switches; /* count changes so far (for tests and reports) */
} mn_threads_governor;

void mn_gov_init(mn_threads_governor *g, int max, int on);
/* Threads for the next inference. */
int mn_gov_next(const mn_threads_governor *g);
/* Records the time of the inference that ran on mn_gov_next() threads. */
void mn_gov_record(mn_threads_governor *g, double ms);

#endif
