/* qs-cli-common.c: option parsing, errors and output shared by the subcommands.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "cli/qs-cli.h"
#include "model/qs-error.h"
#include "model/qs-json.h"
#include "model/qs-text.h"

const char *
qs_cli_safe (const char *text)
{
  /* A CLI run prints each name once or twice: keeping the copies until
   * exit is simpler than freeing each after its printf. */
  static GStringChunk *copies;
  g_autofree char *escaped = NULL;

  if (!qs_text_needs_escape (text))
    return text;
  if (copies == NULL)
    copies = g_string_chunk_new (256);
  escaped = qs_text_escape_controls (text);
  return g_string_chunk_insert (copies, escaped);
}

gsize
qs_cli_text_columns (const char *text)
{
  gsize columns = 0;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iszerowidth (c))
        continue;
      columns += g_unichar_iswide (c) ? 2 : 1;
    }
  return columns;
}

void
qs_cli_append_padded (GString    *out,
                      const char *text,
                      gsize       columns)
{
  gsize used = qs_cli_text_columns (text);

  g_string_append (out, text);
  for (; used < columns; used++)
    g_string_append_c (out, ' ');
}

void
qs_cli_append_right (GString    *out,
                     const char *text,
                     gsize       columns)
{
  for (gsize used = qs_cli_text_columns (text); used < columns; used++)
    g_string_append_c (out, ' ');
  g_string_append (out, text);
}

int
qs_cli_fail (const GError *error)
{
  g_autofree char *line = g_strdup (error->message);
  g_autofree char *safe = NULL;

  /* One line, always: multi-line library messages are folded; the names
   * they quote from the file are escaped. */
  g_strdelimit (line, "\n\r", ' ');
  safe = qs_text_escape_controls (line);
  fprintf (stderr, "quantscope-cli: %s\n", safe);
  return QS_CLI_EXIT_BAD_INPUT;
}

int
qs_cli_fail_message (const char *format,
                     ...)
{
  g_autoptr(GError) error = NULL;
  va_list args;

  va_start (args, format);
  error = g_error_new_valist (QS_ERROR, QS_ERROR_INVALID, format, args);
  va_end (args);
  return qs_cli_fail (error);
}

gboolean
qs_cli_parse (GOptionContext  *context,
              int             *argc,
              char          ***argv,
              int             *exit_status)
{
  g_autoptr(GError) error = NULL;

  if (g_option_context_parse (context, argc, argv, &error))
    return TRUE;
  *exit_status = qs_cli_fail (error);
  return FALSE;
}

/* What the watchdog prints: formatted before it is armed, since a signal
 * handler may only write(). */
static char watchdog_message[1024];
static size_t watchdog_length;

static void
watchdog_cb (int signum)
{
  ssize_t written = write (STDERR_FILENO, watchdog_message, watchdog_length);

  (void) written;
  _exit (QS_CLI_EXIT_BAD_INPUT);
}

static unsigned int
open_timeout_seconds (void)
{
  const char *text = g_getenv ("QUANTSCOPE_OPEN_TIMEOUT");
  guint64 seconds;

  if (text != NULL && g_ascii_string_to_unsigned (text, 10, 1, 3600, &seconds, NULL))
    return (unsigned int) seconds;
  return QS_CLI_OPEN_TIMEOUT_S;
}

static struct sigaction previous_alarm;

/* ---- the crash guard ------------------------------------------------------ */

/* AddressSanitizer installs its own handlers for these signals and reports
 * the crash itself: the guard stays out of its way. */
#if defined(__SANITIZE_ADDRESS__)
# define QS_CLI_UNDER_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define QS_CLI_UNDER_ASAN 1
# endif
#endif

/* Formatted beforehand, as the watchdog's: the handler may only write(). */
static char crash_message[1024];
static size_t crash_length;

static void
set_crash_message (const char *filename)
{
  g_autofree char *name = filename != NULL ? g_filename_display_name (filename) : NULL;
  g_autofree char *display = name != NULL ? qs_text_escape_controls (name) : NULL;
  int length;

  if (display != NULL)
    length = g_snprintf (crash_message, sizeof crash_message,
                         _("quantscope-cli: crashed while reading “%s”: a damaged file can crash libhdf5\n"),
                         display);
  else
    length = g_snprintf (crash_message, sizeof crash_message,
                         _("quantscope-cli: crashed: a damaged input file can crash libhdf5\n"));
  crash_length = MIN ((size_t) length, sizeof crash_message - 1);
}

#ifndef QS_CLI_UNDER_ASAN
static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

static void
crash_cb (int signum)
{
  ssize_t written = write (STDERR_FILENO, crash_message, crash_length);

  (void) written;
  _exit (QS_CLI_EXIT_BAD_INPUT);
}

/* libhdf5 is built with the stack protector: a damaged file that makes it
 * overrun a stack buffer ends in this call, which glibc's version answers
 * with its own "*** stack smashing detected ***" line and an abort. This
 * definition, in the executable, takes precedence for every library: the
 * same one line and exit status as any other crash. */
void __stack_chk_fail (void) G_GNUC_NORETURN;

void
__stack_chk_fail (void)
{
  crash_cb (SIGABRT);
  _exit (QS_CLI_EXIT_BAD_INPUT);
}
#endif

gboolean
qs_cli_crash_guard_install (void)
{
#ifdef QS_CLI_UNDER_ASAN
  return FALSE;
#else
  /* Its own stack: a crash may come from a stack libhdf5 overflowed. */
  static char alternate[65536];
  stack_t stack = { 0 };
  struct sigaction action = { 0 };

  set_crash_message (NULL);
  stack.ss_sp = alternate;
  stack.ss_size = sizeof alternate;
  if (sigaltstack (&stack, NULL) != 0)
    return FALSE;
  action.sa_handler = crash_cb;
  action.sa_flags = SA_ONSTACK;
  sigemptyset (&action.sa_mask);
  for (gsize i = 0; i < G_N_ELEMENTS (crash_signals); i++)
    if (sigaction (crash_signals[i], &action, NULL) != 0)
      return FALSE;
  return TRUE;
#endif
}

void
qs_cli_watchdog_start (const char *filename)
{
  qs_cli_watchdog_start_reading (filename, 0);
}

void
qs_cli_watchdog_start_reading (const char *filename,
                               guint64     bytes)
{
  g_autofree char *name = g_filename_display_name (filename);
  g_autofree char *display = qs_text_escape_controls (name);
  unsigned int timeout = open_timeout_seconds ()
                         + (unsigned int) MIN (bytes / QS_CLI_CHECK_DATA_MIN_BYTES_PER_S, 86400);
  struct sigaction action = { 0 };
  int length;

  set_crash_message (filename);

  /* Some damaged files make libhdf5 loop forever (tests/fuzz/README.md);
   * nothing stops it from the outside, so past the timeout the process
   * ends with the usual one-line error. A sound file lists in well under
   * a second, even with 10,000 tensors. */
  length = g_snprintf (watchdog_message, sizeof watchdog_message,
                       "quantscope-cli: reading “%s” took longer than %u s: a damaged file "
                       "can make libhdf5 loop forever (QUANTSCOPE_OPEN_TIMEOUT sets the limit)\n",
                       display, timeout);
  watchdog_length = MIN ((size_t) length, sizeof watchdog_message - 1);
  action.sa_handler = watchdog_cb;
  sigemptyset (&action.sa_mask);
  sigaction (SIGALRM, &action, &previous_alarm);
  alarm (timeout);
}

void
qs_cli_watchdog_stop (void)
{
  alarm (0);
  sigaction (SIGALRM, &previous_alarm, NULL);
}

static QsDataset *
load_dataset (const char          *path,
              const QsCliDataFor  *data_for,
              GError             **error)
{
  GStatBuf st;
  QsDataset *dataset;

  /* An HDF5 image set goes through libhdf5 too: the same watchdog, with
   * time to read the whole file, and the crash line naming it. */
  qs_cli_watchdog_start_reading (path, g_stat (path, &st) == 0 ? (guint64) st.st_size : 0);
  if (data_for != NULL)
    dataset = qs_dataset_load_for_input (path, data_for->height, data_for->width, data_for->channels,
                                         data_for->channels_first, error);
  else
    dataset = qs_dataset_load (path, error);
  qs_cli_watchdog_stop ();
  return dataset;
}

QsDataset *
qs_cli_load_dataset (const char  *path,
                     GError     **error)
{
  return load_dataset (path, NULL, error);
}

QsDataset *
qs_cli_load_data_for (const char          *path,
                      const QsCliDataFor  *data_for,
                      GError             **error)
{
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return load_dataset (path, data_for, error);
  return qs_dataset_open_image_folder (path, data_for->height, data_for->width, data_for->channels,
                                       data_for->preprocess, data_for->memory_budget, error);
}

QsWeightFile *
qs_cli_open_weights (const char         *filename,
                     QsWeightFileFlags   flags,
                     GError            **error)
{
  QsWeightFile *file;

  qs_cli_watchdog_start (filename);
  file = qs_weight_file_open_full (filename, flags, error);
  qs_cli_watchdog_stop ();
  return file;
}

void
qs_cli_print_json (const char *json)
{
  g_autofree char *valid = g_utf8_validate (json, -1, NULL) ? NULL : qs_text_escape_invalid_json (json);
  g_autofree char *text = g_strconcat (valid != NULL ? valid : json, "\n", NULL);

  fputs (text, stdout);
  fflush (stdout);
}

void
qs_cli_print_json_node (JsonNode *root)
{
  g_autofree char *text = qs_json_to_string (root, TRUE);

  qs_cli_print_json (text);
}

GOptionGroup *
qs_cli_scheme_option_group (QsCliSchemeOptions *o)
{
  const GOptionEntry entries[] = {
    { "bits", 'b', 0, G_OPTION_ARG_INT, &o->bits, N_("Bits per code, 2 to 16 (default 8)"), "N" },
    { "mapping", 0, 0, G_OPTION_ARG_STRING, &o->mapping, N_("symmetric (default) or asymmetric"), "MAPPING" },
    { "unsigned", 0, 0, G_OPTION_ARG_NONE, &o->is_unsigned, N_("Unsigned codes [0, 2^N - 1]"), NULL },
    { "narrow", 0, 0, G_OPTION_ARG_NONE, &o->narrow, N_("Drop the lowest code (TFLite symmetric weights; the default when symmetric and signed)"), NULL },
    { "full-range", 0, 0, G_OPTION_ARG_NONE, &o->full_range, N_("Keep the lowest code: [-128, 127] for 8 bits (PyTorch's qint8)"), NULL },
    { "granularity", 'g', 0, G_OPTION_ARG_STRING, &o->granularity, N_("channel (default), tensor or group; tensor is one scale for the whole tensor (textbook int8)"), "GRANULARITY" },
    { "group-size", 0, 0, G_OPTION_ARG_INT, &o->group_size, N_("Weights per group or block along the reduction axis (default: 128 for int groups, the block format's own size)"), "G" },
    { "axis", 0, 0, G_OPTION_ARG_STRING, &o->axis, N_("Channel axis for per-channel (default: the tensor's output channels)"), "K" },
    { "range", 'r', 0, G_OPTION_ARG_STRING, &o->range, N_("minmax, percentile:P, mse, kl or manual:LO,HI"), "METHOD" },
    { "no-zero-nudge", 0, 0, G_OPTION_ARG_NONE, &o->no_zero_nudge, N_("Leave the zero point fractional (0.0 no longer exact)"), NULL },
    { "rounding", 0, 0, G_OPTION_ARG_STRING, &o->rounding, N_("even (half to even, default) or away"), "MODE" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &o->format, N_("int (default), fp16, bf16, fp8-e4m3, fp8-e5m2, or a block format: mxfp8-e4m3, mxfp8-e5m2, mxfp6-e2m3, mxfp6-e3m2, mxfp4, mxint8, nvfp4, nf4"), "FORMAT" },
    { "bins", 0, 0, G_OPTION_ARG_INT, &o->bins, N_("Histogram bins (default 256)"), "N" },
    { "hist-range", 0, 0, G_OPTION_ARG_STRING, &o->hist_range, N_("Histogram over LO,HI instead of the data range"), "LO,HI" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &o->threads, N_("Worker threads (default: all cores)"), "N" },
    { NULL }
  };
  GOptionGroup *group = g_option_group_new ("scheme", _("Quantization scheme (default: int8, symmetric, narrow, per output channel, as TFLite's weights):"),
                                            _("Show the quantization scheme options"), NULL, NULL);

  o->bits = 8;
  o->bins = QS_DEFAULT_BINS;
  o->threads = 0;
  g_option_group_add_entries (group, entries);
  g_option_group_set_translation_domain (group, GETTEXT_PACKAGE);
  return group;
}

void
qs_cli_scheme_options_clear (QsCliSchemeOptions *o)
{
  g_clear_pointer (&o->mapping, g_free);
  g_clear_pointer (&o->granularity, g_free);
  g_clear_pointer (&o->axis, g_free);
  g_clear_pointer (&o->range, g_free);
  g_clear_pointer (&o->rounding, g_free);
  g_clear_pointer (&o->format, g_free);
  g_clear_pointer (&o->hist_range, g_free);
}

gboolean
qs_cli_scheme_options_given (const QsCliSchemeOptions *o)
{
  return o->bits != 8 || o->mapping != NULL || o->is_unsigned || o->narrow || o->full_range
         || o->granularity != NULL || o->axis != NULL || o->range != NULL
         || o->no_zero_nudge || o->rounding != NULL || o->format != NULL
         || o->bins != QS_DEFAULT_BINS || o->hist_range != NULL || o->group_size != 0;
}

static gboolean
parse_pair (const char *text,
            double     *lo,
            double     *hi)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  char *end = NULL;

  if (g_strv_length (parts) != 2)
    return FALSE;
  *lo = g_ascii_strtod (parts[0], &end);
  if (end == parts[0] || *end != '\0')
    return FALSE;
  *hi = g_ascii_strtod (parts[1], &end);
  return end != parts[1] && *end == '\0';
}

static gboolean
invalid (GError    **error,
         const char *format,
         const char *value)
{
  g_set_error (error, QS_ERROR, QS_ERROR_INVALID, format, value);
  return FALSE;
}

gboolean
qs_cli_scheme_from_options (const QsCliSchemeOptions *o,
                            QsScheme                 *scheme,
                            GError                  **error)
{
  const char *problem = NULL;
  QsStatus status;

  qs_scheme_init_default (scheme);
  scheme->bits = o->bits;
  scheme->is_unsigned = o->is_unsigned;
  scheme->nudge_zero = !o->no_zero_nudge;
  scheme->bins = o->bins;

  if (o->mapping && !qs_mapping_parse (o->mapping, &scheme->mapping))
    return invalid (error, _("unknown mapping “%s” (use asymmetric or symmetric)"), o->mapping);
  if (o->granularity && !qs_granularity_parse (o->granularity, &scheme->granularity))
    return invalid (error, _("unknown granularity “%s” (use tensor, channel or group)"), o->granularity);
  if (o->rounding && !qs_rounding_parse (o->rounding, &scheme->rounding))
    return invalid (error, _("unknown rounding “%s” (use even or away)"), o->rounding);
  if (o->format && !qs_format_parse (o->format, &scheme->format))
    return invalid (error, _("unknown format “%s” (use int, fp16, bf16, fp8-e4m3, fp8-e5m2, mxfp8-e4m3, mxfp8-e5m2, mxfp6-e2m3, mxfp6-e3m2, mxfp4, mxint8, nvfp4 or nf4)"), o->format);
  if (o->range && !qs_range_method_parse (o->range, scheme))
    return invalid (error, _("bad range method “%s” (use minmax, percentile:P, mse, kl or manual:LO,HI)"), o->range);
  if (o->narrow && o->full_range)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, _("--narrow and --full-range cannot be combined"));
      return FALSE;
    }
  scheme->narrow = o->narrow || (!o->full_range && qs_scheme_default_narrow (scheme));
  if (o->axis)
    {
      gint64 axis;
      if (!g_ascii_string_to_signed (o->axis, 10, -QS_MAX_RANK, QS_MAX_RANK - 1, &axis, NULL))
        return invalid (error, _("bad axis “%s” (an integer; negative counts from the end)"), o->axis);
      scheme->axis = (int) axis;
      /* Naming an axis only makes sense per channel. */
      if (o->granularity == NULL)
        scheme->granularity = QS_GRANULARITY_CHANNEL;
    }
  if (o->hist_range)
    {
      if (!parse_pair (o->hist_range, &scheme->hist_lo, &scheme->hist_hi))
        return invalid (error, _("bad histogram range “%s” (use LO,HI)"), o->hist_range);
      scheme->has_hist_range = TRUE;
    }
  if (o->group_size != 0)
    {
      if (o->group_size < 1 || o->group_size > QS_MAX_GROUP_SIZE)
        {
          g_set_error (error, QS_ERROR, QS_ERROR_INVALID, _("--group-size must be between 1 and 65536"));
          return FALSE;
        }
      scheme->group_size = o->group_size;
      /* A group size alone asks for integer groups. */
      if (o->granularity == NULL && !qs_format_is_block (scheme->format))
        scheme->granularity = QS_GRANULARITY_GROUP;
    }
  if (o->threads < 0 || o->threads > 64)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID, _("--threads must be between 0 and 64"));
      return FALSE;
    }

  status = qs_scheme_validate (scheme, &problem);
  if (status != QS_OK)
    {
      if (scheme->range_method == QS_RANGE_MANUAL && status == QS_STATUS_BAD_RANGE
          && !scheme->has_hist_range)
        g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                     _("bad manual range %g,%g: LO must be less than HI"),
                     scheme->manual_lo, scheme->manual_hi);
      else
        g_set_error (error, QS_ERROR, QS_ERROR_INVALID, "%s", problem);
      return FALSE;
    }
  return TRUE;
}

QsSchemeSet *
qs_cli_load_schemes (const char               *scheme_file,
                     const QsCliSchemeOptions *options,
                     QsScheme                 *scheme,
                     GError                  **error)
{
  QsScheme parsed;

  if (scheme_file != NULL)
    {
      if (qs_cli_scheme_options_given (options))
        {
          g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                       _("--scheme-file and scheme options (--bits, --range, …) cannot be combined: put them in the scheme file"));
          return NULL;
        }
      return qs_scheme_set_load (scheme_file, error);
    }
  if (!qs_cli_scheme_from_options (options, scheme != NULL ? scheme : &parsed, error))
    return NULL;
  return qs_scheme_set_new (scheme != NULL ? scheme : &parsed);
}

gboolean
qs_cli_tensor_scheme (QsWeightFile      *file,
                      const char        *path,
                      const QsSchemeSet *schemes,
                      QsScheme          *scheme,
                      GError           **error)
{
  const QsTensorInfo *info = qs_weight_file_lookup (file, path);

  if (info == NULL)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_NOT_FOUND, _("no tensor “%s” in %s"),
                   path, qs_weight_file_get_filename (file));
      return FALSE;
    }
  if (!qs_scheme_set_resolve_tensor (schemes, info, scheme))
    {
      g_set_error (error, QS_ERROR, QS_ERROR_INVALID,
                   _("the scheme file keeps “%s” in float32 (its skip list, or not a float tensor)"), path);
      return FALSE;
    }
  return TRUE;
}
