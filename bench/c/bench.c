/*
 * The libgearman side of the gearman-ts benchmark (bench/README.md).
 *
 * One program, two roles:
 *
 *   bench client --scenario S1|S2|S3 --host H --port P --n N [--warmup W] [--batch B] [--p P]
 *   bench worker --host H --port P [--n N] [--warmup W]
 *
 * A role prints "start" on stdout when its timed window begins and "done {json}" when it ends,
 * then waits for stdin to close before exiting, so that bench/run.mjs can read its CPU time and
 * peak RSS from /proc while it is still alive. Every job carries the same 32-byte payload and a
 * 32-character unique (as gearman-ts generates one per job), on the function "echo".
 *
 * Built by bench/run.mjs: gcc -O2 -Wall -o bench/build/bench bench/c/bench.c -lgearman
 */
#include <libgearman/gearman.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD_SIZE 32
#define FUNCTION "echo"

static const char PAYLOAD[PAYLOAD_SIZE + 1] = "0123456789abcdefghijklmnopqrstuv";

struct options {
  const char *role;
  const char *scenario;
  const char *host;
  in_port_t port;
  long n;
  long warmup;
  long batch;
  long inflight;
};

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail) {
  fprintf(stderr, "bench: %s: %s\n", what, detail == NULL ? "" : detail);
  exit(1);
}

/* A 32-hex-character unique per job: a random prefix and a counter. */
static char unique_buf[33];
static uint64_t unique_prefix;
static uint64_t unique_counter;

static const char *next_unique(void) {
  snprintf(unique_buf, sizeof unique_buf, "%016" PRIx64 "%016" PRIx64, unique_prefix, unique_counter++);
  return unique_buf;
}

static void mark_start(void) {
  fputs("start\n", stdout);
  fflush(stdout);
}

/* Reports the result line, then lingers until bench/run.mjs closes stdin. */
static void finish(long jobs, double seconds, const char *extra) {
  printf("done {\"jobs\":%ld,\"seconds\":%.6f%s%s}\n", jobs, seconds, extra == NULL ? "" : ",", extra == NULL ? "" : extra);
  fflush(stdout);
  while (getchar() != EOF) {
  }
}

static long parse_long(const char *name, const char *value) {
  char *end;
  long v = strtol(value, &end, 10);
  if (*value == '\0' || *end != '\0' || v < 0) die(name, "expects a non-negative integer");
  return v;
}

static void parse(int argc, char **argv, struct options *o) {
  memset(o, 0, sizeof *o);
  o->host = "127.0.0.1";
  o->batch = 1000;
  o->inflight = 100;
  if (argc < 2) die("usage", "bench client|worker [--scenario S1|S2|S3] --port P --n N [--warmup W] [--batch B] [--p P]");
  o->role = argv[1];
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) die("missing value for", argv[i]);
    const char *k = argv[i], *v = argv[i + 1];
    if (strcmp(k, "--scenario") == 0) o->scenario = v;
    else if (strcmp(k, "--host") == 0) o->host = v;
    else if (strcmp(k, "--port") == 0) o->port = (in_port_t)parse_long(k, v);
    else if (strcmp(k, "--n") == 0) o->n = parse_long(k, v);
    else if (strcmp(k, "--warmup") == 0) o->warmup = parse_long(k, v);
    else if (strcmp(k, "--batch") == 0) o->batch = parse_long(k, v);
    else if (strcmp(k, "--p") == 0) o->inflight = parse_long(k, v);
    else die("unknown option", k);
  }
  if (o->port == 0) die("--port", "is required");
  if (o->batch < 1) o->batch = 1;
  if (o->inflight < 1) o->inflight = 1;
}

/* ------------------------------------------------------------------------------------------- */
/* Client                                                                                      */

struct run_state {
  long submitted; /* tasks added */
  long total;     /* tasks to add in this run */
  long created;   /* JOB_CREATED seen (S1) */
  long completed; /* WORK_COMPLETE with a 32-byte result (S3) */
  long failed;
};

static gearman_client_st *client_connect(const struct options *o) {
  gearman_client_st *client = gearman_client_create(NULL);
  if (client == NULL) die("gearman_client_create", "failed");
  if (gearman_client_add_server(client, o->host, o->port) != GEARMAN_SUCCESS) die("gearman_client_add_server", gearman_client_error(client));
  /* Finished tasks are freed by libgearman itself, so nothing piles up between batches. */
  gearman_client_add_options(client, GEARMAN_CLIENT_FREE_TASKS);
  return client;
}

static gearman_return_t on_created(gearman_task_st *task) {
  struct run_state *st = (struct run_state *)gearman_task_context(task);
  st->created++;
  return GEARMAN_SUCCESS;
}

/* S1: background submissions, `batch` at a time, each batch pipelined by gearman_client_run_tasks. */
static void submit_background(gearman_client_st *client, long n, long batch) {
  struct run_state st = {0};
  gearman_client_set_created_fn(client, on_created);
  for (long done = 0; done < n;) {
    long k = n - done < batch ? n - done : batch;
    for (long i = 0; i < k; i++) {
      gearman_return_t ret;
      gearman_task_st *task = gearman_client_add_task_background(client, NULL, &st, FUNCTION, next_unique(), PAYLOAD, PAYLOAD_SIZE, &ret);
      if (task == NULL || ret != GEARMAN_SUCCESS) die("gearman_client_add_task_background", gearman_client_error(client));
    }
    gearman_return_t ret = gearman_client_run_tasks(client);
    if (ret != GEARMAN_SUCCESS) die("gearman_client_run_tasks", gearman_client_error(client));
    done += k;
  }
  if (st.created != n) {
    char msg[96];
    snprintf(msg, sizeof msg, "%ld JOB_CREATED for %ld submissions", st.created, n);
    die("S1", msg);
  }
}

static void add_foreground(gearman_client_st *client, struct run_state *st) {
  gearman_return_t ret;
  gearman_task_st *task = gearman_client_add_task(client, NULL, st, FUNCTION, next_unique(), PAYLOAD, PAYLOAD_SIZE, &ret);
  if (task == NULL || ret != GEARMAN_SUCCESS) die("gearman_client_add_task", gearman_client_error(client));
  st->submitted++;
}

static gearman_return_t on_fail(gearman_task_st *task) {
  struct run_state *st = (struct run_state *)gearman_task_context(task);
  st->failed++;
  return GEARMAN_SUCCESS;
}

/* S3: each completion adds the next task, so `inflight` jobs stay in flight until the end. */
static gearman_client_st *window_client;

static gearman_return_t on_complete_window(gearman_task_st *task) {
  struct run_state *st = (struct run_state *)gearman_task_context(task);
  if (gearman_task_data_size(task) == PAYLOAD_SIZE) st->completed++;
  else st->failed++;
  if (st->submitted < st->total) add_foreground(window_client, st);
  return GEARMAN_SUCCESS;
}

static void run_window(gearman_client_st *client, long n, long inflight) {
  struct run_state st = {0};
  st.total = n;
  window_client = client;
  gearman_client_set_complete_fn(client, on_complete_window);
  gearman_client_set_fail_fn(client, on_fail);
  gearman_client_set_exception_fn(client, on_fail);
  long first = n < inflight ? n : inflight;
  for (long i = 0; i < first; i++) add_foreground(client, &st);
  gearman_return_t ret = gearman_client_run_tasks(client);
  if (ret != GEARMAN_SUCCESS) die("gearman_client_run_tasks", gearman_client_error(client));
  if (st.completed != n || st.failed != 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "%ld completed, %ld failed of %ld", st.completed, st.failed, n);
    die("S3", msg);
  }
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *sorted, long n, double p) {
  long rank = (long)((p * (double)n) + 0.999999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

static void do_one(gearman_client_st *client, double *latency) {
  size_t size = 0;
  gearman_return_t ret;
  double t = now_seconds();
  void *result = gearman_client_do(client, FUNCTION, next_unique(), PAYLOAD, PAYLOAD_SIZE, &size, &ret);
  if (latency != NULL) *latency = now_seconds() - t;
  if (ret != GEARMAN_SUCCESS || size != PAYLOAD_SIZE) die("gearman_client_do", gearman_client_error(client));
  free(result);
}

static int run_client(const struct options *o) {
  gearman_client_st *client = client_connect(o);
  char extra[160];
  if (strcmp(o->scenario, "S1") == 0) {
    submit_background(client, o->warmup, o->batch);
    mark_start();
    double t0 = now_seconds();
    submit_background(client, o->n, o->batch);
    double t1 = now_seconds();
    finish(o->n, t1 - t0, NULL);
  } else if (strcmp(o->scenario, "S2") == 0) {
    for (long i = 0; i < o->warmup; i++) do_one(client, NULL);
    double *lat = malloc(sizeof(double) * (size_t)(o->n > 0 ? o->n : 1));
    if (lat == NULL) die("malloc", "latencies");
    mark_start();
    double t0 = now_seconds();
    for (long i = 0; i < o->n; i++) do_one(client, &lat[i]);
    double t1 = now_seconds();
    qsort(lat, (size_t)o->n, sizeof(double), compare_double);
    snprintf(extra, sizeof extra, "\"p50Ms\":%.4f,\"p99Ms\":%.4f", percentile(lat, o->n, 0.50) * 1e3, percentile(lat, o->n, 0.99) * 1e3);
    free(lat);
    finish(o->n, t1 - t0, extra);
  } else if (strcmp(o->scenario, "S3") == 0) {
    if (o->warmup > 0) run_window(client, o->warmup, o->inflight);
    mark_start();
    double t0 = now_seconds();
    run_window(client, o->n, o->inflight);
    double t1 = now_seconds();
    snprintf(extra, sizeof extra, "\"inflight\":%ld", o->inflight);
    finish(o->n, t1 - t0, extra);
  } else {
    die("unknown scenario", o->scenario == NULL ? "(none)" : o->scenario);
  }
  gearman_client_free(client);
  return 0;
}

/* ------------------------------------------------------------------------------------------- */
/* Worker                                                                                      */

static void *echo_job(gearman_job_st *job, void *context, size_t *result_size, gearman_return_t *ret_ptr) {
  (void)context;
  size_t size = gearman_job_workload_size(job);
  void *result = malloc(size == 0 ? 1 : size);
  if (result == NULL) {
    *ret_ptr = GEARMAN_WORK_FAIL;
    return NULL;
  }
  memcpy(result, gearman_job_workload(job), size);
  *result_size = size;
  *ret_ptr = GEARMAN_SUCCESS;
  return result;
}

/* Serves "echo". With --n, stops after warmup + n jobs and reports the time of the last n
 * (S4: the queue was preloaded with exactly warmup + n jobs). */
static int run_worker(const struct options *o) {
  gearman_worker_st *worker = gearman_worker_create(NULL);
  if (worker == NULL) die("gearman_worker_create", "failed");
  if (gearman_worker_add_server(worker, o->host, o->port) != GEARMAN_SUCCESS) die("gearman_worker_add_server", gearman_worker_error(worker));
  if (gearman_worker_add_function(worker, FUNCTION, 0, echo_job, NULL) != GEARMAN_SUCCESS) die("gearman_worker_add_function", gearman_worker_error(worker));
  long limit = o->n > 0 ? o->warmup + o->n : -1;
  long count = 0;
  double t0 = 0;
  if (limit > 0 && o->warmup == 0) {
    mark_start();
    t0 = now_seconds();
  }
  while (limit < 0 || count < limit) {
    gearman_return_t ret = gearman_worker_work(worker);
    if (ret != GEARMAN_SUCCESS) die("gearman_worker_work", gearman_worker_error(worker));
    count++;
    if (limit > 0 && count == o->warmup) {
      mark_start();
      t0 = now_seconds();
    }
  }
  double t1 = now_seconds();
  finish(o->n, t1 - t0, NULL);
  gearman_worker_free(worker);
  return 0;
}

int main(int argc, char **argv) {
  struct options o;
  parse(argc, argv, &o);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  unique_prefix = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
  if (strcmp(o.role, "client") == 0) return run_client(&o);
  if (strcmp(o.role, "worker") == 0) return run_worker(&o);
  die("unknown role", o.role);
  return 1;
}
