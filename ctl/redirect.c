// SPDX-License-Identifier: GPL-2.0-only
/*
 * `netsegctl allow frontend->api:443`, typed unquoted, reaches us as
 * "allow frontend-" with stdout redirected to a new file "api:443": the
 * shell reads the '>' of '->' as a redirection (the RULE grammar in lib/rule.h).  We put
 * the rule back together, remove the empty file the shell made, say so,
 * and write our output to stderr, because stdout is that removed file.
 *
 * Deleting a user's file is the one thing here that can't be undone, so
 * every check must pass first: stdout is a regular, empty, single-linked
 * file created a moment ago, found under its own name in the current
 * directory, that name reads as the rest of a rule, and the whole rule
 * parses.  Otherwise nothing is touched and the rule is refused with the
 * reason: no valid rule ends in '-' (the grammar refuses names that do).
 */
#define _GNU_SOURCE /* statx, asprintf */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "netsegctl.h"
#include "output.h"
#include "rule.h"

/* The shell creates the file just before exec: seconds is plenty, and a
 * file older than that is not one the shell made for this command. */
#define STRAY_MAX_AGE_S 5

struct stray {
	char name[NAME_MAX + 1]; /* "" until stdout's name is known */
	struct statx stx;
};

/* The rest of `SRC->DST[:PORTS]` after '>': a DST name or '*', then ports.
 * No '/' can occur: the name is a file in the current directory. */
static bool looks_like_rule_tail(const char *name)
{
	const char *p;

	if (!isalnum((unsigned char)name[0]) && name[0] != '*' && name[0] != '_')
		return false;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-:,*", *p))
			return false;
	return true;
}

static bool just_created(const struct statx *stx)
{
	/* Birth time where the filesystem has it: a `>` that emptied an
	 * older file changes its ctime, not its btime. */
	const struct statx_timestamp *t = stx->stx_mask & STATX_BTIME ? &stx->stx_btime :
									&stx->stx_ctime;
	struct timespec now;
	long long age;

	if (clock_gettime(CLOCK_REALTIME, &now))
		return false;
	age = (long long)now.tv_sec - t->tv_sec;
	return age >= -1 && age <= STRAY_MAX_AGE_S;
}

static bool in_cwd(const struct stray *s)
{
	struct stat st;

	if (fstatat(AT_FDCWD, s->name, &st, AT_SYMLINK_NOFOLLOW))
		return false;
	return S_ISREG(st.st_mode) && st.st_ino == s->stx.stx_ino &&
	       st.st_dev == makedev(s->stx.stx_dev_major, s->stx.stx_dev_minor);
}

static int stdout_name(struct stray *s)
{
	char path[PATH_MAX];
	const char *base;
	ssize_t n;

	n = readlink("/proc/self/fd/1", path, sizeof(path) - 1);
	if (n < 0)
		return -errno;
	path[n] = '\0';
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strlen(base) >= sizeof(s->name))
		return -ENAMETOOLONG;
	strcpy(s->name, base);
	return 0;
}

/* 0 if stdout is the file the shell just made; else -EINVAL with @why. */
static int stray_find(struct stray *s, char *why, size_t len)
{
	unsigned int mask = STATX_BASIC_STATS | STATX_BTIME;

	s->name[0] = '\0';
	if (statx(STDOUT_FILENO, "", AT_EMPTY_PATH, mask, &s->stx))
		snprintf(why, len, "stdout can't be examined (%s)", strerror(errno));
	else if (!S_ISREG(s->stx.stx_mode))
		snprintf(why, len, "stdout is not a file");
	else if (stdout_name(s))
		snprintf(why, len, "stdout's file name can't be read from /proc");
	else if (s->stx.stx_size)
		snprintf(why, len, "stdout is the file '%s', which is not empty", s->name);
	else if (s->stx.stx_nlink != 1)
		snprintf(why, len, "stdout is the file '%s', which has other links", s->name);
	else if (!just_created(&s->stx))
		snprintf(why, len, "stdout is the file '%s', which was not created just now",
			 s->name);
	else if (!in_cwd(s))
		snprintf(why, len, "stdout is the file '%s', which is not in the current directory",
			 s->name);
	else if (!looks_like_rule_tail(s->name))
		snprintf(why, len,
			 "stdout is the file '%s', which doesn't read as the rest of a rule",
			 s->name);
	else
		return 0;
	return -EINVAL;
}

static bool is_rule(const char *text)
{
	struct netseg_rule r;
	struct netseg_err e;

	netseg_rule_init(&r);
	return !netseg_rule_parse(text, &r, &e);
}

/* Remove the stray file and point stdout at stderr.  Checked once more
 * right before: nothing may have written to it since. */
static int stray_remove(const struct stray *s, char *why, size_t len)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) || st.st_size || !in_cwd(s)) {
		snprintf(why, len, "'%s' changed while being examined", s->name);
		return -EINVAL;
	}
	if (unlinkat(AT_FDCWD, s->name, 0)) {
		snprintf(why, len, "'%s' can't be removed (%s)", s->name, strerror(errno));
		return -EINVAL;
	}
	fflush(stdout);
	/* Can't fail with two open fds; at worst output goes to the removed
	 * file, which is what would happen without us. */
	dup2(STDERR_FILENO, STDOUT_FILENO);
	return 0;
}

/* Rebuild "frontend-" + '>' + "api:443"; 0 with @rw set, or -EINVAL with
 * @why, or -ENOMEM. */
static int recover(const char *cut, struct stray *s, struct rule_words *rw, char *why, size_t len)
{
	char *text;
	int ret;

	ret = stray_find(s, why, len);
	if (ret)
		return ret;
	if (asprintf(&text, "%s>%s", cut, s->name) < 0)
		return -ENOMEM;
	if (!is_rule(text)) {
		snprintf(why, len, "'%s' is not a valid rule either", text);
		free(text);
		return -EINVAL;
	}
	rw->stray = strdup(s->name);
	ret = rw->stray ? stray_remove(s, why, len) : -ENOMEM;
	if (ret) {
		free(rw->stray);
		rw->stray = NULL;
		free(text);
		return ret;
	}
	rw->text = text;
	return 0;
}

static int refuse(const char *cmd, const char *cut, const struct stray *s, const char *why)
{
	/* The stray name completes the hint only when it is all of what
	 * followed '>': a file in the current directory. */
	bool named = s->name[0] && in_cwd(s);

	/* Our error (JSON goes to stdout) must not land in the user's file. */
	if (s->name[0])
		dup2(STDERR_FILENO, STDOUT_FILENO);
	return usage_err(
		"the rule '%s' looks cut short by the shell, which reads the '>' of an unquoted '->' as a redirection; %s, so nothing was changed. Quote the rule: %s %s '%s>%s'",
		cut, why, bin_name, cmd, cut, named ? s->name : "DST");
}

int rule_words_get(const char *cmd, char **words, int n, struct rule_words *rw)
{
	struct stray s = { .name = "" };
	char why[512], *cut;
	size_t last;
	int ret;

	rw->text = rw->stray = NULL;
	cut = join_words(words, n);
	if (!cut)
		goto nomem;
	last = strlen(words[n - 1]);
	if (!last || words[n - 1][last - 1] != '-') {
		rw->text = cut;
		return 0;
	}
	ret = recover(cut, &s, rw, why, sizeof(why));
	if (!ret) {
		free(cut);
		return 0;
	}
	if (ret == -ENOMEM)
		goto nomem;
	ret = refuse(cmd, cut, &s, why);
	free(cut);
	return ret;
nomem:
	free(cut);
	p_err("out of memory");
	return CTL_EXIT_INTERNAL;
}

void rule_words_note(const struct rule_words *rw, const char *done)
{
	if (!rw->stray)
		return;
	if (done)
		p_note("the shell read '>' in %s as a redirection; removed the empty file '%s' and %s %s (quote rules to avoid this)",
		       rw->text, rw->stray, done, rw->text);
	else
		p_note("the shell read '>' in %s as a redirection; removed the empty file '%s' (quote rules to avoid this)",
		       rw->text, rw->stray);
}

void rule_words_free(struct rule_words *rw)
{
	free(rw->text);
	free(rw->stray);
	rw->text = rw->stray = NULL;
}
