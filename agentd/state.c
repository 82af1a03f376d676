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
#include <time.h>
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
	if (d->journal.epoch)
		sb_printf(b, "\"journal\":%llu,", (unsigned long long)d->journal.epoch);
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

static __u64 new_epoch(__u64 old);
static void journal_reset(struct netsegd *d);

int netsegd_state_save(struct netsegd *d)
{
	char tmp[512], path[512];
	struct sbuf b = {};
	__u64 old_epoch = d->journal.epoch;
	int fd = -1, dfd = -1, err;

	/* A new snapshot starts a new journal: records of the old one name
	 * the old epoch and are never replayed onto this one. */
	d->journal.epoch = new_epoch(old_epoch);
	err = state_text(d, &b);
	if (err) {
		d->journal.epoch = old_epoch;
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
		d->journal.epoch = old_epoch;
	} else {
		journal_reset(d);
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

static int journal_replay(struct netsegd *d, double epoch);

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
	if (!err)
		err = journal_replay(d, cJSON_GetNumberValue(cJSON_GetObjectItem(o, "journal")));
	if (err == -EBADMSG) {
		err = -EINVAL; /* journal_replay() said what and where */
		goto out;
	}
	if (err) {
		pr_err("state file %s is damaged: %s", path,
		       errs.n	? errs.msgs[0] :
		       e.msg[0] ? e.msg :
				  strerror(-err));
		err = -EINVAL;
	}
out:
	netseg_errlist_free(&errs);
	cJSON_Delete(o);
	return err;
}

/* ------------------------------------------------------------- journal */

/*
 * Rewriting and fsyncing the whole state file for one rule is 10 ms at
 * 10k rules and 60-120 ms at 100k.  A change that touches only rules
 * appends one record instead: the rules that differ, by position, and the
 * new count (docs/architecture.md, "The state file and its journal").
 *
 *   state.journal:  {"netseg_journal":1,"epoch":E}\n
 *                   <fnv-1a 64 of JSON, 16 hex> {"revision":R,"next_rule_id":N,
 *                        "n":COUNT,"set":[{"i":POS,"rule":{...}},...]}\n ...
 *
 * Crash safety: a record is written with one pwrite() and fdatasync()ed
 * before the change is answered; a torn last record (no newline, or a
 * checksum that doesn't match) is a change that was never answered and is
 * dropped.  Each full save writes a new epoch into state.json and only
 * then truncates the journal and starts it with that epoch, so a crash in
 * between leaves records of the old epoch, which are ignored.  A record
 * applies on top of revision R-1; records at or below the snapshot's
 * revision are skipped.  The journal is folded into state.json when it
 * grows past JOURNAL_MAX_*, on a clean exit and after a replay at start,
 * so a version that reads state.json alone sees everything after a clean
 * stop.
 */
#define JOURNAL_MAX_RECORDS 1000
#define JOURNAL_MAX_BYTES (8u << 20)
#define JOURNAL_HEAD "{\"netseg_journal\":1,\"epoch\":%llu}\n"

/* Microseconds of the wall clock: distinct across restarts, and exact in
 * a JSON number (a double holds 53 bits). */
static __u64 new_epoch(__u64 old)
{
	struct timespec t;
	__u64 e;

	clock_gettime(CLOCK_REALTIME, &t);
	e = (__u64)t.tv_sec * 1000000 + t.tv_nsec / 1000;
	return e > old ? e : old + 1;
}

static __u64 fnv64(const char *s, size_t n)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static void journal_path(const struct netsegd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" NETSEGD_JOURNAL_FILE, d->cfg.state_dir);
}

static void journal_drop(struct netsegd *d)
{
	if (d->journal.open)
		close(d->journal.fd);
	d->journal.open = false;
	free(d->journal.rest);
	d->journal.rest = NULL;
}

/*
 * Everything the snapshot holds except what a journal record carries
 * (rules, revision, next rule id) and the epoch.  A change that leaves
 * this text as it was can go to the journal; any other (identities, the
 * prefilter, uplinks, whatever the state file holds next) needs a full
 * save.  Comparing text keeps that true for fields added later.
 */
static char *state_rest(struct netsegd *d)
{
	struct netseg_ruleset rules = d->pol.rules;
	__u64 rev = d->pol.revision, epoch = d->journal.epoch;
	__u32 next = d->pol.next_rule_id;
	struct sbuf b = {};
	int err;

	d->pol.rules = (struct netseg_ruleset){ 0 };
	d->pol.revision = d->journal.epoch = d->pol.next_rule_id = 0;
	err = state_text(d, &b);
	d->pol.rules = rules;
	d->pol.revision = rev;
	d->journal.epoch = epoch;
	d->pol.next_rule_id = next;
	if (err) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/*
 * After state.json took epoch d->journal.epoch: an empty journal of that
 * epoch.  Its header needs no fsync of its own: the first record's
 * fdatasync() carries it.  Any failure only means the next change makes
 * a full save again; the snapshot just written is complete.
 */
static void journal_reset(struct netsegd *d)
{
	char path[512], head[64];
	int n, dfd;

	journal_drop(d);
	journal_path(d, path, sizeof(path));
	d->journal.fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->journal.fd < 0 && errno == ENOENT) {
		d->journal.fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		/* The new name must survive a crash with the records in it. */
		dfd = open(d->cfg.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	if (d->journal.fd < 0)
		goto fail;
	d->journal.open = true;
	n = snprintf(head, sizeof(head), JOURNAL_HEAD, (unsigned long long)d->journal.epoch);
	if (ftruncate(d->journal.fd, 0) || pwrite(d->journal.fd, head, n, 0) != n)
		goto fail;
	d->journal.rest = state_rest(d);
	if (!d->journal.rest)
		goto fail;
	d->journal.records = 0;
	d->journal.bytes = n;
	d->journal.revision = d->pol.revision;
	d->journal.next_rule_id = d->pol.next_rule_id;
	return;
fail:
	pr_warn("couldn't start the state journal %s: %s; changes save the whole state", path,
		strerror(errno ? errno : ENOMEM));
	journal_drop(d);
}

/* What the state file says about a rule, compared field by field: a
 * memcmp of 650-byte rules reads 130 MB for 100k rules. */
static bool rule_saved_same(const struct netseg_rule *a, const struct netseg_rule *b)
{
	return a->id == b->id && a->action == b->action && a->flags == b->flags &&
	       a->proto == b->proto && a->icmp_type == b->icmp_type && a->nports == b->nports &&
	       !memcmp(a->ports, b->ports, a->nports * sizeof(a->ports[0])) &&
	       !strcmp(a->src, b->src) && !strcmp(a->dst, b->dst) &&
	       !strcmp(a->comment, b->comment);
}

/* The record for @old -> d->pol.rules into @b; -E2BIG when so many rules
 * differ that a full save is smaller. */
static int journal_record(struct netsegd *d, const struct netseg_ruleset *old, struct sbuf *b)
{
	const struct netseg_ruleset *cur = &d->pol.rules;
	size_t max = 64 + cur->n / 16, nset = 0;
	bool first = true;

	/* sb_printf() takes 63 characters at a time */
	sb_printf(b, "{\"revision\":%llu,", (unsigned long long)d->pol.revision);
	sb_printf(b, "\"next_rule_id\":%u,\"n\":%zu,\"set\":[", d->pol.next_rule_id, cur->n);
	for (size_t i = 0; i < cur->n; i++) {
		if (i < old->n && rule_saved_same(&old->rules[i], &cur->rules[i]))
			continue;
		if (++nset > max)
			return -E2BIG;
		sb_printf(b, "%s{\"i\":%zu,\"rule\":", first ? "" : ",", i);
		sb_rule(b, &cur->rules[i]);
		sb_puts(b, "}");
		first = false;
	}
	sb_puts(b, "]}\n");
	if (!b->err && first && old->n == cur->n && d->pol.revision == d->journal.revision &&
	    d->pol.next_rule_id == d->journal.next_rule_id)
		return -ENODATA; /* nothing to say (the restore at start) */
	return b->err;
}

int netsegd_state_save_change(struct netsegd *d, const struct netseg_ruleset *old)
{
	struct netsegd_journal *j = &d->journal;
	struct sbuf b = {};
	char *rest, sum[18];
	ssize_t n;
	int err;

	if (!j->open || j->records >= JOURNAL_MAX_RECORDS || j->bytes >= JOURNAL_MAX_BYTES)
		return netsegd_state_save(d);
	rest = state_rest(d);
	err = !rest || strcmp(rest, j->rest) ? -EAGAIN : 0;
	free(rest);
	/* Room for the checksum in front, written when the text is known. */
	sb_puts(&b, "0123456789abcdef ");
	err = err ?: journal_record(d, old, &b);
	if (err) {
		free(b.p);
		return err == -ENODATA ? 0 : netsegd_state_save(d);
	}
	snprintf(sum, sizeof(sum), "%016llx ",
		 (unsigned long long)fnv64(b.p + 17, b.len - 18)); /* JSON, no newline */
	memcpy(b.p, sum, 17);
	/* A short write (the disk filled up) is retried for its errno. */
	for (size_t done = 0; done < b.len && !err; done += n) {
		n = pwrite(j->fd, b.p + done, b.len - done, j->bytes + done);
		if (n < 0 && errno != EINTR)
			err = -errno;
		n = n < 0 ? 0 : n;
	}
	if (!err && fdatasync(j->fd))
		err = -errno;
	free(b.p);
	if (err) {
		/* The change is refused: its record must not be replayed.
		 * If it can't be cut off, the journal is given up on and the
		 * next save is a full one, with a new epoch. */
		pr_err("couldn't append to the state journal: %s", strerror(-err));
		if (ftruncate(j->fd, j->bytes))
			journal_drop(d);
		return err;
	}
	j->bytes += b.len;
	j->records++;
	j->revision = d->pol.revision;
	j->next_rule_id = d->pol.next_rule_id;
	return 0;
}

/* One record onto the loaded rules; a message in @e when it doesn't fit. */
static int journal_apply(struct netsegd *d, const cJSON *rec, struct netseg_err *e)
{
	const cJSON *set = cJSON_GetObjectItem(rec, "set"), *it;
	double n = cJSON_GetNumberValue(cJSON_GetObjectItem(rec, "n"));
	struct netseg_ruleset *rs = &d->pol.rules;
	struct netseg_rule r;
	size_t was = rs->n;
	bool *seen;
	int err = 0;

	if (!cJSON_IsArray(set) || !(n >= 0 && n <= 1e8))
		return netseg_err_set(e, 0, "no rule count or set");
	seen = calloc((size_t)n + 1, 1);
	if (!seen)
		return -ENOMEM;
	netseg_rule_init(&r);
	while (rs->n < (size_t)n && !err)
		err = netseg_ruleset_add(rs, &r);
	rs->n = (size_t)n;
	cJSON_ArrayForEach(it, set) {
		double i = cJSON_GetNumberValue(cJSON_GetObjectItem(it, "i"));

		if (err)
			break;
		if (!(i >= 0 && i < n))
			err = netseg_err_set(e, 0, "rule position out of range");
		else if (netseg_rule_from_json(cJSON_GetObjectItem(it, "rule"), &r, e))
			err = -EINVAL;
		else
			seen[(size_t)i] = true;
		if (!err)
			rs->rules[(size_t)i] = r;
	}
	for (size_t i = was; !err && i < rs->n; i++)
		if (!seen[i])
			err = netseg_err_set(e, 0, "rule %zu added but not given", i);
	free(seen);
	if (!err)
		d->pol.next_rule_id = cJSON_GetNumberValue(
			cJSON_GetObjectItem(rec, "next_rule_id"));
	return err;
}

/* One line (without its newline) at line number @line: -EAGAIN for a
 * torn one, -EBADMSG (said) for one that doesn't apply. */
static int journal_line(struct netsegd *d, char *s, size_t len, const char *path, int line)
{
	struct netseg_err e = {};
	unsigned long long sum;
	cJSON *rec;
	double rev;
	int err;

	if (len < 18 || s[16] != ' ' || sscanf(s, "%16llx", &sum) != 1 ||
	    sum != fnv64(s + 17, len - 17))
		return -EAGAIN;
	s[len] = '\0';
	rec = cJSON_Parse(s + 17);
	rev = cJSON_GetNumberValue(cJSON_GetObjectItem(rec, "revision"));
	if (!rec || !(rev > 0)) {
		netseg_err_set(&e, 0, "not a record");
		err = -EINVAL;
	} else if ((__u64)rev <= d->pol.revision) {
		err = 0; /* already in state.json */
	} else if ((__u64)rev != d->pol.revision + 1) {
		err = netseg_err_set(&e, 0, "revision %llu follows %llu", (unsigned long long)rev,
				     (unsigned long long)d->pol.revision);
	} else {
		err = journal_apply(d, rec, &e);
		if (!err)
			d->pol.revision = (__u64)rev;
	}
	cJSON_Delete(rec);
	if (err) {
		pr_err("state journal %s is damaged at line %d: %s; move it away to start from "
		       "state.json alone",
		       path, line, e.msg[0] ? e.msg : strerror(-err));
		return -EBADMSG;
	}
	return 0;
}

/*
 * The journal of the snapshot's epoch onto what state.json gave; any
 * other journal (older epoch, or state.json written by a version without
 * one) is stale.  Then folds what it replayed into a new snapshot.
 */
static int journal_replay(struct netsegd *d, double epoch)
{
	unsigned long long head;
	size_t len, at, applied = 0;
	char path[512], *buf, *nl;
	int err, line = 1;

	journal_path(d, path, sizeof(path));
	if (!(epoch > 0))
		return 0;
	d->journal.epoch = (__u64)epoch;
	err = netseg_read_file(path, 0, &buf, &len);
	if (err)
		return err == -ENOENT ? 0 : err;
	nl = memchr(buf, '\n', len);
	if (!nl || sscanf(buf, JOURNAL_HEAD, &head) != 1 || head != (__u64)epoch) {
		pr_info("state journal %s is not of state.json's epoch: ignored", path);
		goto out;
	}
	for (at = nl + 1 - buf; at < len && !err; at = nl + 1 - buf) {
		__u64 rev = d->pol.revision;

		line++;
		nl = memchr(buf + at, '\n', len - at);
		err = nl ? journal_line(d, buf + at, nl - (buf + at), path, line) : -EAGAIN;
		if (err == -EAGAIN && (!nl || nl + 1 == buf + len)) {
			pr_warn("state journal %s: the last record (line %d) is incomplete, a "
				"change that was never confirmed: dropped",
				path, line);
			err = 0;
			break;
		}
		if (err == -EAGAIN) {
			pr_err("state journal %s is damaged at line %d (checksum); move it away "
			       "to start from state.json alone",
			       path, line);
			err = -EBADMSG;
		}
		applied += d->pol.revision != rev;
	}
	if (!err && applied) {
		pr_info("state: %zu changes replayed from %s, revision %llu", applied, path,
			(unsigned long long)d->pol.revision);
		if (netsegd_state_save(d))
			pr_warn("couldn't fold the journal into the state file; it stays");
	}
out:
	free(buf);
	return err;
}

void netsegd_state_close(struct netsegd *d)
{
	if (d->journal.open && d->journal.records && netsegd_state_save(d))
		pr_warn("couldn't fold the state journal into the state file; the next start "
			"replays it");
	journal_drop(d);
}
