/* qs-window-jobs.c: what QsWindow asks of its job service besides the tensor on view: badges and accuracy.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "app/qs-window-private.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "app/qs-tensor-item.h"
#include "app/qs-tensor-job.h"

/* Badges are computed for every tensor after each scheme change; bigger
 * tensors show their bits only until selected, so a huge checkpoint is
 * not read whole on every click. */
#define SWEEP_MAX_ELEMENTS ((guint64) 4 << 20)
/* The badges of the other tensors follow a change once the user pauses:
 * computing them during a drag would take cores from the live view. */
#define SWEEP_SETTLE_MS 300
#define BADGE_TARGET_PREFIX "badge:"

/* ---- badges for every tensor -------------------------------------------- */

static void
badge_outcome_cb (const QsJobOutcome *outcome,
                  gpointer            user_data)
{
  QsWindow *self = user_data;
  QsTensorReport *report = outcome->result;
  g_autofree char *badge = NULL;
  QsTensorItem *item;

  if (report == NULL || self->document == NULL)
    return;
  item = qs_document_find_item (self->document, outcome->target + strlen (BADGE_TARGET_PREFIX));
  if (item == NULL)
    return;
  badge = _qs_window_badge_text (report);
  qs_tensor_item_set_badge (item, badge);
  qs_tensor_item_set_sqnr (item, report->analysis.sqnr_db);
}

/* Requests every tensor's badge under its current scheme: the service
 * keeps only the newest request per tensor, so a badge never shows an
 * older scheme's figure, and results it has seen come from its cache. */
void
_qs_window_schedule_sweep (QsWindow *self)
{
  GListModel *tensors;

  if (self->document == NULL)
    return;
  tensors = qs_document_get_tensors (self->document);
  for (guint i = 0; i < g_list_model_get_n_items (tensors); i++)
    {
      g_autoptr(QsTensorItem) item = g_list_model_get_item (tensors, i);
      const QsTensorInfo *info = qs_tensor_item_get_info (item);
      g_autofree char *target = NULL;
      QsScheme scheme;

      if (!info->quantizable)
        continue;
      target = g_strconcat (BADGE_TARGET_PREFIX, info->path, NULL);
      /* A kept-float tensor shows "float32", no badge to compute. */
      if (!qs_document_get_scheme_for (self->document, info->path, &scheme))
        {
          qs_job_service_cancel (self->jobs, target);
          continue;
        }
      if (info->count > SWEEP_MAX_ELEMENTS)
        {
          g_autofree char *bits = NULL;

          qs_job_service_cancel (self->jobs, target);
          bits = scheme.format == QS_FORMAT_INT ? g_strdup_printf (_("%d bit"), scheme.bits)
                                                : g_strdup (qs_format_to_string (scheme.format));
          qs_tensor_item_set_badge (item, bits);
          continue;
        }
      /* One thread each: the tensor on view comes first. */
      qs_tensor_job_request (self->jobs, target, QS_JOB_PRIORITY_BACKGROUND, SWEEP_SETTLE_MS, 1,
                             self->document, info, &scheme, badge_outcome_cb, self);
    }
}

/* ---- accuracy ----------------------------------------------------------- */

static void
show_accuracy (QsWindow               *self,
               const QsAccuracyResult *result)
{
  g_autofree char *value = NULL;
  g_autofree char *detail = NULL;

  if (result->unavailable != NULL)
    {
      gtk_label_set_text (self->accuracy_value, _("not available"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->accuracy_value), "dim-label");
      adw_action_row_set_subtitle (self->accuracy_row, result->unavailable);
      return;
    }

  if (isnan (result->fp32_top1))
    /* TRANSLATORS: images without labels: how often the quantized model picks the float32 model's class */
    value = g_strdup_printf (_("%.2f %% agreement"), result->quant_top1);
  else
    /* TRANSLATORS: float32 top-1 → quantized top-1 (difference in percentage points) */
    value = g_strdup_printf (_("%.2f %% → %.2f %% (%+.2f)"), result->fp32_top1, result->quant_top1,
                             result->quant_top1 - result->fp32_top1);
  gtk_label_set_text (self->accuracy_value, value);
  /* An estimate on part of the test set stays dimmed until it is final. */
  if (result->images < result->total)
    gtk_widget_add_css_class (GTK_WIDGET (self->accuracy_value), "dim-label");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->accuracy_value), "dim-label");
  if (result->images < result->total)
    detail = g_strdup_printf (_("Estimate on %u of %u test images, agreement %.1f %%…"),
                              result->images, result->total, result->agreement);
  else
    detail = g_strdup_printf (_("%u test images, agreement %.2f %%, %s kernels"),
                              result->images, result->agreement, result->kernel);
  adw_action_row_set_subtitle (self->accuracy_row, detail);
}

static void
accuracy_outcome_cb (const QsJobOutcome *outcome,
                     gpointer            user_data)
{
  QsWindow *self = user_data;

  if (outcome->result != NULL)
    show_accuracy (self, outcome->result);
  else
    {
      gtk_label_set_text (self->accuracy_value, _("not available"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->accuracy_value), "dim-label");
      adw_action_row_set_subtitle (self->accuracy_row, outcome->error->message);
    }
}

/* Integer inference of the whole test set follows a change once the user
 * pauses; the evaluation in flight is cancelled at once. */
void
_qs_window_schedule_accuracy (QsWindow *self)
{
  if (self->document == NULL)
    return;
  adw_action_row_set_subtitle (self->accuracy_row, _("Evaluating…"));
  /* The figure on show belongs to the previous model or scheme. */
  gtk_widget_add_css_class (GTK_WIDGET (self->accuracy_value), "dim-label");
  /* Each model scores the data last chosen for it. */
  if (self->settings != NULL)
    {
      g_autofree char *data = _qs_window_remembered_data (self);

      qs_accuracy_job_set_data (self->accuracy, data);
    }
  /* A scheme evaluated before is answered at once, from the cache. */
  qs_accuracy_job_request (self->accuracy, self->jobs, self->document, accuracy_outcome_cb, self);
}

void
_qs_window_init_accuracy (QsWindow *self)
{
  self->accuracy = qs_accuracy_job_new ();
  gtk_label_set_text (self->accuracy_value, "—");
}

void
_qs_window_cancel_jobs (QsWindow *self)
{
  if (self->jobs == NULL)
    return;
  qs_job_service_cancel_prefix (self->jobs, "");
  /* Keys name the document by address, which a new one may reuse. */
  qs_job_service_clear_cache (self->jobs);
}
