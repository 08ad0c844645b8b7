/* main.c: quantscope, the desktop app.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>

#include <glib/gi18n.h>

#include "app/qs-application.h"

int
main (int    argc,
      char **argv)
{
  g_autoptr(QsApplication) app = NULL;

  setlocale (LC_ALL, "");
  /* QUANTSCOPE_LOCALEDIR lets an uninstalled build (tests, the screenshot
   * script) use the catalogues compiled in its build tree. */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("QUANTSCOPE_LOCALEDIR") ? g_getenv ("QUANTSCOPE_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_("Quantscope"));
  app = qs_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
