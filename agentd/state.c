// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state file: identities, rules, revision, prefilter.  Written by
 * write-temp, fsync, rename, fsync(dir), and only after the datapath took
 * the change, so a crash leaves either the old or the new state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "errors.h"
#include "log.h"
#include "netsegd.h"

#define STATE_FILE NETSEGD_STATE_FILE
#define STATE_VERSION 1

int netsegd_state_error(const struct netsegd *d, int r, const char *outcome,
			struct netseg_err *e)
{
	return netseg_err_set(e, 0, "couldn't save the state to %s/" STATE_FILE ": %s (%s); %s",
			      d->cfg.state_dir, strerror(-r), strerrorname_np(-r) ?: "?", outcome);
}

static cJSON *state_json(struct netsegd *d)
{
	cJSON *o = cJSON_CreateObject(), *pf = cJSON_CreateArray();

	cJSON_AddNumberToObject(o, "version", STATE_VERSION);
	cJSON_AddNumberToObject(o, "revision", d->revision);
	cJSON_AddNumberToObject(o, "next_rule_id", d->next_rule_id);
	cJSON_AddItemToObject(o, "identities", netseg_idstore_to_json(&d->ids));
	cJSON_AddItemToObject(o, "rules", netseg_ruleset_to_json(&d->rules));
	for (size_t i = 0; i < d->nprefilter; i++)
		cJSON_AddItemToArray(pf, cJSON_CreateString(d->prefilter[i].cidr));
	cJSON_AddItemToObject(o, "prefilter", pf);
	pf = cJSON_AddArrayToObject(o, "uplinks");
	for (unsigned int i = 0; i < d->cfg.nuplinks; i++)
		cJSON_AddItemToArray(pf, cJSON_CreateString(d->cfg.uplinks[i]));
	return o;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += n;
		len -= n;
	}
	return 0;
}

int netsegd_state_save(struct netsegd *d)
{
	char tmp[512], path[512];
	cJSON *o = state_json(d);
	char *s = cJSON_PrintUnformatted(o);	/* a third of the bytes to fsync */
	int fd = -1, dfd = -1, err = 0;

	cJSON_Delete(o);
	if (!s)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/" STATE_FILE, d->cfg.state_dir);
	snprintf(tmp, sizeof(tmp), "%s/." STATE_FILE ".tmp", d->cfg.state_dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, s, strlen(s));
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		goto out;
	dfd = open(d->cfg.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	if (err) {
		pr_err("couldn't write state %s: %s", path, strerror(-err));
		unlink(tmp);
	}
	free(s);
	return err;
}

static int load_prefilter(struct netsegd *d, const cJSON *arr)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || strlen(it->valuestring) >= 64 ||
		    d->nprefilter >= NETSEGD_MAX_PREFILTER)
			return -EINVAL;
		strcpy(d->prefilter[d->nprefilter++].cidr, it->valuestring);
	}
	return 0;
}

/* Uplinks from the config file and from 'netsegctl attach', merged. */
static int load_uplinks(struct netsegd *d, const cJSON *arr)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		unsigned int i;

		if (!cJSON_IsString(it) || strlen(it->valuestring) >= 16)
			return -EINVAL;
		for (i = 0; i < d->cfg.nuplinks; i++)
			if (!strcmp(d->cfg.uplinks[i], it->valuestring))
				break;
		if (i == d->cfg.nuplinks && i < NETSEGD_MAX_UPLINKS)
			strcpy(d->cfg.uplinks[d->cfg.nuplinks++], it->valuestring);
	}
	return 0;
}

static char *read_file(const char *path, int *err)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || fstat(fd, &st)) {
		*err = -errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc(st.st_size + 1);
	n = buf ? read(fd, buf, st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		free(buf);
		*err = -EIO;
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* A missing file is a fresh start; a corrupt one is an error, never
 * silently replaced by an empty rule set. */
int netsegd_state_load(struct netsegd *d)
{
	struct netseg_errlist errs = {};
	struct netseg_err e = {};
	char path[512];
	int err = 0;
	char *buf;
	cJSON *o;

	if (mkdir(d->cfg.state_dir, 0700) && errno != EEXIST) {
		pr_err("couldn't create state dir %s: %s", d->cfg.state_dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/" STATE_FILE, d->cfg.state_dir);
	buf = read_file(path, &err);
	if (!buf)
		return err == -ENOENT ? 0 : err;
	o = cJSON_Parse(buf);
	free(buf);
	if (!o) {
		pr_err("state file %s is not valid JSON; move it away to start empty", path);
		return -EINVAL;
	}
	d->revision = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "revision"));
	d->next_rule_id = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "next_rule_id"));
	if (d->next_rule_id < 1)
		d->next_rule_id = 1;
	err = netseg_idstore_from_json(&d->ids, cJSON_GetObjectItem(o, "identities"), &e);
	if (!err)
		err = netseg_ruleset_from_json(cJSON_GetObjectItem(o, "rules"), path,
					       &d->rules, &errs);
	if (!err)
		err = load_prefilter(d, cJSON_GetObjectItem(o, "prefilter"));
	if (!err)
		err = load_uplinks(d, cJSON_GetObjectItem(o, "uplinks"));
	if (err) {
		pr_err("state file %s is damaged: %s", path,
		       errs.n ? errs.msgs[0] : e.msg[0] ? e.msg : strerror(-err));
		err = -EINVAL;
	}
	netseg_errlist_free(&errs);
	cJSON_Delete(o);
	return err;
}
