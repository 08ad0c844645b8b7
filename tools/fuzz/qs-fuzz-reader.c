/* qs-fuzz-reader.c: a fork-per-input mutation fuzzer for the HDF5 weight reader (no libFuzzer needed).
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Takes seed files (or directories of them), mutates one at a time with a
 * fixed seed (reproducible), writes the mutant to a temporary file and runs
 * the target on it in a forked child under alarm() and, outside ASan,
 * RLIMIT_AS. The parent classifies each run (clean, crash, sanitizer report,
 * abort, timeout, out of memory) and saves the inputs of new findings, with
 * a note of the kind, the signal and the top of the stack (from the
 * sanitizer report, else from gdb -batch on a re-run), into the findings
 * directory. See tools/fuzz/README.md.
 *
 *   qs-fuzz-reader [--seed N] [--iterations N] [--seconds N] [--timeout S]
 *                  [--findings DIR] SEED-FILE-OR-DIR...
 *   qs-fuzz-reader --repro FILE      runs the target once, in process
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "engine/qs-engine.h"
#include "model/qs-keras-model.h"
#include "model/qs-tensor-report.h"
#include "model/qs-tensor-stream.h"
#include "model/qs-weight-file.h"
#include "quant/qs-scheme.h"

#if defined(__SANITIZE_ADDRESS__)
# define QS_FUZZ_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define QS_FUZZ_ASAN 1
# endif
#endif
#ifndef QS_FUZZ_ASAN
# define QS_FUZZ_ASAN 0
#endif

/* Tensors whose float32 values exceed this are listed but not read. */
#define MAX_READ_ELEMENTS   ((guint64) 4 << 20)      /* 16 MiB of float32 */
/* Mutants never grow past this. */
#define MAX_MUTANT_BYTES    ((gsize) 16 << 20)
#define AS_LIMIT_BYTES      ((rlim_t) 2 << 30)        /* 2 GiB */
#define MAX_SAVED_PER_KIND  25
#define MAX_GDB_RUNS        40

/* ------------------------------------------------------------------ */
/* The target                                                          */

static void
run_target (const char *path)
{
  g_autoptr(GError) error = NULL;
  QsWeightFile *file;
  GPtrArray *tensors;
  QsScheme scheme;

  file = qs_weight_file_open_full (path, QS_WEIGHT_FILE_FOLLOW_EXTERNAL_LINKS, &error);
  if (file == NULL)
    return;

  qs_scheme_init_default (&scheme);
  (void) qs_weight_file_get_layout (file);
  (void) qs_weight_file_get_model_config (file);
  (void) qs_weight_file_get_warnings (file);

  tensors = qs_weight_file_get_tensors (file);
  for (guint i = 0; i < tensors->len; i++)
    {
      const QsTensorInfo *info = g_ptr_array_index (tensors, i);
      g_autoptr(GError) terr = NULL;
      JsonNode *node;
      float *values;

      node = qs_tensor_info_to_json (info);
      json_node_unref (node);
      (void) qs_weight_file_lookup (file, info->path);
      (void) qs_weight_file_get_chunk_bytes (file, info);

      if (!info->quantizable || info->count == 0 || info->count > MAX_READ_ELEMENTS)
        continue;

      /* A hyperslab block: the streaming reader's entry point. */
      {
        gsize n = (gsize) MIN (info->count, 1024);
        g_autofree float *block = g_new (float, n);
        g_autoptr(GError) berr = NULL;
        (void) qs_weight_file_read_block (file, info, info->count - n, n, block, &berr);
      }

      values = qs_weight_file_read_tensor (file, info, &terr);
      if (values != NULL)
        {
          g_autoptr(GError) rerr = NULL;
          QsTensorReport *report = qs_tensor_report_compute_values (info, values, &scheme, 1, &rerr);
          if (report != NULL)
            {
              node = qs_tensor_report_to_json (report);
              json_node_unref (node);
              qs_tensor_report_free (report);
            }
          g_free (values);
        }

      /* The streamed path, under the smallest budget, for tensors that
       * do not fit in it. */
      if (!qs_tensor_fits_budget (info, QS_MEMORY_BUDGET_MIN))
        {
          g_autoptr(GError) serr = NULL;
          gboolean streamed = FALSE;
          QsTensorReport *report =
            qs_tensor_report_compute_blocks (file, info, &scheme, 1, QS_MEMORY_BUDGET_MIN,
                                             NULL, NULL, &streamed, NULL, &serr);
          if (report != NULL)
            qs_tensor_report_free (report);
        }
    }

  {
    g_autoptr(GError) kerr = NULL;
    QsEngineModel *model = qs_keras_model_load (file, &kerr);
    if (model != NULL)
      qs_engine_model_free (model);
  }

  g_object_unref (file);
}

/* ------------------------------------------------------------------ */
/* Reproducible randomness: splitmix64                                 */

typedef struct { guint64 s; } Rng;

static guint64
rng_next (Rng *r)
{
  guint64 z = (r->s += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static gsize
rng_below (Rng *r, gsize n)
{
  return n == 0 ? 0 : (gsize) (rng_next (r) % n);
}

/* ------------------------------------------------------------------ */
/* Mutations                                                           */

typedef struct {
  char   *name;
  guint8 *data;
  gsize   size;
} Seed;

/* Half of the positions fall in the first 4 KiB: the superblock, the root
 * group and most object headers of small files live there. */
static gsize
pick_pos (Rng *r, gsize size)
{
  if (size > 4096 && rng_below (r, 2) == 0)
    return rng_below (r, 4096);
  return rng_below (r, size);
}

static const guint64 boundary_values[] = {
  0, 1, 2, G_GUINT64_CONSTANT (0xffffffffffffffff), 0x7f, 0x80, 0xff, 0x7fff, 0xffff,
  0x7fffffff, 0x80000000, 0xffffffff, G_GUINT64_CONSTANT (0x100000000),
  G_GUINT64_CONSTANT (0x7fffffffffffffff), G_GUINT64_CONSTANT (0x8000000000000000),
  G_GUINT64_CONSTANT (0x10000000000), G_GUINT64_CONSTANT (0xfffffffffffffffe),
};

static const char *
mutate_once (Rng *r, GByteArray *buf)
{
  gsize size = buf->len;
  guint op = (guint) rng_below (r, 9);

  if (size == 0)
    {
      guint8 b = (guint8) rng_next (r);
      g_byte_array_append (buf, &b, 1);
      return "grow";
    }

  switch (op)
    {
    case 0:
      {
        gsize p = pick_pos (r, size);
        buf->data[p] ^= (guint8) (1u << rng_below (r, 8));
        return "bitflip";
      }
    case 1:
      {
        gsize p = pick_pos (r, size);
        static const guint8 v[] = { 0x00, 0xff };
        buf->data[p] = rng_below (r, 3) == 2 ? (guint8) rng_next (r) : v[rng_below (r, 2)];
        return "byteset";
      }
    case 2:
    case 3:
      {
        gsize width = rng_below (r, 2) ? 8 : 4;
        guint64 v = boundary_values[rng_below (r, G_N_ELEMENTS (boundary_values))];
        gboolean big = rng_below (r, 8) == 0;
        gsize p;
        if (rng_below (r, 4) == 0)
          v = rng_next (r);
        if (size < width)
          return "none";
        p = pick_pos (r, size - width + 1);
        for (gsize i = 0; i < width; i++)
          {
            gsize shift = 8 * (big ? width - 1 - i : i);
            buf->data[p + i] = (guint8) (v >> shift);
          }
        return width == 8 ? "int64" : "int32";
      }
    case 4:
      {
        /* Duplicate a chunk in place. */
        gsize len = 1 + rng_below (r, MIN (size, (gsize) 512));
        gsize from = rng_below (r, size - len + 1);
        gsize at = pick_pos (r, size + 1);
        g_autofree guint8 *copy = g_memdup2 (buf->data + from, len);
        if (size + len > MAX_MUTANT_BYTES)
          return "none";
        g_byte_array_set_size (buf, (guint) (size + len));
        memmove (buf->data + at + len, buf->data + at, size - at);
        memcpy (buf->data + at, copy, len);
        return "dup";
      }
    case 5:
      {
        gsize len = 1 + rng_below (r, MIN (size, (gsize) 512));
        gsize from = pick_pos (r, size - len + 1);
        g_byte_array_remove_range (buf, (guint) from, (guint) len);
        return "delete";
      }
    case 6:
      {
        /* Copy a chunk over another (keeps the size: offsets stay valid). */
        gsize len = 1 + rng_below (r, MIN (size, (gsize) 64));
        gsize from = rng_below (r, size - len + 1);
        gsize to = pick_pos (r, size - len + 1);
        memmove (buf->data + to, buf->data + from, len);
        return "overwrite";
      }
    case 7:
      {
        if (rng_below (r, 4) != 0)   /* truncation is rarely interesting: damp it */
          {
            gsize p = pick_pos (r, size);
            buf->data[p] = (guint8) (buf->data[p] + 1 + rng_below (r, 15) * (rng_below (r, 2) ? 1 : -1));
            return "arith";
          }
        g_byte_array_set_size (buf, (guint) rng_below (r, size));
        return "truncate";
      }
    default:
      {
        gsize p = pick_pos (r, size);
        buf->data[p] = (guint8) rng_next (r);
        return "byterandom";
      }
    }
}

/* ------------------------------------------------------------------ */
/* Running and classifying                                             */

typedef enum {
  RESULT_CLEAN,
  RESULT_ASAN,
  RESULT_UBSAN,
  RESULT_CRASH,     /* a signal without a sanitizer report: SEGV, BUS, ILL, FPE */
  RESULT_ABORT,     /* SIGABRT without a sanitizer report (assert, g_error) */
  RESULT_TIMEOUT,
  RESULT_OOM,
  RESULT_EXIT,      /* a non-zero exit status of the child */
  N_RESULTS
} Result;

static const char *result_names[N_RESULTS] = {
  "clean", "asan", "ubsan", "crash", "abort", "timeout", "oom", "exit",
};

static char *
read_log (const char *path)
{
  char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, NULL))
    return g_strdup ("");
  if (len > 64 * 1024)
    text[64 * 1024] = '\0';
  return text;
}

static Result
classify (int status, const char *log, gboolean timed_out)
{
  gboolean oom = strstr (log, "out of memory") != NULL
              || strstr (log, "failed to allocate") != NULL
              || strstr (log, "allocation-size-too-big") != NULL
              || strstr (log, "exceeds maximum supported size") != NULL
              || strstr (log, "rss-limit") != NULL;

  if (timed_out || (WIFSIGNALED (status) && WTERMSIG (status) == SIGALRM))
    return RESULT_TIMEOUT;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return RESULT_CLEAN;
  if (oom)
    return RESULT_OOM;
  if (strstr (log, "ERROR: AddressSanitizer") != NULL)
    return RESULT_ASAN;
  if (strstr (log, "runtime error:") != NULL)
    return RESULT_UBSAN;
  if (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL)
    return RESULT_OOM;
  if (WIFSIGNALED (status) && WTERMSIG (status) == SIGABRT)
    return RESULT_ABORT;
  if (WIFSIGNALED (status))
    return RESULT_CRASH;
  return RESULT_EXIT;
}

static void
child_limits (guint timeout)
{
#if !QS_FUZZ_ASAN
  struct rlimit rl = { AS_LIMIT_BYTES, AS_LIMIT_BYTES };
  setrlimit (RLIMIT_AS, &rl);
#endif
  {
    struct rlimit core = { 0, 0 };
    setrlimit (RLIMIT_CORE, &core);
  }
  alarm (timeout);
}

static int
run_child (const char *input, const char *log_path, guint timeout, gboolean *timed_out)
{
  pid_t pid;
  int status = 0;
  gint64 deadline;

  *timed_out = FALSE;
  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  if (pid < 0)
    {
      perror ("fork");
      exit (1);
    }
  if (pid == 0)
    {
      int fd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0)
        {
          dup2 (fd, STDOUT_FILENO);
          dup2 (fd, STDERR_FILENO);
          close (fd);
        }
      child_limits (timeout);
      run_target (input);
      _exit (0);
    }

  /* The child's alarm() normally ends it; this is the backstop for a child
   * that ignores SIGALRM or hangs in the sanitizer's report. */
  deadline = g_get_monotonic_time () + (gint64) (timeout + 10) * G_USEC_PER_SEC;
  for (;;)
    {
      pid_t w = waitpid (pid, &status, WNOHANG);
      if (w == pid)
        break;
      if (w < 0 && errno != EINTR)
        break;
      if (g_get_monotonic_time () > deadline)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          *timed_out = TRUE;
          break;
        }
      g_usleep (w == 0 ? 200 : 0);
    }
  return status;
}

/* The first few frames of a sanitizer report ("#N 0x... in func file:line"),
 * skipping the sanitizer runtime's own. */
static char *
sanitizer_stack_top (const char *log, int max_frames)
{
  GString *out = g_string_new (NULL);
  int n = 0;
  g_auto(GStrv) lines = g_strsplit (log, "\n", -1);
  gboolean in_report = FALSE;

  for (guint i = 0; lines[i] != NULL && n < max_frames; i++)
    {
      const char *l = g_strstrip (lines[i]);
      const char *in;
      if (strstr (l, "ERROR: AddressSanitizer") || strstr (l, "runtime error:"))
        {
          in_report = TRUE;
          g_string_append_printf (out, "%s\n", l);
          continue;
        }
      if (!in_report || l[0] != '#' || (in = strstr (l, " in ")) == NULL)
        continue;
      if (strstr (in, "__asan") || strstr (in, "__interceptor") || strstr (in, "__sanitizer")
          || strstr (in, "__ubsan") || strstr (in, "libasan") || strstr (in, "libubsan"))
        continue;
      g_string_append_printf (out, "  %s\n", in + 4);
      n++;
      if (strstr (l, "==ABORTING") != NULL)
        break;
    }
  return g_string_free (out, FALSE);
}

static char *self_exe;

/* Re-runs the input under gdb and returns the backtrace. */
static char *
gdb_stack_top (const char *input, guint timeout)
{
  g_autofree char *out = NULL;
  g_autofree char *timeout_s = g_strdup_printf ("%u", timeout);
  const char *argv[] = {
    "gdb", "-nx", "-batch", "-q",
    "-ex", "handle SIGALRM stop print nopass",
    "-ex", "run", "-ex", "bt 12",
    "--args", self_exe, "--repro", input, "--timeout", timeout_s, NULL,
  };
  g_autofree char *gdb = g_find_program_in_path ("gdb");
  GString *top;
  g_auto(GStrv) lines = NULL;

  if (gdb == NULL)
    return g_strdup ("(gdb not available)\n");
  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, NULL, NULL))
    return g_strdup ("(gdb failed)\n");
  top = g_string_new (NULL);
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] == '#' || g_str_has_prefix (lines[i], "Program received")
        || g_str_has_prefix (lines[i], "Program terminated"))
      g_string_append_printf (top, "  %s\n", lines[i]);
  return g_string_free (top, FALSE);
}

/* A signature to de-duplicate findings: the kind and the function names of
 * the first three frames. */
static char *
signature_of (Result kind, const char *stack)
{
  GString *sig = g_string_new (result_names[kind]);
  g_auto(GStrv) lines = g_strsplit (stack, "\n", -1);
  int n = 0;
  for (guint i = 0; lines[i] != NULL && n < 3; i++)
    {
      const char *l = g_strstrip (lines[i]);
      const char *in = strstr (l, " in ");
      const char *fn = in ? in + 4 : (l[0] == '#' ? NULL : l);
      if (l[0] == '#' && in == NULL)     /* gdb frame #0 without "in" */
        fn = strchr (l, ' ') ? strchr (l, ' ') + 1 : l;
      if (fn == NULL || *fn == '\0' || strstr (l, "ERROR:") || strstr (l, "Program "))
        continue;
      g_string_append_c (sig, '|');
      g_string_append_len (sig, fn, strcspn (fn, " ("));
      n++;
    }
  return g_string_free (sig, FALSE);
}

/* ------------------------------------------------------------------ */

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static void
load_seed (GPtrArray *seeds, const char *path)
{
  struct stat st;
  if (stat (path, &st) != 0)
    {
      g_printerr ("seed %s: %s\n", path, g_strerror (errno));
      return;
    }
  if (S_ISDIR (st.st_mode))
    {
      GDir *dir = g_dir_open (path, 0, NULL);
      GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
      const char *name;
      if (dir == NULL)
        return;
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_build_filename (path, name, NULL));
      g_dir_close (dir);
      /* Sorted, so the run does not depend on readdir order. */
      g_ptr_array_sort (names, compare_paths);
      for (guint i = 0; i < names->len; i++)
        {
          const char *p = g_ptr_array_index (names, i);
          if (stat (p, &st) == 0 && S_ISREG (st.st_mode))
            load_seed (seeds, p);
        }
      g_ptr_array_unref (names);
      return;
    }
  if (S_ISREG (st.st_mode) && st.st_size <= (off_t) MAX_MUTANT_BYTES)
    {
      Seed *s = g_new0 (Seed, 1);
      if (!g_file_get_contents (path, (char **) &s->data, &s->size, NULL))
        {
          g_free (s);
          return;
        }
      s->name = g_path_get_basename (path);
      g_ptr_array_add (seeds, s);
    }
}

static void
ensure_sanitizer_options (char **argv)
{
#if QS_FUZZ_ASAN
  /* Sanitizer options are read at start-up; forked children inherit them.
   * Make reports abort (a signal the parent sees); allocations past 2 GiB
   * return NULL, as they would under RLIMIT_AS without ASan, so libhdf5's
   * own NULL checks run and only g_malloc's abort (ours) counts as OOM.
   * Re-exec once to apply. */
  if (g_getenv ("QS_FUZZ_REEXEC") == NULL)
    {
      const char *asan = g_getenv ("ASAN_OPTIONS");
      const char *ubsan = g_getenv ("UBSAN_OPTIONS");
      g_autofree char *a = g_strdup_printf ("detect_leaks=0:abort_on_error=1:max_allocation_size_mb=2048:"
                                            "allocator_may_return_null=1:handle_abort=0:%s",
                                            asan ? asan : "");
      g_autofree char *u = g_strdup_printf ("halt_on_error=1:abort_on_error=1:print_stacktrace=1:%s",
                                            ubsan ? ubsan : "");
      g_setenv ("ASAN_OPTIONS", a, TRUE);
      g_setenv ("UBSAN_OPTIONS", u, TRUE);
      g_setenv ("QS_FUZZ_REEXEC", "1", TRUE);
      execv ("/proc/self/exe", argv);
      /* Fall through: run with what we have. */
    }
#else
  (void) argv;
#endif
}

int
main (int argc, char **argv)
{
  guint64 seed = 1;
  guint64 iterations = 0;
  guint seconds = 0;
  guint timeout = 5;
  g_autofree char *findings = NULL;
  g_autofree char *repro = NULL;
  g_auto(GStrv) seed_paths = NULL;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { "iterations", 0, 0, G_OPTION_ARG_INT64, &iterations, "Stop after N executions", "N" },
    { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "Stop after N seconds", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, "Per-input timeout (default 5 s)", "S" },
    { "findings", 0, 0, G_OPTION_ARG_FILENAME, &findings, "Where to save findings (default tools/fuzz/findings)", "DIR" },
    { "repro", 0, 0, G_OPTION_ARG_FILENAME, &repro, "Run the target once on FILE, in process", "FILE" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &seed_paths, NULL, "SEED..." },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("SEED-FILE-OR-DIR... - fuzz the HDF5 weight reader");
  GPtrArray *seeds;
  g_autofree char *tmpdir = NULL;
  g_autofree char *mutant_path = NULL;
  g_autofree char *log_path = NULL;
  guint64 counts[N_RESULTS] = { 0 };
  guint saved[N_RESULTS] = { 0 };
  guint gdb_runs = 0;
  GHashTable *signatures;
  gint64 start;
  guint64 n;

  ensure_sanitizer_options (argv);
  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  if (self_exe == NULL)
    self_exe = g_strdup (argv[0]);

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (timeout == 0)
    timeout = 5;

  if (repro != NULL)
    {
      child_limits (timeout);
      run_target (repro);
      return 0;
    }
  if (seed_paths == NULL)
    {
      g_printerr ("no seeds given\n");
      return 2;
    }
  if (iterations == 0 && seconds == 0)
    iterations = 1000;
  if (findings == NULL)
    findings = g_strdup ("tools/fuzz/findings");
  if (g_mkdir_with_parents (findings, 0755) != 0)
    {
      g_printerr ("%s: %s\n", findings, g_strerror (errno));
      return 2;
    }

  seeds = g_ptr_array_new ();
  for (guint i = 0; seed_paths[i] != NULL; i++)
    load_seed (seeds, seed_paths[i]);
  if (seeds->len == 0)
    {
      g_printerr ("no readable seed files\n");
      return 2;
    }

  tmpdir = g_dir_make_tmp ("qs-fuzz-XXXXXX", &error);
  if (tmpdir == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  mutant_path = g_build_filename (tmpdir, "input.h5", NULL);
  log_path = g_build_filename (tmpdir, "child.log", NULL);
  signatures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_print ("qs-fuzz-reader: %u seeds, seed %" G_GUINT64_FORMAT ", timeout %u s, %s, findings in %s\n",
           seeds->len, seed, timeout, QS_FUZZ_ASAN ? "ASan build" : "RLIMIT_AS 2 GiB", findings);

  start = g_get_monotonic_time ();
  for (n = 0; ; n++)
    {
      Rng rng;
      Seed *s;
      GByteArray *buf;
      guint n_mut;
      GString *ops = g_string_new (NULL);
      gboolean timed_out;
      int status;
      g_autofree char *log = NULL;
      Result kind;
      double elapsed = (g_get_monotonic_time () - start) / 1e6;

      if (iterations != 0 && n >= iterations)
        break;
      if (seconds != 0 && elapsed >= seconds)
        break;

      /* Every iteration has its own stream: (seed, n) reproduces it. */
      rng.s = seed * G_GUINT64_CONSTANT (0x100000001b3) ^ (n + 1) * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
      rng_next (&rng);
      s = g_ptr_array_index (seeds, rng_below (&rng, seeds->len));
      buf = g_byte_array_sized_new ((guint) s->size + 1);
      g_byte_array_append (buf, s->data, (guint) s->size);
      n_mut = 1 + (guint) rng_below (&rng, rng_below (&rng, 2) ? 2 : 8);
      for (guint m = 0; m < n_mut; m++)
        g_string_append_printf (ops, "%s%s", m ? "," : "", mutate_once (&rng, buf));

      if (!g_file_set_contents (mutant_path, (const char *) buf->data, buf->len, &error))
        {
          g_printerr ("%s\n", error->message);
          return 2;
        }

      status = run_child (mutant_path, log_path, timeout, &timed_out);
      log = read_log (log_path);
      kind = classify (status, log, timed_out);
      counts[kind]++;

      if (kind != RESULT_CLEAN && kind != RESULT_EXIT)
        {
          g_autofree char *stack = sanitizer_stack_top (log, 6);
          g_autofree char *sig = NULL;
          gboolean from_gdb = FALSE;

          if (stack[0] == '\0' && gdb_runs < MAX_GDB_RUNS)
            {
              g_free (stack);
              stack = gdb_stack_top (mutant_path, timeout);
              gdb_runs++;
              from_gdb = TRUE;
            }
          sig = signature_of (kind, stack);
          if (!g_hash_table_contains (signatures, sig) && saved[kind] < MAX_SAVED_PER_KIND)
            {
              g_autofree char *base = g_strdup_printf ("%s-%06" G_GUINT64_FORMAT "-%s", result_names[kind], n, s->name);
              g_autofree char *input_file = g_build_filename (findings, base, NULL);
              g_autofree char *note_file = g_strconcat (input_file, ".txt", NULL);
              g_autofree char *note = g_strdup_printf (
                "kind: %s\nstatus: %s %d\nseed: %" G_GUINT64_FORMAT " iteration: %" G_GUINT64_FORMAT "\n"
                "from: %s (%zu bytes) mutations: %s -> %u bytes\nsignature: %s\nstack top (%s):\n%s\n"
                "--- child output (first 4 KiB) ---\n%.4096s\n",
                result_names[kind],
                WIFSIGNALED (status) ? "signal" : "exit",
                WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status),
                seed, n, s->name, s->size, ops->str, buf->len, sig,
                from_gdb ? "gdb" : "sanitizer", stack, log);
              g_file_set_contents (input_file, (const char *) buf->data, buf->len, NULL);
              g_file_set_contents (note_file, note, -1, NULL);
              saved[kind]++;
              g_print ("[%" G_GUINT64_FORMAT "] new %s: %s (saved %s)\n", n, result_names[kind], sig, base);
            }
          g_hash_table_add (signatures, g_steal_pointer (&sig));
        }

      g_byte_array_unref (buf);
      g_string_free (ops, TRUE);

      if (n > 0 && n % 1000 == 0)
        g_print ("[%" G_GUINT64_FORMAT "] %.1f s, %.1f exec/s\n", n, elapsed, n / MAX (elapsed, 1e-3));
    }

  {
    double elapsed = (g_get_monotonic_time () - start) / 1e6;
    g_print ("summary: seed %" G_GUINT64_FORMAT ", iterations %" G_GUINT64_FORMAT ", %.1f s, %.1f exec/s;"
             " clean %" G_GUINT64_FORMAT ", exit!=0 %" G_GUINT64_FORMAT ", asan %" G_GUINT64_FORMAT
             ", ubsan %" G_GUINT64_FORMAT ", crash %" G_GUINT64_FORMAT ", abort %" G_GUINT64_FORMAT
             ", timeout %" G_GUINT64_FORMAT ", oom %" G_GUINT64_FORMAT "; unique signatures %u\n",
             seed, n, elapsed, n / MAX (elapsed, 1e-3),
             counts[RESULT_CLEAN], counts[RESULT_EXIT], counts[RESULT_ASAN], counts[RESULT_UBSAN],
             counts[RESULT_CRASH], counts[RESULT_ABORT], counts[RESULT_TIMEOUT], counts[RESULT_OOM],
             g_hash_table_size (signatures));
  }

  g_unlink (mutant_path);
  g_unlink (log_path);
  g_rmdir (tmpdir);
  return 0;
}
