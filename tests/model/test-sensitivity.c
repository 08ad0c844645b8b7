/* test-sensitivity.c: rank agreement on hand-worked cases, and the mixed-precision search against brute force.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include <gio/gio.h>

#include "model/qs-dataset.h"
#include "model/qs-keras-model.h"
#include "model/qs-mixed-precision.h"
#include "model/qs-sensitivity.h"

static void
test_spearman_hand_worked (void)
{
  /* y's ranks 1, 2, 3.5, 5, 3.5 (the two 7s tie): deviations from 3 are
   * -2 -1 0 1 2 and -2 -1 0.5 2 0.5, so rho = 8 / sqrt (10 * 9.5). */
  const double x[] = { 1, 2, 3, 4, 5 }, y[] = { 5, 6, 7, 8, 7 };
  const double reversed[] = { 9, 7, 5, 3, 1 };
  /* NaN pairs are left out; infinity ranks last. */
  const double xn[] = { 1, NAN, 2, 3, INFINITY }, yn[] = { 10, -4, 20, 30, 40 };
  const double constant[] = { 2, 2, 2, 2, 2 };

  g_assert_cmpfloat_with_epsilon (qs_rank_spearman (x, y, 5), 8 / sqrt (95), 1e-12);
  g_assert_cmpfloat_with_epsilon (qs_rank_spearman (x, reversed, 5), -1, 1e-12);
  g_assert_cmpfloat_with_epsilon (qs_rank_spearman (xn, yn, 5), 1, 1e-12);
  g_assert_true (isnan (qs_rank_spearman (x, constant, 5)));
  g_assert_true (isnan (qs_rank_spearman (x, y, 1)));
}

static void
test_kendall_hand_worked (void)
{
  /* Of the ten pairs, eight agree, (8, 7) disagrees and (7, 7) ties in y
   * only: tau-b = (8 - 1) / sqrt ((8 + 1 + 1) * (8 + 1 + 0)). */
  const double x[] = { 1, 2, 3, 4, 5 }, y[] = { 5, 6, 7, 8, 7 };
  const double reversed[] = { 9, 7, 5, 3, 1 };
  const double xn[] = { 1, NAN, 2, 3, INFINITY }, yn[] = { 10, -4, 20, 30, 40 };
  const double constant[] = { 2, 2, 2, 2, 2 };

  g_assert_cmpfloat_with_epsilon (qs_rank_kendall (x, y, 5), 7 / sqrt (90), 1e-12);
  g_assert_cmpfloat_with_epsilon (qs_rank_kendall (y, x, 5), 7 / sqrt (90), 1e-12);
  g_assert_cmpfloat_with_epsilon (qs_rank_kendall (x, reversed, 5), -1, 1e-12);
  g_assert_cmpfloat_with_epsilon (qs_rank_kendall (xn, yn, 5), 1, 1e-12);
  g_assert_true (isnan (qs_rank_kendall (constant, y, 5)));
  g_assert_true (isnan (qs_rank_kendall (x, y, 0)));
}

/* The demo model on the bundled data, scored on few images. */
typedef struct {
  QsWeightFile     *file;
  QsEngineModel    *model;
  QsDataset        *data;
  QsDataset        *calib;
  QsScoreSession   *session;
} Demo;

static void
demo_open (Demo              *demo,
           const QsSchemeSet *base,
           gsize              images)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data", "models", "fashion-cnn.h5", NULL);
  g_autoptr(GError) error = NULL;
  QsScoreInput input = { 0 };

  demo->file = qs_weight_file_open (path, &error);
  g_assert_no_error (error);
  demo->model = qs_keras_model_load (demo->file, &error);
  g_assert_no_error (error);
  demo->data = qs_dataset_load_bundled_test (&error);
  g_assert_no_error (error);
  demo->calib = qs_dataset_load_bundled_calibration (&error);
  g_assert_no_error (error);

  input.file = demo->file;
  input.model = demo->model;
  input.calibration = qs_dataset_get_view (demo->calib);
  input.calibration_count = 500;
  input.data = qs_dataset_get_view (demo->data);
  input.count = images;
  qs_activation_scheme_init_default (&input.activations);
  demo->session = qs_score_session_new (&input, base, &error);
  g_assert_no_error (error);
}

static void
demo_close (Demo *demo)
{
  qs_score_session_free (demo->session);
  qs_dataset_unref (demo->data);
  qs_dataset_unref (demo->calib);
  qs_engine_model_free (demo->model);
  g_object_unref (demo->file);
}

static void
count_progress_cb (guint    done,
                   guint    total,
                   gpointer user_data)
{
  guint *calls = user_data;

  g_assert_cmpuint (done, <=, total);
  (*calls)++;
}

static void
test_mixed_against_brute_force (void)
{
  /* Two small layers kept in float32 leave four to search: 3^4 assignments. */
  const char *skip[] = { "role:bias", "role:batchnorm", "/model_weights/conv2d/*",
                         "/model_weights/depthwise_conv2d/*", NULL };
  const QsPrecision candidates[] = { { QS_FORMAT_INT, 2 }, { QS_FORMAT_INT, 4 }, { QS_FORMAT_INT, 8 } };
  const double budgets[] = { 0.5, 1.5, 4 };
  g_autoptr(QsSchemeSet) defaults = qs_scheme_set_new (NULL);
  g_autoptr(QsSchemeSet) base = qs_scheme_set_with_skip (defaults, skip);
  g_autoptr(QsMixedSearch) all = NULL;
  g_autoptr(GError) error = NULL;
  guint choice[4], n_total = 81;
  gsize images = 300;
  Demo demo = { 0 };

  demo_open (&demo, base, images);
  all = qs_mixed_search_new (demo.session, base, candidates, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_mixed_search_get_n_layers (all), ==, 4);

  /* Every assignment, scored once. */
  for (guint k = 0; k < n_total; k++)
    {
      for (guint i = 0, rest = k; i < 4; i++, rest /= 3)
        choice[i] = rest % 3;
      g_assert_nonnull (qs_mixed_search_evaluate (all, choice, 0, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (qs_mixed_search_get_points (all)->len, ==, n_total);

  for (gsize b = 0; b < G_N_ELEMENTS (budgets); b++)
    {
      g_autoptr(QsMixedSearch) search = qs_mixed_search_new (demo.session, base, candidates, 3, &error);
      GPtrArray *points = qs_mixed_search_get_points (all);
      double fp32 = qs_mixed_search_get_fp32_top1 (search);
      const QsMixedPoint *found;
      guint64 optimum = G_MAXUINT64;
      guint calls = 0;

      for (guint k = 0; k < points->len; k++)
        {
          const QsMixedPoint *p = g_ptr_array_index (points, k);
          if ((fp32 - p->quant_top1) * 100 <= budgets[b] + 1e-9)
            optimum = MIN (optimum, p->size_bytes);
        }
      found = qs_mixed_search_run (search, budgets[b], count_progress_cb, &calls, &error);
      g_assert_no_error (error);
      g_assert_nonnull (found);
      g_test_message ("budget %g: found %" G_GUINT64_FORMAT " bytes at %g, optimum %" G_GUINT64_FORMAT
                      " bytes, %u evaluations", budgets[b], found->size_bytes, found->quant_top1, optimum,
                      qs_mixed_search_get_evaluations (search));
      g_assert_true (found->within_budget);
      g_assert_cmpfloat ((fp32 - found->quant_top1) * 100, <=, budgets[b] + 1e-9);
      /* The point it reports is the one brute force scored for that assignment. */
      {
        const QsMixedPoint *same = qs_mixed_search_evaluate (all, found->choice, budgets[b], &error);

        g_assert_cmpuint (same->correct, ==, found->correct);
        g_assert_cmpuint (same->size_bytes, ==, found->size_bytes);
      }
      g_assert_cmpuint (optimum, !=, G_MAXUINT64);
      g_assert_cmpfloat ((double) found->size_bytes, <=, 1.05 * (double) optimum);
      /* Fewer evaluations than brute force, and progress after each but the first. */
      g_assert_cmpuint (qs_mixed_search_get_evaluations (search) + qs_mixed_search_get_pricing_evaluations (search),
                        <, n_total);
      g_assert_cmpuint (qs_mixed_search_get_pricing_evaluations (search), ==, 4 * 3);
      g_assert_cmpuint (qs_mixed_search_get_pricing_images (search), ==, images);
      g_assert_cmpuint (calls, ==, qs_mixed_search_get_pricing_evaluations (search)
                                   + qs_mixed_search_get_evaluations (search) - 1);
    }
  demo_close (&demo);
}

static void
count_estimate_cb (const QsSensitivity *estimate,
                   gpointer             user_data)
{
  gsize *images = user_data;

  g_assert_true (estimate->estimate);
  *images = estimate->images;
}

static void
assert_same_counts (const QsSensitivity *once,
                    const QsSensitivity *split)
{
  g_assert_cmpuint (once->layers->len, ==, split->layers->len);
  g_assert_cmpuint (once->all_quant_correct, ==, split->all_quant_correct);
  g_assert_cmpuint (once->float_weights_correct, ==, split->float_weights_correct);
  for (guint i = 0; i < once->layers->len; i++)
    {
      const QsLayerSensitivity *a = &g_array_index (once->layers, QsLayerSensitivity, i);
      const QsLayerSensitivity *b = &g_array_index (split->layers, QsLayerSensitivity, i);

      g_assert_cmpuint (a->alone_correct, ==, b->alone_correct);
      g_assert_cmpuint (a->kept_float_correct, ==, b->kept_float_correct);
      g_assert_cmpfloat (a->weight_sqnr_db, ==, b->weight_sqnr_db);
      g_assert_cmpfloat (a->output_sqnr_db, ==, b->output_sqnr_db);
    }
}

static void
test_sensitivity_estimate_adds_up (void)
{
  g_autoptr(QsSchemeSet) base = qs_scheme_set_new (NULL);
  g_autoptr(QsSensitivity) once = NULL, split = NULL, timed = NULL;
  g_autoptr(GError) error = NULL;
  gsize estimate_images = 0;
  Demo demo = { 0 };

  demo_open (&demo, base, 200);
  once = qs_sensitivity_compute (demo.session, base, 0, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  split = qs_sensitivity_compute (demo.session, base, 50, 0, count_estimate_cb, NULL, &estimate_images, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (estimate_images, ==, 50);
  assert_same_counts (once, split);
  /* A time no run fits in: the estimate is on the images that measured
   * the speed, and the parts still add up. */
  estimate_images = 0;
  timed = qs_sensitivity_compute (demo.session, base, 0, 1e-9, count_estimate_cb, NULL, &estimate_images, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (estimate_images, >, 0);
  g_assert_cmpuint (estimate_images, <, 200);
  g_assert_false (timed->estimate);
  g_assert_cmpfloat (timed->seconds, >, 0);
  assert_same_counts (once, timed);
  demo_close (&demo);
}

static void
test_sensitivity_proxies_first (void)
{
  g_autoptr(QsSchemeSet) base = qs_scheme_set_new (NULL);
  g_autoptr(QsSensitivity) proxies = NULL, measured = NULL;
  g_autoptr(GError) error = NULL;
  Demo demo = { 0 };
  guint evaluations;

  demo_open (&demo, base, 100);
  evaluations = qs_score_session_get_evaluations (demo.session);
  proxies = qs_sensitivity_proxies (demo.session, base, &error);
  g_assert_no_error (error);
  /* No image scored: no evaluation, top-1 unknown. */
  g_assert_cmpuint (qs_score_session_get_evaluations (demo.session), ==, evaluations);
  g_assert_cmpuint (proxies->evaluations, ==, 0);
  g_assert_true (proxies->estimate);
  g_assert_true (isnan (proxies->all_quant_top1));
  measured = qs_sensitivity_compute (demo.session, base, 0, 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (proxies->layers->len, ==, measured->layers->len);
  g_assert_cmpuint (proxies->layers->len, >, 0);
  for (guint i = 0; i < proxies->layers->len; i++)
    {
      const QsLayerSensitivity *a = &g_array_index (proxies->layers, QsLayerSensitivity, i);
      const QsLayerSensitivity *b = &g_array_index (measured->layers, QsLayerSensitivity, i);

      /* The same layers with the weight SQNR the measurement reports. */
      g_assert_cmpstr (a->tensor, ==, b->tensor);
      g_assert_cmpfloat (a->weight_sqnr_db, ==, b->weight_sqnr_db);
      g_assert_true (isnan (a->alone_top1) && isnan (a->kept_float_top1) && isnan (a->output_sqnr_db));
    }
  demo_close (&demo);
}

static void
raise_cancel_cb (guint    done,
                 guint    total,
                 gpointer user_data)
{
  atomic_store ((atomic_int *) user_data, 1);
}

static void
test_sensitivity_cancel (void)
{
  g_autoptr(QsSchemeSet) base = qs_scheme_set_new (NULL);
  g_autoptr(QsSensitivity) result = NULL;
  g_autoptr(GError) error = NULL;
  atomic_int cancel = 0;
  Demo demo = { 0 };
  QsScoreInput input;

  demo_open (&demo, base, 200);
  /* A session made with the flag: raised after the first set is scored. */
  input = *qs_score_session_get_input (demo.session);
  input.cancel = &cancel;
  qs_score_session_free (demo.session);
  demo.session = qs_score_session_new (&input, base, &error);
  g_assert_no_error (error);
  result = qs_sensitivity_compute (demo.session, base, 0, 0, NULL, raise_cancel_cb, &cancel, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* The first set, and the second at most, stopped within a batch. */
  g_assert_cmpuint (qs_score_session_get_evaluations (demo.session), <=, 2);
  demo_close (&demo);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sensitivity/spearman", test_spearman_hand_worked);
  g_test_add_func ("/sensitivity/kendall", test_kendall_hand_worked);
  g_test_add_func ("/sensitivity/estimate-adds-up", test_sensitivity_estimate_adds_up);
  g_test_add_func ("/sensitivity/proxies-first", test_sensitivity_proxies_first);
  g_test_add_func ("/sensitivity/cancel", test_sensitivity_cancel);
  g_test_add_func ("/mixed/against-brute-force", test_mixed_against_brute_force);
  return g_test_run ();
}
