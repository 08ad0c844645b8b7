/* qs-application.h: the Quantscope application: windows, global actions, the demo model.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define QS_TYPE_APPLICATION (qs_application_get_type ())
G_DECLARE_FINAL_TYPE (QsApplication, qs_application, QS, APPLICATION, AdwApplication)

QsApplication *qs_application_new (void);
/* The bundled demo model (or the sample weights when it is not built in),
 * installed copy first, then the source tree (transfer full); NULL if none. */
GFile         *qs_application_get_demo_file (void);
/* Makes the application icon resolvable (from the source tree when it is
 * not installed) and the windows' default icon. */
void           qs_application_ensure_icon (void);

G_END_DECLS
