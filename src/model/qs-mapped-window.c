/* qs-mapped-window.c: part of a file mapped read-only, safe against the file shrinking under it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/qs-mapped-window.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/qs-error.h"

/* Windows mapped at once, process-wide: three per streamed tensor (one
 * being read, two being filled) for each tensor streamed concurrently. */
#define MAX_WINDOWS 64

/* What the signal handler reads: no locks there, so a slot is claimed
 * with a compare-and-swap on in_use, filled, and published by setting its
 * start last; the handler only looks at slots whose start is set. */
typedef struct {
  atomic_int       in_use;
  atomic_uintptr_t start;    /* page-aligned; 0 while not published */
  atomic_size_t    length;   /* page-aligned */
  atomic_int       faulted;
} GuardSlot;

static GuardSlot guard_slots[MAX_WINDOWS];
static struct sigaction previous_sigbus;

struct _QsMappedWindow {
  GuardSlot *slot;
  int        fd;        /* borrowed: the caller keeps it open until unmap */
  guint64    end;       /* the file offset just past the requested bytes */
  guint8    *base;      /* page-aligned start of the mapping */
  gsize      length;    /* page-aligned length of the mapping */
  guint8    *data;      /* the first requested byte */
  char      *name;
};

static void
sigbus_handler (int        signum,
                siginfo_t *info,
                void      *context)
{
  uintptr_t address = (uintptr_t) info->si_addr;

  /* Only a fault the kernel raised has a meaningful address: a SIGBUS sent
   * by kill() or sigqueue() (si_code <= 0) is passed on. */
  for (int i = 0; i < MAX_WINDOWS && info->si_code > 0; i++)
    {
      uintptr_t start = atomic_load (&guard_slots[i].start);
      size_t length = atomic_load (&guard_slots[i].length);

      if (start != 0 && address >= start && address - start < length)
        {
          /* Zero pages in place of the whole window: the faulting load
           * restarts and reads 0, and so does every later one; the owner
           * learns of it at unmap. mmap is a plain system call here. */
          if (mmap ((void *) start, length, PROT_READ,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
            break;
          atomic_store (&guard_slots[i].faulted, 1);
          return;
        }
    }

  /* Not ours: whoever handled SIGBUS before us (a sanitizer, say), or the
   * default action, which ends the process as it would have without us. */
  if (previous_sigbus.sa_flags & SA_SIGINFO)
    {
      if (previous_sigbus.sa_sigaction != NULL)
        {
          previous_sigbus.sa_sigaction (signum, info, context);
          return;
        }
    }
  else if (previous_sigbus.sa_handler != SIG_DFL && previous_sigbus.sa_handler != SIG_IGN)
    {
      previous_sigbus.sa_handler (signum);
      return;
    }
  signal (SIGBUS, SIG_DFL);
  raise (SIGBUS);
}

static gboolean
install_guard (void)
{
  static gsize installed = 0;
  static gboolean ok;

  if (g_once_init_enter (&installed))
    {
      struct sigaction action = { 0 };

      action.sa_sigaction = sigbus_handler;
      action.sa_flags = SA_SIGINFO | SA_RESTART;
      sigemptyset (&action.sa_mask);
      ok = sigaction (SIGBUS, &action, &previous_sigbus) == 0;
      g_once_init_leave (&installed, 1);
    }
  return ok;
}

static GuardSlot *
claim_slot (uintptr_t start,
            size_t    length)
{
  for (int i = 0; i < MAX_WINDOWS; i++)
    {
      int expected = 0;

      if (!atomic_compare_exchange_strong (&guard_slots[i].in_use, &expected, 1))
        continue;
      atomic_store (&guard_slots[i].faulted, 0);
      atomic_store (&guard_slots[i].length, length);
      atomic_store (&guard_slots[i].start, start);
      return &guard_slots[i];
    }
  return NULL;
}

QsMappedWindow *
qs_mapped_window_map (int           fd,
                      guint64       offset,
                      gsize         length,
                      const char   *name,
                      GError      **error)
{
  g_autofree QsMappedWindow *window = NULL;
  guint64 page = (guint64) sysconf (_SC_PAGESIZE);
  guint64 aligned = offset / page * page;
  struct stat st;
  void *base;

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (length > 0, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (fstat (fd, &st) != 0 || (guint64) st.st_size < offset
      || (guint64) st.st_size - offset < length)
    {
      g_set_error (error, QS_ERROR, QS_ERROR_READ,
                   "%s: the file ends before the tensor's data does (truncated?)", name);
      return NULL;
    }
  if (!install_guard ())
    {
      g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s: cannot guard a mapping: %s",
                   name, g_strerror (errno));
      return NULL;
    }

  window = g_new0 (QsMappedWindow, 1);
  window->fd = fd;
  window->end = offset + length;
  window->length = (gsize) (offset - aligned) + length;
  base = mmap (NULL, window->length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, (off_t) aligned);
  if (base == MAP_FAILED)
    {
      int saved_errno = errno;

      g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s: cannot map the file: %s",
                   name, g_strerror (saved_errno));
      return NULL;
    }
  window->base = base;
  window->data = window->base + (offset - aligned);
  window->slot = claim_slot ((uintptr_t) base, (window->length + page - 1) / page * page);
  if (window->slot == NULL)
    {
      munmap (base, window->length);
      g_set_error (error, QS_ERROR, QS_ERROR_READ, "%s: too many files mapped at once", name);
      return NULL;
    }
  /* Sequential passes: read ahead generously, drop pages behind. */
  madvise (base, window->length, MADV_SEQUENTIAL);
  window->name = g_strdup (name);
  return g_steal_pointer (&window);
}

gconstpointer
qs_mapped_window_get_data (QsMappedWindow *window)
{
  g_return_val_if_fail (window != NULL, NULL);

  return window->data;
}

gboolean
qs_mapped_window_unmap (QsMappedWindow  *window,
                        GError         **error)
{
  gboolean faulted;
  struct stat st;

  g_return_val_if_fail (window != NULL, FALSE);

  /* Nothing reads the window any more. The slot stops matching before the
   * address range is given back: another window mapped there at once must
   * not have its faults charged to this one. */
  faulted = atomic_load (&window->slot->faulted) != 0;
  atomic_store (&window->slot->start, 0);
  munmap (window->base, window->length);
  atomic_store (&window->slot->in_use, 0);

  /* A file cut short inside the window's last page raises no SIGBUS: the
   * kernel shows the rest of that page as zeros. Only its size tells. */
  if (fstat (window->fd, &st) != 0 || (guint64) st.st_size < window->end)
    faulted = TRUE;

  if (faulted)
    g_set_error (error, QS_ERROR, QS_ERROR_READ,
                 "%s: the file was cut short while it was being read", window->name);
  g_free (window->name);
  g_free (window);
  return !faulted;
}
