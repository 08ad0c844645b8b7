/* fake-scan-helper.c: stands in for `quantscope-cli layers --json FILE`, misbehaving as FILE's name says.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What the safe scan must survive: a reader that aborts or crashes (as
 * libhdf5 may on a damaged file), hangs, prints garbage or fails. A FILE
 * whose name contains "abort", "segv", "hang", "garbage" or "fail" gets
 * that; any other is handed to the real CLI ($QS_CLI).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main (int   argc,
      char *argv[])
{
  const char *file = argc > 1 ? argv[argc - 1] : "";
  const char *base = strrchr (file, '/') != NULL ? strrchr (file, '/') + 1 : file;
  const char *cli = getenv ("QS_CLI");

  if (strstr (base, "abort") != NULL)
    abort ();
  if (strstr (base, "segv") != NULL)
    raise (SIGSEGV);
  if (strstr (base, "hang") != NULL)
    {
      /* Holding stdout open, like a reader stuck in a loop. */
      sleep (60);
      return 0;
    }
  if (strstr (base, "garbage") != NULL)
    {
      puts ("{\"tensors\": [ this is not JSON");
      return 0;
    }
  if (strstr (base, "fail") != NULL)
    {
      fprintf (stderr, "quantscope-cli: “%s” is damaged or truncated and cannot be opened\nsecond line\n", file);
      return 2;
    }
  if (cli == NULL)
    return 3;
  argv[0] = (char *) cli;
  execv (cli, argv);
  return 4;
}
