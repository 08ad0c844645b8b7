/* qs-cli.h: what the quantscope-cli subcommands share.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "model/qs-scheme-file.h"
#include "model/qs-dataset.h"
#include "model/qs-image-folder.h"
#include "model/qs-weight-file.h"
#include "quant/qs-scheme.h"

G_BEGIN_DECLS

/* Exit status for bad input of any kind: a missing or unreadable file, an
 * unknown tensor, a bad option. One line on stderr says which. */
#define QS_CLI_EXIT_BAD_INPUT 2

typedef struct {
  const char *name;
  const char *summary;
  int       (*run) (int argc, char **argv);
} QsCliCommand;

int qs_cli_layers (int argc, char **argv);
int qs_cli_stats  (int argc, char **argv);
int qs_cli_eval   (int argc, char **argv);
int qs_cli_export (int argc, char **argv);
int qs_cli_number (int argc, char **argv);
int qs_cli_plot   (int argc, char **argv);
int qs_cli_report (int argc, char **argv);
int qs_cli_compare (int argc, char **argv);
int qs_cli_sensitivity (int argc, char **argv);
int qs_cli_mixed (int argc, char **argv);

/* Prints "quantscope-cli: MESSAGE" on stderr and returns the bad-input
 * exit status, so callers can `return qs_cli_fail (error)`. */
int qs_cli_fail         (const GError *error);
int qs_cli_fail_message (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* A crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT), inside libhdf5 on a
 * damaged file say, ends the process with one line on stderr naming the
 * file last opened and the bad-input exit status, not a signal. Handled
 * on an alternate stack; a SIGBUS the streaming reader's mapping guard
 * (qs-mapped-window.c, installed later) does not claim is passed on to
 * it. Not installed under AddressSanitizer, which reports crashes itself:
 * FALSE then. Called once, first thing in main(). */
gboolean qs_cli_crash_guard_install (void);

/* How long opening a file (reading its metadata) may take before the
 * process gives up: $QUANTSCOPE_OPEN_TIMEOUT seconds, else this. */
#define QS_CLI_OPEN_TIMEOUT_S 60

/* A watchdog for reading @filename's metadata: if qs_cli_watchdog_stop()
 * does not come within the open timeout (libhdf5 looping on a damaged
 * file), the process ends with one line on stderr and the bad-input exit
 * status instead of hanging. */
void          qs_cli_watchdog_start (const char *filename);
/* The same, with time to read @bytes more at the slowest expected speed. */
void          qs_cli_watchdog_start_reading (const char *filename,
                                             guint64     bytes);
void          qs_cli_watchdog_stop  (void);

/* qs_dataset_load() under the watchdog (time allowed for the file's size),
 * a crash naming @path. */
QsDataset    *qs_cli_load_dataset (const char  *path,
                                   GError     **error);

/* What a data set is loaded for: a folder of images is decoded, resized
 * and preprocessed to the model's input (qs-image-folder.h). */
typedef struct {
  int          height, width, channels;
  QsPreprocess preprocess;      /* resolved: not QS_PREPROCESS_AUTO */
  guint64      memory_budget;   /* 0: the default */
  gboolean     channels_first;  /* the model's input is (C, H, W): an HDF5 "x" may be N x C x H x W */
} QsCliDataFor;

/* A folder through qs_dataset_open_image_folder() for @data_for (its
 * images decoded by qs_dataset_decode_range() as a run needs them), any
 * other path as qs_cli_load_dataset() loads it, through
 * qs_dataset_load_for_input() for @data_for. */
QsDataset    *qs_cli_load_data_for (const char          *path,
                                    const QsCliDataFor  *data_for,
                                    GError             **error);

/* qs_weight_file_open_full() under the watchdog. */
QsWeightFile *qs_cli_open_weights (const char         *filename,
                                   QsWeightFileFlags   flags,
                                   GError            **error);

/* The slowest reading `layers --check-data` is given time for, on top of
 * the open timeout: every value of the file is read once (the app's file
 * scan runs it, with a time limit of its own on the same scale). */
#define QS_CLI_CHECK_DATA_MIN_BYTES_PER_S (G_GUINT64_CONSTANT (50) * 1000 * 1000)

/* The scheme options every quantizing subcommand takes. */
typedef struct {
  int    bits;
  char  *mapping;
  gboolean is_unsigned;
  gboolean narrow;
  gboolean full_range;  /* --full-range: not narrow, even when symmetric and signed */
  char  *granularity;
  char  *axis;
  char  *range;
  gboolean no_zero_nudge;
  char  *rounding;
  char  *format;
  int    bins;
  char  *hist_range;
  int    threads;
  int    group_size;
} QsCliSchemeOptions;

GOptionGroup *qs_cli_scheme_option_group (QsCliSchemeOptions *options);
/* Turns the parsed options into a scheme; FALSE with @error (QS_ERROR_INVALID)
 * naming the bad option. */
gboolean      qs_cli_scheme_from_options (const QsCliSchemeOptions *options,
                                          QsScheme                 *scheme,
                                          GError                  **error);
void          qs_cli_scheme_options_clear (QsCliSchemeOptions *options);
/* Whether any scheme option differs from its default: they cannot be
 * combined with a scheme file, which says everything itself. */
gboolean      qs_cli_scheme_options_given (const QsCliSchemeOptions *options);
/* The schemes a command applies: @scheme_file's, or the scheme options'
 * with the default skip list, as `export` resolves them; with options
 * also the scheme itself in @scheme (nullable). Errors: QS_ERROR_INVALID
 * (bad options, or options combined with a scheme file) and those of
 * qs_scheme_file_load(). */
QsSchemeSet  *qs_cli_load_schemes         (const char               *scheme_file,
                                           const QsCliSchemeOptions *options,
                                           QsScheme                 *scheme,
                                           GError                  **error);
/* The scheme @schemes resolves for the tensor at @path: FALSE with @error
 * when the file has no such tensor (QS_ERROR_NOT_FOUND) or the set keeps
 * it in float32 (QS_ERROR_INVALID). */
gboolean      qs_cli_tensor_scheme        (QsWeightFile             *file,
                                           const char               *path,
                                           const QsSchemeSet        *schemes,
                                           QsScheme                 *scheme,
                                           GError                  **error);

/* Parses argv with @context; on failure prints the one-line error. */
gboolean      qs_cli_parse (GOptionContext  *context,
                            int             *argc,
                            char          ***argv,
                            int             *exit_status);

/* @text (a name from a file, a path) with control characters escaped
 * (qs_text_escape_controls()): what every text output and error line
 * prints in place of a name, so a file cannot move the cursor or retitle
 * the terminal. @text itself when nothing needs escaping, else a copy the
 * CLI keeps until it exits (transfer none). */
const char   *qs_cli_safe (const char *text);

/* Terminal columns @text takes: East Asian wide characters (Korean
 * headers, names from the file) take two. @text is valid UTF-8 (escaped). */
gsize         qs_cli_text_columns (const char *text);

/* Appends @text, then spaces up to @columns terminal columns: printf's
 * "%-24s" counts bytes and misaligns every column after a Korean word. */
void          qs_cli_append_padded (GString    *out,
                                    const char *text,
                                    gsize       columns);
/* The same, right-aligned: spaces first. */
void          qs_cli_append_right  (GString    *out,
                                    const char *text,
                                    gsize       columns);

/* Writes the JSON text and a newline to stdout in one piece. */
void          qs_cli_print_json (const char *json);
/* The same for a document, pretty-printed. */
void          qs_cli_print_json_node (JsonNode *root);

G_END_DECLS
