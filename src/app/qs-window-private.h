/* qs-window-private.h: QsWindow's state, shared by the files that implement it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "app/qs-window.h"

#include "app/qs-accuracy-job.h"
#include "app/qs-block-inspector.h"
#include "app/qs-channel-range-view.h"
#include "app/qs-histogram-view.h"
#include "app/qs-job-service.h"
#include "app/qs-number-panel.h"
#include "app/qs-results-panel.h"
#include "app/qs-scheme-panel.h"
#include "model/qs-export.h"
#include "model/qs-scheme-file.h"

G_BEGIN_DECLS

struct _QsWindow
{
  AdwApplicationWindow parent_instance;

  /* Template widgets */
  AdwWindowTitle     *window_title;
  AdwToastOverlay    *toast_overlay;
  AdwFlap            *flap;
  GtkSearchEntry     *search_entry;
  GtkListView        *tensor_list;
  GtkStack           *main_stack;
  GtkLabel           *tensor_label;
  GtkWidget          *channel_box;
  GtkAdjustment      *channel_adjustment;
  QsHistogramView    *histogram_view;
  QsChannelRangeView *channel_view;
  QsSchemePanel      *scheme_panel;
  QsResultsPanel     *results_panel;
  GtkBox             *panels_box;
  GMenu              *recent_section;

  /* Owned */
  QsDocument         *document;
  QsJobService       *jobs;             /* every computation the window shows */
  QsAccuracyJob      *accuracy;
  GtkCustomFilter    *filter;
  GtkCustomSorter    *sorter;           /* natural name order, or worst SQNR first */
  GtkSingleSelection *selection;
  GSettings          *settings;         /* NULL when the schema is not installed */
  GCancellable       *open_cancellable;
  guint               resort_idle_id;
  guint               scroll_tick_id;   /* the sidebar scrolls to the selection */
  GArray             *latencies;        /* gint64 usec from a change to its result */
  GtkWindow          *number_window;    /* the number inspector, NULL until opened */
  QsNumberPanel      *number_panel;     /* its content */
  GtkWindow          *block_window;     /* the block inspector, NULL until opened */
  QsBlockInspector   *block_inspector;  /* its content */

  char               *last_error_details; /* of the last file that failed to open */
  int                 shown_channel;
  gboolean            applying_controls; /* the controls' own change is being applied */
  gboolean            dragging_range;    /* a clip handle drag: one undo step */
  gboolean            sort_by_sqnr;
};

/* qs-window.c */
void  _qs_window_set_document       (QsWindow   *self,
                                     QsDocument *document);
void  _qs_window_clear_results      (QsWindow   *self,
                                     const char *message);
char *_qs_window_badge_text         (const QsTensorReport *report);

/* A loaded scheme file's set becomes the document's, one undo step. */
void  _qs_window_apply_schemes      (QsWindow     *self,
                                     QsSchemeSet  *schemes);

/* qs-window-actions.c */
/* The histogram on view as a PNG, SVG or PDF at @path, as Export Plot
 * writes it: refused with a toast when @path is the open model or its data. */
gboolean _qs_window_export_histogram (QsWindow   *self,
                                      const char *path);
void  _qs_window_open_failed        (QsWindow     *self,
                                     GFile        *file,
                                     const GError *error);
char *_qs_window_open_error_title   (const GError *error);
char *_qs_window_escape_mnemonic    (const char *text);
/* Where file dialogs start: beside the open document, else in the home
 * folder, never the process's working directory (transfer full). */
GFile *_qs_window_start_folder      (QsWindow *self);
void  _qs_window_sync_block_inspector (QsWindow *self);
QsBlockInspector *_qs_window_present_block_inspector (QsWindow *self);
void  _qs_window_class_install_actions (GtkWidgetClass *widget_class);
void  _qs_window_init_shortcuts     (QsWindow *self);
void  _qs_window_init_settings      (QsWindow *self);
void  _qs_window_init_file_drop     (QsWindow *self);
void  _qs_window_init_recent        (QsWindow *self);
/* The document's scheme set, remembered for its file (settings are per file). */
void  _qs_window_save_schemes       (QsWindow       *self);
/* The set last used with @document's file, or a new default one (transfer full). */
QsSchemeSet *_qs_window_saved_schemes (QsWindow     *self,
                                       QsDocument   *document);
/* Undo, redo and reset follow the document's history. */
void  _qs_window_update_history_actions (QsWindow *self);
void  _qs_window_update_model_size  (QsWindow *self);
void  _qs_window_cancel_background  (QsWindow *self);
void  _qs_window_export_to          (QsWindow       *self,
                                     const char     *path,
                                     QsExportLayout  layout);
void  _qs_window_export_set_to      (QsWindow       *self,
                                     const char     *path,
                                     QsExportLayout  layout,
                                     QsSchemeSet    *schemes);
void  _qs_window_record_latency     (QsWindow *self,
                                     gint64    requested_usec);
/* Opens (or raises) the number inspector; returns its panel (transfer none). */
QsNumberPanel *_qs_window_present_number_inspector (QsWindow *self);
/* Gives the inspector the quantizer of the tensor and channel on view. */
void  _qs_window_sync_number_panel  (QsWindow *self);

/* qs-window-jobs.c */
void  _qs_window_schedule_sweep     (QsWindow *self);
void  _qs_window_schedule_accuracy  (QsWindow *self);
/* The data chosen for the open model (transfer full; NULL: the bundled test set). */
char *_qs_window_remembered_data   (QsWindow *self);
/* Remembers @data as the open model's data in the "model-data" setting
 * (NULL: forgets it, so the bundled test set scores the model). */
void  _qs_window_remember_data     (QsWindow   *self,
                                    const char *data);
void  _qs_window_init_accuracy      (QsWindow *self);
/* Drops every request of the window and forgets the cached results. */
void  _qs_window_cancel_jobs        (QsWindow *self);

/* qs-window-views.c: the compare and overview windows. */
void  _qs_window_class_install_view_actions (GtkWidgetClass *widget_class);
/* Opens (or raises) them; NULL without a document (transfer none). */
struct _QsCompareView  *_qs_window_present_compare  (QsWindow *self);
struct _QsOverviewView *_qs_window_present_overview (QsWindow *self);
/* The compare view follows the tensor on view. */
void  _qs_window_sync_compare       (QsWindow *self);
/* The open views follow the document the window shows. */
void  _qs_window_follow_document    (QsWindow *self);
/* Compares the sets of two scheme files as A and B. */
void  _qs_window_compare_files      (QsWindow   *self,
                                     const char *path_a,
                                     const char *path_b);

G_END_DECLS
