// SPDX-License-Identifier: GPL-2.0-only
/*
 * A file named on the command line, read whole and sent to the daemon
 * with its name, so the daemon's errors read "FILE:line:col: ..." like a
 * compiler's: the -f FILE argument, reading (FILE "-" is stdin), the
 * request.  Shared by apply/diff (cmd_file.c), Kubernetes manifests
 * (cmd_k8s.c), check --offline and prefilter apply.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "file.h"
#include "netsegctl.h"
#include "output.h"

const char *file_label(const char *path)
{
	return strcmp(path, "-") ? path : "<stdin>";
}

int read_file(const char *path, char **bufp, size_t *lenp)
{
	int fd, err;

	/* "-" is stdin, as for cat(1) and kubectl: rules from a pipe. */
	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) :
				 fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = netseg_read_fd(fd, 0, bufp, lenp);
	close(fd);
	return err;
}

int file_flag_args(int argc, char **argv, const char *flag, bool *set, const char **file)
{
	int i, ret;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], flag)) {
			*set = true;
			continue;
		}
		ret = arg_value(argc, argv, &i, "-f", file);
		if (!ret)
			ret = arg_value(argc, argv, &i, "--file", file);
		if (ret < 0)
			return CTL_EXIT_USAGE;
		if (!ret)
			return usage_err("unexpected argument '%s'", argv[i]);
	}
	if (!*file)
		return usage_err("missing -f FILE");
	return 0;
}

/* Where the first NUL is, for a message that points at it. */
static void nul_position(const char *buf, size_t off, unsigned int *line, unsigned int *col)
{
	size_t i;

	*line = *col = 1;
	for (i = 0; i < off; i++) {
		*col = buf[i] == '\n' ? 1 : *col + 1;
		*line += buf[i] == '\n';
	}
}

int file_text(const char *path, char **bufp)
{
	const char *file = file_label(path);
	unsigned int line, col;
	const char *nul;
	char *buf;
	size_t len;
	int err;

	err = read_file(path, &buf, &len);
	if (err) {
		p_err("couldn't read %s: %s", file, strerror(-err));
		return err == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_USAGE;
	}
	/* JSON strings end at a NUL here: the daemon would see less than
	 * the file holds. */
	/* read_file sets buf unless it fails; the analyzer assumes a failed
	 * open(2) may leave errno 0 and return 0. */
	nul = memchr(buf, '\0', len); // NOLINT(clang-analyzer-core.CallAndMessage)
	if (nul) {
		nul_position(buf, nul - buf, &line, &col);
		free(buf);
		p_err("%s:%u:%u: the file contains a NUL byte", file, line, col);
		return CTL_EXIT_REJECTED;
	}
	*bufp = buf;
	return 0;
}

int text_req(const char *cmd, const char *path, const char *text, cJSON **reqp)
{
	cJSON *req = req_new(cmd);

	if (req && (!cJSON_AddStringToObject(req, "name", file_label(path)) ||
		    !cJSON_AddStringToObject(req, "text", text))) {
		cJSON_Delete(req);
		req = NULL;
	}
	if (!req) {
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	*reqp = req;
	return 0;
}

/* {"cmd": @cmd, "name": FILE, "text": content}; exit code on failure. */
int file_req(const char *cmd, const char *path, cJSON **reqp)
{
	char *buf;
	int code = file_text(path, &buf);

	if (code)
		return code;
	code = text_req(cmd, path, buf, reqp);
	free(buf);
	return code;
}
