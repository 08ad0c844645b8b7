/* qs-application.c: the Quantscope application: windows, global actions, the demo model.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-application.h"

#include <glib/gi18n.h>

#include "app/qs-window.h"

struct _QsApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (QsApplication, qs_application, ADW_TYPE_APPLICATION)

#define APPLICATION_ID "io.github.quantscope.Quantscope"

GFile *
qs_application_get_demo_file (void)
{
  const char *candidates[] = {
    PKGDATADIR "/models/fashion-cnn.h5",
    SOURCE_DATADIR "/models/fashion-cnn.h5",
    PKGDATADIR "/sample-weights.h5",
    SOURCE_DATADIR "/sample-weights.h5",
  };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (g_file_test (candidates[i], G_FILE_TEST_IS_REGULAR))
      return g_file_new_for_path (candidates[i]);
  return NULL;
}

void
qs_application_ensure_icon (void)
{
  GdkDisplay *display = gdk_display_get_default ();
  GtkIconTheme *theme;

  if (display == NULL)
    return;
  theme = gtk_icon_theme_get_for_display (display);
  /* Run from the build tree (tools/bootstrap.sh run), the icon is not
   * installed yet: the source tree's icons stand in, or About shows a
   * missing image. */
  if (!gtk_icon_theme_has_icon (theme, APPLICATION_ID))
    gtk_icon_theme_add_search_path (theme, SOURCE_DATADIR "/icons");
  gtk_window_set_default_icon_name (APPLICATION_ID);
}

static QsWindow *
new_window (QsApplication *self)
{
  QsWindow *window = qs_window_new (GTK_APPLICATION (self));

  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
qs_application_activate (GApplication *application)
{
  QsApplication *self = QS_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_autoptr(GFile) demo = NULL;

  if (window != NULL)
    {
      gtk_window_present (window);
      return;
    }

  /* No file given: the demo model, so the app is useful at once. */
  window = GTK_WINDOW (new_window (self));
  demo = qs_application_get_demo_file ();
  if (demo != NULL)
    qs_window_open_file (QS_WINDOW (window), demo);
}

static void
qs_application_open (GApplication  *application,
                     GFile        **files,
                     int            n_files,
                     const char    *hint)
{
  QsApplication *self = QS_APPLICATION (application);

  for (int i = 0; i < n_files; i++)
    qs_window_open_file (new_window (self), files[i]);
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  const char *developers[] = { "Quantscope developers", NULL };

  adw_show_about_window (gtk_application_get_active_window (app),
                         "application-name", _("Quantscope"),
                         "application-icon", APPLICATION_ID,
                         "version", PACKAGE_VERSION,
                         "comments", _("See what quantization does to a neural network"),
                         "website", "https://github.com/quantscope/quantscope",
                         "developers", developers,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
qs_application_startup (GApplication *application)
{
  static const GActionEntry actions[] = {
    { .name = "about", .activate = about_action },
    { .name = "quit", .activate = quit_action },
  };
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *shortcuts_accels[] = { "<Control>question", NULL };
  const QsWindowAccel *window_accels;
  guint n_window_accels;

  G_APPLICATION_CLASS (qs_application_parent_class)->startup (application);
  qs_application_ensure_icon ();

  g_action_map_add_action_entries (G_ACTION_MAP (application), actions, G_N_ELEMENTS (actions), application);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "win.show-help-overlay", shortcuts_accels);
  window_accels = qs_window_get_accels (&n_window_accels);
  for (guint i = 0; i < n_window_accels; i++)
    {
      const char *accels[] = { window_accels[i].accel, NULL };
      gtk_application_set_accels_for_action (GTK_APPLICATION (application), window_accels[i].action, accels);
    }
}

static void
qs_application_class_init (QsApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->activate = qs_application_activate;
  app_class->open = qs_application_open;
  app_class->startup = qs_application_startup;
}

static void
qs_application_init (QsApplication *self)
{
}

QsApplication *
qs_application_new (void)
{
  /* Non-unique: each invocation is its own process, so a crash in one
   * (a hostile file) never takes another window's work with it, and tests
   * need no session bus. */
  return g_object_new (QS_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE,
                       "resource-base-path", "/io/github/quantscope/Quantscope",
                       NULL);
}
