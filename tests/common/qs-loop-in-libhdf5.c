/* qs-loop-in-libhdf5.c: an LD_PRELOAD stand-in for a libhdf5 that never returns from reading an attribute.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The inputs known to make Debian's libhdf5 1.10 loop (a global heap
 * collection holding free space of size 0, or free space whose size
 * wraps libhdf5's pointer back; tests/fuzz/README.md) are now refused
 * before libhdf5 reads them, from a file and from an image in memory
 * alike, and no other loop is known. The CLI's open watchdog is
 * still there for the loops not found yet; preloaded, this H5Aread
 * blocks for good when its file's name contains "loops-in-libhdf5" (as
 * libhdf5 did, reading model_config while opening), and is libhdf5's own
 * H5Aread for everything else. A test-only module, never installed: the
 * CLI has no switch of its own that makes it hang.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

typedef herr_t (*AreadFunc) (hid_t, hid_t, void *);

herr_t H5Aread (hid_t attr, hid_t mem_type, void *buf);

herr_t
H5Aread (hid_t  attr,
         hid_t  mem_type,
         void  *buf)
{
  static AreadFunc real;
  char name[4096];

  if (H5Fget_name (attr, name, sizeof name) > 0 && strstr (name, "loops-in-libhdf5") != NULL)
    for (;;)
      pause ();
  if (real == NULL)
    real = (AreadFunc) dlsym (RTLD_NEXT, "H5Aread");
  return real (attr, mem_type, buf);
}
