/* test-korean.c: the real window, shown in Korean from the catalogue built in build/po.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>
#include <string.h>

#include <glib/gi18n.h>

#include "app/qs-histogram-view.h"
#include "app/qs-window-private.h"
#include "qs-window-test-utils.h"


/* The ko.po translations the window must show. */
#define KO_BITS            "비트 수"
#define KO_SCHEME          "양자화 방식"
#define KO_GRANULARITY     "양자화 단위"
#define KO_OPEN_WEIGHTS    "가중치 파일 열기"
#define KO_ZERO_POINT      "영점"

static gboolean
has_hangul (const char *text)
{
  for (const char *p = text; p != NULL && *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_get_script (g_utf8_get_char (p)) == G_UNICODE_SCRIPT_HANGUL)
      return TRUE;
  return FALSE;
}

static void
assert_hangul (const char *text)
{
  g_assert_nonnull (text);
  if (!has_hangul (text))
    g_error ("expected Korean text, got “%s”", text);
}





static void
test_catalogue_is_built (void)
{
  g_autofree char *mo = g_test_build_filename (G_TEST_BUILT, "..", "..", "po", "ko", "LC_MESSAGES",
                                               "quantscope.mo", NULL);

  g_assert_true (g_file_test (mo, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr (textdomain (NULL), ==, GETTEXT_PACKAGE);
  g_assert_cmpstr (_("Bits"), ==, KO_BITS);
  g_assert_cmpstr (_("Open a Weight File"), ==, KO_OPEN_WEIGHTS);
  assert_hangul (_("Open a Weight File"));
  /* The overview translates the model's English reasons for float32. */
  assert_hangul (_("skipped by the scheme"));
  assert_hangul (_("not floating point"));
}

static void
test_template_labels (void)
{
  QsWindow *window = qs_window_new (NULL);
  GtkWidget *group;
  GtkWidget *status_page;

  gtk_window_present (GTK_WINDOW (window));

  /* Strings that GtkBuilder translates while it builds the template. */
  g_assert_cmpstr (adw_preferences_row_get_title (qs_window_test_scheme_row (window, "bits")), ==, KO_BITS);
  g_assert_cmpstr (adw_preferences_row_get_title (qs_window_test_scheme_row (window, "granularity")), ==,
                   KO_GRANULARITY);
  assert_hangul (adw_preferences_row_get_title (qs_window_test_scheme_row (window, "mapping")));
  assert_hangul (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (qs_results_panel_get_row (window->results_panel, QS_RESULT_ACCURACY))));

  group = gtk_widget_get_ancestor (GTK_WIDGET (qs_window_test_scheme_row (window, "bits")), ADW_TYPE_PREFERENCES_GROUP);
  g_assert_nonnull (group);
  g_assert_cmpstr (adw_preferences_group_get_title (ADW_PREFERENCES_GROUP (group)), ==, KO_SCHEME);

  /* No file is open: the status page asks for one. */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->main_stack), ==, "empty");
  status_page = gtk_stack_get_child_by_name (window->main_stack, "empty");
  g_assert_true (ADW_IS_STATUS_PAGE (status_page));
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (status_page)), ==, KO_OPEN_WEIGHTS);
  assert_hangul (adw_status_page_get_description (ADW_STATUS_PAGE (status_page)));

  qs_window_test_close (window);
}

static void
test_result_labels (void)
{
  g_autofree char *path = g_build_filename (SOURCE_DATADIR, "sample-weights.h5", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  QsWindow *window = qs_window_new (NULL);
  const char *scale;

  gtk_window_present (GTK_WINDOW (window));
  qs_window_open_file (window, file);
  qs_window_test_wait_for (qs_window_test_has_report, window);

  /* Strings that the C code formats with _() once a tensor is analysed. */
  scale = qs_window_test_result (window, QS_RESULT_SCALE);
  g_assert_nonnull (strstr (scale, KO_ZERO_POINT));
  assert_hangul (adw_action_row_get_subtitle (qs_results_panel_get_row (window->results_panel, QS_RESULT_ZERO)));

  qs_window_test_close (window);
}

/* Appends the C string literal that starts at @line (after the keyword). */
static void
append_po_string (GString    *text,
                  const char *line)
{
  const char *start = strchr (line, '"');
  g_autofree char *quoted = NULL;
  g_autofree char *unquoted = NULL;

  g_assert_nonnull (start);
  quoted = g_strndup (start + 1, strlen (start + 1) - 1);
  unquoted = g_strcompress (quoted);
  g_string_append (text, unquoted);
}

/* Every translation uses the glossary at the head of ko.po: "scheme" is
 * 양자화 방식 (not the transliteration 스킴) and "layer" is 레이어 (not
 * 층), as the scheme panel and the results already say; a student who
 * reads 층 in one window and 레이어 in the next cannot tell they are one
 * thing. */
static void
test_glossary_terms (void)
{
  g_autofree char *po = g_build_filename (SOURCE_DATADIR, "..", "po", "ko.po", NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) msgid = g_string_new (NULL);
  g_autoptr(GString) msgstr = g_string_new (NULL);
  GString *current = NULL;
  guint entries = 0;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (po, &contents, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      gboolean ends = lines[i + 1] == NULL || lines[i + 1][0] == '\0' || lines[i + 1][0] == '#';

      if (g_str_has_prefix (line, "msgid ") || g_str_has_prefix (line, "msgid_plural "))
        current = msgid;
      else if (g_str_has_prefix (line, "msgstr"))
        current = msgstr;
      else if (line[0] != '"')
        current = NULL;
      if (current != NULL)
        append_po_string (current, line);
      if (ends && msgstr->len > 0)
        {
          g_autofree char *english = g_utf8_strdown (msgid->str, -1);

          if (strstr (english, "scheme") != NULL && strstr (msgstr->str, "스킴") != NULL)
            g_error ("“%s” says 스킴 for scheme: “%s”", msgid->str, msgstr->str);
          if (strstr (english, "layer") != NULL && strstr (msgstr->str, "층") != NULL)
            g_error ("“%s” says 층 for layer: “%s”", msgid->str, msgstr->str);
          entries++;
        }
      if (ends)
        {
          g_string_truncate (msgid, 0);
          g_string_truncate (msgstr, 0);
          current = NULL;
        }
    }
  g_assert_cmpuint (entries, >, 700);
}

int
main (int argc, char **argv)
{
  g_autofree char *podir = NULL;

  /* glibc ignores LANGUAGE only in the "C"/"POSIX" locale; C.UTF-8 (from the
   * test environment, and present even on a minimal Debian) honours it. */
  g_setenv ("LANGUAGE", "ko", TRUE);
  setlocale (LC_ALL, "");

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  /* gtk_test_init may pick its own locale: go back to the environment's,
   * and to C.UTF-8 when run by hand without LC_ALL or LANG. */
  setlocale (LC_ALL, "");
  if (g_strcmp0 (setlocale (LC_MESSAGES, NULL), "C") == 0 || g_strcmp0 (setlocale (LC_MESSAGES, NULL), "POSIX") == 0)
    setlocale (LC_ALL, "C.UTF-8");

  podir = g_test_build_filename (G_TEST_BUILT, "..", "..", "po", NULL);
  bindtextdomain (GETTEXT_PACKAGE, podir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_test_add_func ("/korean/catalogue-is-built", test_catalogue_is_built);
  g_test_add_func ("/korean/glossary-terms", test_glossary_terms);
  g_test_add_func ("/korean/template-labels", test_template_labels);
  g_test_add_func ("/korean/result-labels", test_result_labels);
  return g_test_run ();
}
