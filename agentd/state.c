// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state file: identities, rules, revision, prefilter.  Written by
 * write-temp, fsync, rename, fsync(dir), and only after the datapath took
 * the change, so a crash leaves either the old or the new state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "errors.h"
#include "file.h"
#include "log.h"
#include "netsegd.h"

#define STATE_FILE NETSEGD_STATE_FILE
#define STATE_VERSION 1

int netsegd_state_error(const struct netsegd *d, int r, const char *outcome, struct netseg_err *e)
{
	return netseg_err_set(e, 0, "couldn't save the state to %s/" STATE_FILE ": %s (%s); %s",
			      d->cfg.state_dir, strerror(-r), strerrorname_np(-r) ?: "?", outcome);
}

/*
 * The state file is written directly, not through a cJSON tree: 100k rules
 * as a tree are a million small allocations.  The format is the one
 * netseg_rule_to_json() and the loader below use; the identities are few
 * and keep going through cJSON.
 */
struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 16;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sb_put(b, tmp, n < (int)sizeof(tmp) ? n : (int)sizeof(tmp) - 1);
}

/* A JSON string: quotes, backslashes and control characters escaped,
 * UTF-8 as it is (as cJSON prints it). */
static void sb_str(struct sbuf *b, const char *s)
{
	const char *run = s;

	sb_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_put(b, run, s - run);
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', c };

			sb_put(b, esc, 2);
		} else {
			sb_printf(b, "\\u%04x", c);
		}
		run = s + 1;
	}
	sb_put(b, run, s - run);
	sb_put(b, "\"", 1);
}

static void sb_rule(struct sbuf *b, const struct netseg_rule *r)
{
	char text[NETSEG_RULE_MAX_PORTS * 12 + 2 * NETSEG_SELECTOR_MAX + 32];

	if (netseg_rule_format(r, text, sizeof(text))) {
		b->err = b->err ? b->err : -EINVAL;
		return;
	}
	sb_puts(b, "{");
	if (r->id)
		sb_printf(b, "\"id\":%u,", r->id);
	sb_puts(b, r->action == NETSEG_VERDICT_DENY ? "\"action\":\"deny\",\"rule\":" :
						      "\"action\":\"allow\",\"rule\":");
	sb_str(b, text);
	sb_puts(b, r->flags & NETSEG_RULEF_AUDIT ? ",\"audit\":true" : ",\"audit\":false");
	sb_puts(b, r->flags & NETSEG_RULEF_LOG ? ",\"log\":true" : ",\"log\":false");
	if (r->comment[0]) {
		sb_puts(b, ",\"comment\":");
		sb_str(b, r->comment);
	}
	sb_puts(b, "}");
}

static int state_text(struct netsegd *d, struct sbuf *b)
{
	cJSON *ids = netseg_idstore_to_json(&d->pol.ids);
	char *s = ids ? cJSON_PrintUnformatted(ids) : NULL;

	cJSON_Delete(ids);
	if (!s)
		return -ENOMEM;
	sb_printf(b, "{\"version\":%d,\"revision\":%llu,\"next_rule_id\":%llu,", STATE_VERSION,
		  (unsigned long long)d->pol.revision, (unsigned long long)d->pol.next_rule_id);
	sb_puts(b, "\"identities\":");
	sb_puts(b, s);
	free(s);
	sb_puts(b, ",\"rules\":{\"rules\":[");
	for (size_t i = 0; i < d->pol.rules.n; i++) {
		if (i)
			sb_puts(b, ",");
		sb_rule(b, &d->pol.rules.rules[i]);
	}
	sb_puts(b, "]},\"prefilter\":[");
	for (size_t i = 0; i < d->pol.nprefilter; i++) {
		if (i)
			sb_puts(b, ",");
		sb_str(b, d->pol.prefilter[i].cidr);
	}
	sb_puts(b, "],\"uplinks\":[");
	for (unsigned int i = 0; i < d->cfg.nuplinks; i++) {
		if (i)
			sb_puts(b, ",");
		sb_str(b, d->cfg.uplinks[i]);
	}
	sb_puts(b, "]");
	if (d->k8s.set.npods || d->k8s.set.objs.npolicies || d->k8s.set.objs.nnamespaces) {
		cJSON *k = netsegd_k8s_state_json(d);
		char *t = k ? cJSON_PrintUnformatted(k) : NULL;

		cJSON_Delete(k);
		if (!t)
			return -ENOMEM;
		sb_puts(b, ",\"k8s\":");
		sb_puts(b, t);
		free(t);
	}
	sb_puts(b, "}");
	return b->err;
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
	struct sbuf b = {};
	int fd = -1, dfd = -1, err = state_text(d, &b);

	if (err) {
		free(b.p);
		return err;
	}
	snprintf(path, sizeof(path), "%s/" STATE_FILE, d->cfg.state_dir);
	snprintf(tmp, sizeof(tmp), "%s/." STATE_FILE ".tmp", d->cfg.state_dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, b.p, b.len);
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
	free(b.p);
	return err;
}

static int load_prefilter(struct netsegd *d, const cJSON *arr)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		if (d->pol.nprefilter >= d->cfg.prefilter_max) {
			pr_err("the saved prefilter list holds more than prefilter_max "
			       "(%u) entries; raise prefilter_max",
			       d->cfg.prefilter_max);
			return -E2BIG;
		}
		if (!cJSON_IsString(it) || strlen(it->valuestring) >= 64)
			return -EINVAL;
		strcpy(d->pol.prefilter[d->pol.nprefilter++].cidr, it->valuestring);
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

/* A missing file is a fresh start; a corrupt one is an error, never
 * silently replaced by an empty rule set. */
int netsegd_state_load(struct netsegd *d)
{
	struct netseg_errlist errs = {};
	struct netseg_err e = {};
	char path[512];
	int err = 0;
	char *buf;
	size_t len;
	cJSON *o;

	if (mkdir(d->cfg.state_dir, 0700) && errno != EEXIST) {
		pr_err("couldn't create state dir %s: %s", d->cfg.state_dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/" STATE_FILE, d->cfg.state_dir);
	err = netseg_read_file(path, 0, &buf, &len);
	if (err)
		return err == -ENOENT ? 0 : err;
	o = cJSON_Parse(buf);
	free(buf);
	if (!o) {
		pr_err("state file %s is not valid JSON; move it away to start empty", path);
		return -EINVAL;
	}
	d->pol.revision = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "revision"));
	d->pol.next_rule_id = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "next_rule_id"));
	if (d->pol.next_rule_id < 1)
		d->pol.next_rule_id = 1;
	err = netseg_idstore_from_json(&d->pol.ids, cJSON_GetObjectItem(o, "identities"), &e);
	if (!err)
		err = netseg_ruleset_from_json(cJSON_GetObjectItem(o, "rules"), path, &d->pol.rules,
					       &errs);
	if (!err)
		err = load_prefilter(d, cJSON_GetObjectItem(o, "prefilter"));
	if (!err)
		err = load_uplinks(d, cJSON_GetObjectItem(o, "uplinks"));
	if (!err && cJSON_GetObjectItem(o, "k8s"))
		err = netsegd_k8s_state_load(d, cJSON_GetObjectItem(o, "k8s"), path);
	if (err) {
		pr_err("state file %s is damaged: %s", path,
		       errs.n	? errs.msgs[0] :
		       e.msg[0] ? e.msg :
				  strerror(-err));
		err = -EINVAL;
	}
	netseg_errlist_free(&errs);
	cJSON_Delete(o);
	return err;
}
