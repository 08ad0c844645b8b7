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
accuracy_outcome_cb (const QsJobOutcome *outcome,
                     gpointer            user_data)
{
  QsWindow *self = user_data;

  if (outcome->result != NULL)
    qs_results_panel_set_accuracy (self->results_panel, outcome->result);
  else
    qs_results_panel_set_accuracy_unavailable (self->results_panel, outcome->error->message);
}

/* Integer inference of the whole test set follows a change once the user
 * pauses; the evaluation in flight is cancelled at once. */
void
_qs_window_schedule_accuracy (QsWindow *self)
{
  if (self->document == NULL)
    return;
  /* The figure on show belongs to the previous model or scheme. */
  qs_results_panel_set_accuracy_pending (self->results_panel);
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
