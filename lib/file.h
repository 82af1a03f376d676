/* SPDX-License-Identifier: GPL-2.0-only */
/* Whole files into memory: rule files, manifests, the config, the state. */
#ifndef NETSEG_FILE_H
#define NETSEG_FILE_H

#include <stddef.h>

/*
 * Everything @fd has left, into a malloc'd *buf of *len bytes plus a NUL
 * (so text parsers may take it as a string).  @max: refuse with -EFBIG
 * past that many bytes, 0 for no bound.  0 or -errno; *buf is set only
 * on success.  The fd stays open.
 */
int netseg_read_fd(int fd, size_t max, char **buf, size_t *len);
/* The same for the file at @path. */
int netseg_read_file(const char *path, size_t max, char **buf, size_t *len);

#endif /* NETSEG_FILE_H */
