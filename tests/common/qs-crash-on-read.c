/* qs-crash-on-read.c: an LD_PRELOAD stand-in for a libhdf5 that crashes while reading a contiguous dataset's values.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Debian's libhdf5 1.10.8 meets the damage we could craft in a contiguous
 * dataset's values as an error, not a crash; yet such a crash was seen (a
 * segfault in H5Dread from the app's live analysis). Preloaded, this
 * H5Dread faults (a real SIGSEGV: a write to address 0) when the dataset
 * is contiguous and its file's name contains "crash-on-read", and is
 * libhdf5's own H5Dread for everything else: the metadata of such a file
 * opens, and only reading a value crashes. The tests use it to show that
 * the CLI reports the crash in one line and that the app's scan child
 * meets it before the app reads any value.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include <hdf5.h>

typedef herr_t (*DreadFunc) (hid_t, hid_t, hid_t, hid_t, hid_t, void *);

herr_t H5Dread (hid_t dset, hid_t mem_type, hid_t mem_space, hid_t file_space, hid_t dxpl, void *buf);

static int
crashes_here (hid_t dset)
{
  char name[4096];
  hid_t dcpl;
  H5D_layout_t layout = H5D_LAYOUT_ERROR;

  if (H5Fget_name (dset, name, sizeof name) <= 0 || strstr (name, "crash-on-read") == NULL)
    return 0;
  dcpl = H5Dget_create_plist (dset);
  if (dcpl >= 0)
    {
      layout = H5Pget_layout (dcpl);
      H5Pclose (dcpl);
    }
  return layout == H5D_CONTIGUOUS;
}

herr_t
H5Dread (hid_t  dset,
         hid_t  mem_type,
         hid_t  mem_space,
         hid_t  file_space,
         hid_t  dxpl,
         void  *buf)
{
  static DreadFunc real;

  if (crashes_here (dset))
    *(volatile int *) NULL = 0;
  if (real == NULL)
    real = (DreadFunc) dlsym (RTLD_NEXT, "H5Dread");
  return real (dset, mem_type, mem_space, file_space, dxpl, buf);
}
