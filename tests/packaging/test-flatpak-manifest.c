/* test-flatpak-manifest.c: the Flatpak manifest parses and agrees with the desktop integration files.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The manifest cannot be built here (no GNOME runtime), so this checks what a
 * typo would break: it is JSON (flatpak-builder reads it with json-glib too),
 * it names the right app id, runtime and command, the app is built last with
 * Meson from this tree, every download is pinned by a sha256, and the app id
 * and command match the .desktop and metainfo files.
 */
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#define APP_ID "io.github.quantscope.Quantscope"

static JsonObject *manifest;

static char *
source_file (const char *first,
             ...)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  const char *part;
  va_list args;

  /* G_TEST_SRCDIR is tests/packaging/; the files live two levels up. */
  g_ptr_array_add (parts, (gpointer) g_test_get_dir (G_TEST_DIST));
  g_ptr_array_add (parts, (gpointer) "..");
  g_ptr_array_add (parts, (gpointer) "..");
  va_start (args, first);
  for (part = first; part != NULL; part = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) part);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

static char *
read_source_file (const char *dir,
                  const char *name)
{
  g_autofree char *path = source_file (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static gboolean
strv_contains_member (JsonArray  *array,
                      const char *value)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_array_get_string_element (array, i), value) == 0)
      return TRUE;
  return FALSE;
}

static JsonObject *
find_module (const char *name)
{
  JsonArray *modules = json_object_get_array_member (manifest, "modules");

  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonNode *node = json_array_get_element (modules, i);

      /* A module may also be a path to a separate JSON file. */
      if (JSON_NODE_HOLDS_OBJECT (node)
          && g_strcmp0 (json_object_get_string_member (json_node_get_object (node), "name"), name) == 0)
        return json_node_get_object (node);
    }
  return NULL;
}

static void
test_identity (void)
{
  g_assert_cmpstr (json_object_get_string_member (manifest, "id"), ==, APP_ID);
  g_assert_cmpstr (json_object_get_string_member (manifest, "command"), ==, "quantscope");
  g_assert_cmpstr (json_object_get_string_member (manifest, "runtime"), ==, "org.gnome.Platform");
  g_assert_cmpstr (json_object_get_string_member (manifest, "sdk"), ==, "org.gnome.Sdk");
  g_assert_true (json_object_has_member (manifest, "runtime-version"));
  g_assert_cmpstr (json_object_get_string_member (manifest, "runtime-version"), !=, "");
}

static void
test_finish_args (void)
{
  JsonArray *args = json_object_get_array_member (manifest, "finish-args");

  g_assert_nonnull (args);
  g_assert_true (strv_contains_member (args, "--socket=wayland"));
  g_assert_true (strv_contains_member (args, "--socket=fallback-x11"));
  g_assert_true (strv_contains_member (args, "--share=ipc"));
  /* fallback-x11 and x11 together would always grant X11. */
  g_assert_false (strv_contains_member (args, "--socket=x11"));
  /* Quantscope never talks to the network. */
  g_assert_false (strv_contains_member (args, "--share=network"));
}

static void
test_modules (void)
{
  JsonArray *modules = json_object_get_array_member (manifest, "modules");
  guint n = json_array_get_length (modules);
  JsonObject *app;
  JsonArray *sources;
  JsonObject *source;

  g_assert_nonnull (find_module ("hdf5"));
  g_assert_nonnull (find_module ("json-glib"));

  /* The app is built last, with Meson, from this source tree. */
  g_assert_cmpuint (n, >=, 3);
  app = json_array_get_object_element (modules, n - 1);
  g_assert_nonnull (app);
  g_assert_cmpstr (json_object_get_string_member (app, "name"), ==, "quantscope");
  g_assert_cmpstr (json_object_get_string_member (app, "buildsystem"), ==, "meson");
  sources = json_object_get_array_member (app, "sources");
  g_assert_cmpuint (json_array_get_length (sources), ==, 1);
  source = json_array_get_object_element (sources, 0);
  g_assert_cmpstr (json_object_get_string_member (source, "type"), ==, "dir");
  g_assert_cmpstr (json_object_get_string_member (source, "path"), ==, "..");
}

static void
test_sources_pinned (void)
{
  JsonArray *modules = json_object_get_array_member (manifest, "modules");
  guint archives = 0;

  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonObject *module = json_array_get_object_element (modules, i);
      JsonArray *sources = json_object_get_array_member (module, "sources");

      for (guint j = 0; j < json_array_get_length (sources); j++)
        {
          JsonObject *source = json_array_get_object_element (sources, j);
          const char *type = json_object_get_string_member (source, "type");
          const char *sha256;

          if (g_strcmp0 (type, "archive") != 0 && g_strcmp0 (type, "file") != 0)
            continue;
          archives++;
          g_assert_true (g_str_has_prefix (json_object_get_string_member (source, "url"), "https://"));
          g_assert_true (json_object_has_member (source, "sha256"));
          sha256 = json_object_get_string_member (source, "sha256");
          g_assert_cmpuint (strlen (sha256), ==, 64);
          g_assert_cmpuint (strspn (sha256, "0123456789abcdef"), ==, 64);
        }
    }
  g_assert_cmpuint (archives, >=, 2);
}

static void
test_matches_desktop_files (void)
{
  g_autofree char *desktop = read_source_file ("data", APP_ID ".desktop.in");
  g_autofree char *metainfo = read_source_file ("data", APP_ID ".metainfo.xml.in");
  const char *command = json_object_get_string_member (manifest, "command");
  g_autofree char *exec_line = g_strdup_printf ("\nExec=%s ", command);
  g_autofree char *binary = g_strdup_printf ("<binary>%s</binary>", command);

  g_assert_nonnull (strstr (desktop, exec_line));
  g_assert_nonnull (strstr (desktop, "\nIcon=" APP_ID "\n"));
  g_assert_nonnull (strstr (metainfo, "<id>" APP_ID "</id>"));
  g_assert_nonnull (strstr (metainfo, "<launchable type=\"desktop-id\">" APP_ID ".desktop</launchable>"));
  g_assert_nonnull (strstr (metainfo, binary));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  path = source_file ("flatpak", APP_ID ".json", NULL);
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  manifest = json_node_get_object (json_parser_get_root (parser));

  g_test_add_func ("/flatpak-manifest/identity", test_identity);
  g_test_add_func ("/flatpak-manifest/finish-args", test_finish_args);
  g_test_add_func ("/flatpak-manifest/modules", test_modules);
  g_test_add_func ("/flatpak-manifest/sources-pinned", test_sources_pinned);
  g_test_add_func ("/flatpak-manifest/matches-desktop-files", test_matches_desktop_files);

  status = g_test_run ();
  manifest = NULL;
  return status;
}
