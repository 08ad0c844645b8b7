/* qs-window-test-utils.c: driving a real QsWindow from a test's main loop.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "qs-window-test-utils.h"

void
qs_window_test_wait_for (gboolean (*done) (QsWindow *),
                         QsWindow  *window)
{
  gint64 deadline = g_get_monotonic_time () + QS_WINDOW_TEST_TIMEOUT_USEC;

  while (!done (window))
    {
      g_main_context_iteration (NULL, FALSE);
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for the window");
      g_usleep (1000);
    }
}

gboolean
qs_window_test_has_report (QsWindow *window)
{
  return window->document != NULL
         && qs_histogram_view_get_report (window->histogram_view) != NULL
         && !qs_job_service_is_busy (window->jobs, QS_JOB_PRIORITY_VISIBLE);
}

gboolean
qs_window_test_is_idle (QsWindow *window)
{
  return !qs_job_service_is_busy (window->jobs, QS_JOB_PRIORITY_VISIBLE);
}

QsWindow *
qs_window_test_open (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  QsWindow *window = qs_window_new (NULL);

  gtk_window_present (GTK_WINDOW (window));
  qs_window_open_file (window, file);
  qs_window_test_wait_for (qs_window_test_has_report, window);
  return window;
}

void
qs_window_test_close (QsWindow *window)
{
  /* Let queued work finish so nothing touches the window after it goes. */
  qs_window_test_wait_for (qs_window_test_is_idle, window);
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

const char *
qs_window_test_result (QsWindow    *window,
                       QsResultRow  row)
{
  return qs_results_panel_get_value (window->results_panel, row);
}

AdwPreferencesRow *
qs_window_test_scheme_row (QsWindow   *window,
                           const char *setting)
{
  AdwPreferencesRow *row = qs_scheme_panel_get_row (window->scheme_panel, setting);

  g_assert_nonnull (row);
  return row;
}

int
qs_window_test_shown_int (QsWindow   *window,
                          const char *setting)
{
  int value = 0;

  g_object_get (qs_scheme_panel_get_scheme_object (window->scheme_panel), setting, &value, NULL);
  return value;
}

void
qs_window_test_edit_int (QsWindow   *window,
                         const char *setting,
                         int         value)
{
  g_object_set (qs_scheme_panel_get_scheme_object (window->scheme_panel), setting, value, NULL);
}

GtkWidget *
qs_test_find_widget (GtkWidget    *widget,
                     gboolean    (*match) (GtkWidget     *widget,
                                           gconstpointer  data),
                     gconstpointer data)
{
  if (match (widget, data))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = qs_test_find_widget (child, match, data);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
is_of_type (GtkWidget     *widget,
            gconstpointer  type)
{
  return G_TYPE_CHECK_INSTANCE_TYPE (widget, GPOINTER_TO_SIZE (type));
}

GtkWidget *
qs_test_find_descendant (GtkWidget *widget,
                         GType      type)
{
  return qs_test_find_widget (widget, is_of_type, GSIZE_TO_POINTER (type));
}
