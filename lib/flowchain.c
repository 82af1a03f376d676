// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hash-chained flow-log files (format in flowrec.h): each line carries
 * SHA-256(previous digest || the line without its chain member), so an
 * edited, deleted or moved line breaks the chain where it happened.
 *
 * The verifier streams: it keeps only the running digest and the next
 * expected seq.  When a line doesn't chain from the one before and its seq
 * jumps ahead, it reads on: if a skipped seq turns up later the records
 * were reordered, else they were removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "flowrec.h"

#define JSON_KEY ",\"chain\":"
#define CEF_KEY " cs6Label=chain cs6="

static int digest(const unsigned char *prev, const char *rec, size_t len, const char *tail,
		  unsigned char out[NETSEG_CHAIN_DIGEST])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, prev, NETSEG_CHAIN_DIGEST) && EVP_DigestUpdate(ctx, rec, len) &&
	     (!tail || EVP_DigestUpdate(ctx, tail, strlen(tail))) &&
	     EVP_DigestFinal_ex(ctx, out, &n) && n == NETSEG_CHAIN_DIGEST;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static void to_hex(const unsigned char *d, char out[NETSEG_CHAIN_HEX])
{
	static const char x[] = "0123456789abcdef";
	int i;

	for (i = 0; i < NETSEG_CHAIN_DIGEST; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * NETSEG_CHAIN_DIGEST] = '\0';
}

/* Exactly 64 lowercase hex digits, as to_hex() writes them. */
static bool from_hex(const char *s, unsigned char out[NETSEG_CHAIN_DIGEST])
{
	int i, hi, lo;

	for (i = 0; i < NETSEG_CHAIN_DIGEST; i++) {
		hi = s[2 * i] >= 'a' && s[2 * i] <= 'f' ? s[2 * i] - 'a' + 10 : s[2 * i] - '0';
		lo = s[2 * i + 1] >= 'a' && s[2 * i + 1] <= 'f' ? s[2 * i + 1] - 'a' + 10 :
								  s[2 * i + 1] - '0';
		if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
			return false;
		out[i] = hi << 4 | lo;
	}
	return true;
}

int netseg_chain_init(struct netseg_chain *c, const unsigned char *genesis)
{
	c->seq = 0;
	if (genesis) {
		memcpy(c->prev, genesis, NETSEG_CHAIN_DIGEST);
		return 0;
	}
	return RAND_bytes(c->prev, NETSEG_CHAIN_DIGEST) == 1 ? 0 : -EIO;
}

/* The chain member, printed by cJSON: {"seq":N,"prev":"..","hash":".."} */
static char *chain_member(__u64 seq, const char *prev, const char *hash)
{
	cJSON *o = cJSON_CreateObject();
	char num[24];
	char *s = NULL;

	snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)seq);
	if (o && cJSON_AddRawToObject(o, "seq", num) && cJSON_AddStringToObject(o, "prev", prev) &&
	    cJSON_AddStringToObject(o, "hash", hash))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/*
 * Where the record's last top-level member, an object, starts and ends:
 * 0 with *key at its name's opening quote and *obj at its '{', or -EINVAL
 * if the record isn't one compact JSON object ending in a non-empty
 * object member.  A byte scan with string state, no parse: this runs for
 * every line a chained file gets.
 */
static int last_object_member(const char *rec, size_t len, size_t *key, size_t *obj)
{
	bool str = false, esc = false, want_key = false;
	size_t i, k = 0, v = 0;
	int depth = 0;

	for (i = 0; i < len; i++) {
		char ch = rec[i];

		if (str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				str = false;
			continue;
		}
		switch (ch) {
		case '"':
			str = true;
			if (depth == 1 && want_key) {
				k = i;
				want_key = false;
			}
			break;
		case '{':
		case '[':
			if (depth == 1 && ch == '{' && rec[i - 1] == ':')
				v = i;
			else if (depth == 1)
				v = 0;
			depth++;
			want_key = depth == 1;
			break;
		case '}':
		case ']':
			depth--;
			break;
		case ',':
			want_key = depth == 1;
			break;
		case ':':
			if (depth == 1)
				v = 0; /* a scalar unless a '{' follows */
			break;
		}
	}
	if (depth || !k || !v || v < k || rec[len - 1] != '}' || rec[len - 2] != '}' ||
	    rec[v + 1] == '}')
		return -EINVAL;
	*key = k;
	*obj = v;
	return 0;
}

/* The record's last top-level member is the object "@name". */
static bool ends_in_member(const char *rec, size_t len, const char *name)
{
	size_t k, v, n = strlen(name);

	return !last_object_member(rec, len, &k, &v) && v == k + n + 3 &&
	       !memcmp(rec + k + 1, name, n) && rec[k + n + 1] == '"';
}

int netseg_chain_line(struct netseg_chain *c, const char *rec, size_t len, char *out, size_t outlen)
{
	return netseg_chain_line_in(c, NULL, rec, len, out, outlen);
}

int netseg_chain_line_in(struct netseg_chain *c, const char *within, const char *rec, size_t len,
			 char *out, size_t outlen)
{
	bool json = len && rec[0] == '{';
	unsigned char h[NETSEG_CHAIN_DIGEST];
	char prev[NETSEG_CHAIN_HEX], hash[NETSEG_CHAIN_HEX];
	/* rec is cut before its last '}' (top level) or last two (inside @within) */
	size_t cut = within ? 2 : 1;
	char *member = NULL;
	size_t n;
	int ret;

	if (!len || memchr(rec, '\n', len) || memchr(rec, '\0', len) ||
	    (json && (len < 3 || rec[len - 1] != '}')) ||
	    (json && within && !ends_in_member(rec, len, within)))
		return -EINVAL;
	ret = digest(c->prev, rec, len, NULL, h);
	if (ret)
		return ret;
	to_hex(c->prev, prev);
	to_hex(h, hash);
	if (json) {
		member = chain_member(c->seq, prev, hash);
		if (!member)
			return -ENOMEM;
		/* rec without its closing braces, the member, the braces back. */
		n = len - cut + strlen(JSON_KEY) + strlen(member) + cut;
		if (n + 1 > outlen) {
			free(member);
			return -ENOSPC;
		}
		memcpy(out, rec, len - cut);
		snprintf(out + len - cut, outlen - (len - cut), "%s%s%s", JSON_KEY, member,
			 within ? "}}" : "}");
		free(member);
	} else {
		char tail[24 + 2 * NETSEG_CHAIN_HEX];

		snprintf(tail, sizeof(tail), "%" PRIu64 ":%s:%s", (uint64_t)c->seq, prev, hash);
		n = len + strlen(CEF_KEY) + strlen(tail);
		if (n + 1 > outlen)
			return -ENOSPC;
		memcpy(out, rec, len);
		snprintf(out + len, outlen - len, "%s%s", CEF_KEY, tail);
	}
	c->seq++;
	memcpy(c->prev, h, NETSEG_CHAIN_DIGEST);
	return (int)n;
}

/* ------------------------------------------------------------- parsing */

struct chained {
	__u64 seq;
	unsigned char prev[NETSEG_CHAIN_DIGEST];
	unsigned char hash[NETSEG_CHAIN_DIGEST];
	size_t rec_len;	      /* bytes of the line that are the record */
	const char *rec_tail; /* appended to them to rebuild it ("}" or NULL) */
};

static const char *parse_seq(const char *s, __u64 *seq)
{
	__u64 v = 0;

	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (*s - '0');
	}
	*seq = v;
	return s;
}

static const char *expect(const char *s, const char *lit)
{
	size_t n = strlen(lit);

	return strncmp(s, lit, n) ? NULL : s + n;
}

static const char *last_of(const char *line, size_t len, const char *key)
{
	size_t k = strlen(key);
	const char *p;

	if (len < k)
		return NULL;
	for (p = line + len - k;; p--) {
		if (!memcmp(p, key, k))
			return p;
		if (p == line)
			return NULL;
	}
}

/*
 * {...record...,"chain":{"seq":N,"prev":"<hex>","hash":"<hex>"}}, or the
 * chain inside the record's last member: {...,"unmapped":{...,"chain":{...}}}
 */
static bool parse_json(const char *line, size_t len, struct chained *c)
{
	const char *at = last_of(line, len, JSON_KEY "{\"seq\":");
	const char *s;
	cJSON *doc;
	bool ok;

	if (!at || at == line)
		return false;
	s = at + strlen(JSON_KEY "{\"seq\":");
	s = parse_seq(s, &c->seq);
	s = s ? expect(s, ",\"prev\":\"") : NULL;
	if (!s || !from_hex(s, c->prev))
		return false;
	s = expect(s + 2 * NETSEG_CHAIN_DIGEST, "\",\"hash\":\"");
	if (!s || !from_hex(s, c->hash))
		return false;
	s += 2 * NETSEG_CHAIN_DIGEST;
	if (s + 3 == line + len && !memcmp(s, "\"}}", 3))
		c->rec_tail = "}";
	else if (s + 4 == line + len && !memcmp(s, "\"}}}", 4))
		c->rec_tail = "}}";
	else
		return false;
	/* And the whole line must be one JSON object. */
	doc = cJSON_ParseWithLength(line, len);
	ok = cJSON_IsObject(doc);
	cJSON_Delete(doc);
	c->rec_len = at - line;
	return ok;
}

/* record cs6Label=chain cs6=N:<hex>:<hex> */
static bool parse_text(const char *line, size_t len, struct chained *c)
{
	const char *at = last_of(line, len, CEF_KEY);
	const char *s;

	if (!at || at == line)
		return false;
	s = parse_seq(at + strlen(CEF_KEY), &c->seq);
	s = s ? expect(s, ":") : NULL;
	if (!s || !from_hex(s, c->prev))
		return false;
	s = expect(s + 2 * NETSEG_CHAIN_DIGEST, ":");
	if (!s || !from_hex(s, c->hash))
		return false;
	if (s + 2 * NETSEG_CHAIN_DIGEST != line + len)
		return false;
	c->rec_len = at - line;
	c->rec_tail = NULL;
	return true;
}

static bool parse_line(const char *line, size_t len, struct chained *c)
{
	if (!len || memchr(line, '\0', len))
		return false;
	return line[0] == '{' ? parse_json(line, len, c) : parse_text(line, len, c);
}

/* Parsed and its hash matches its own prev and record. */
static int check_line(const char *line, size_t len, struct chained *c, bool *good)
{
	unsigned char h[NETSEG_CHAIN_DIGEST];
	int ret;

	*good = false;
	if (!parse_line(line, len, c))
		return 0;
	ret = digest(c->prev, line, c->rec_len, c->rec_tail, h);
	if (ret)
		return ret;
	*good = !memcmp(h, c->hash, NETSEG_CHAIN_DIGEST);
	return 0;
}

int netseg_chain_resume(struct netseg_chain *c, const char *path)
{
	size_t want = 2 * NETSEG_CHAIN_LINE_MAX, n = 0, start;
	struct chained ch;
	struct stat st;
	char *buf = NULL;
	ssize_t got;
	off_t off;
	bool good;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	off = st.st_size > (off_t)want ? st.st_size - (off_t)want : 0;
	buf = malloc(want + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (n < want && (got = pread(fd, buf + n, want - n, off + n)) > 0)
		n += got;
	if (got < 0) {
		ret = -errno;
		goto out;
	}
	while (n && buf[n - 1] == '\n')
		n--;
	ret = -ENODATA;
	if (!n)
		goto out;
	for (start = n; start && buf[start - 1] != '\n'; start--)
		;
	ret = check_line(buf + start, n - start, &ch, &good);
	if (!ret && !good)
		ret = -EBADMSG;
	if (!ret) {
		c->seq = ch.seq + 1;
		memcpy(c->prev, ch.hash, NETSEG_CHAIN_DIGEST);
	}
out:
	free(buf);
	close(fd);
	return ret;
}

/* ------------------------------------------------------------ verifying */

struct verifier {
	struct netseg_chain_report *r;
	const char *const *paths;
	bool started;
	__u64 expect; /* seq of the next record */
	unsigned char running[NETSEG_CHAIN_DIGEST];
	unsigned char genesis[NETSEG_CHAIN_DIGEST]; /* when from_genesis */
	size_t last_file;			    /* where the last good record was */
	__u64 last_line;
	/* looking ahead for seqs [miss_lo, miss_hi) after a gap */
	bool ahead;
	__u64 miss_lo, miss_hi;
	bool done;
};

static void bad(struct verifier *v, int status, size_t file, __u64 line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void bad(struct verifier *v, int status, size_t file, __u64 line, const char *fmt, ...)
{
	va_list ap;

	v->r->status = status;
	v->r->file = file;
	v->r->path = v->paths[file];
	v->r->line = line;
	va_start(ap, fmt);
	vsnprintf(v->r->detail, sizeof(v->r->detail), fmt, ap);
	va_end(ap);
	v->done = true;
}

static void accept_line(struct verifier *v, const struct chained *c, size_t file, __u64 line)
{
	struct netseg_chain_report *r = v->r;

	if (!v->started) {
		v->started = true;
		r->first_seq = c->seq;
		r->from_genesis = c->seq == 0;
		if (r->from_genesis) {
			memcpy(v->genesis, c->prev, NETSEG_CHAIN_DIGEST);
			to_hex(c->prev, r->genesis);
		}
	}
	memcpy(v->running, c->hash, NETSEG_CHAIN_DIGEST);
	v->expect = c->seq + 1;
	v->last_file = file;
	v->last_line = line;
	r->records++;
	r->last_seq = c->seq;
	to_hex(c->hash, r->last_hash);
}

/* Reading on after a gap: does a skipped record turn up? */
static void look_ahead(struct verifier *v, const char *line, size_t len, size_t file, __u64 lineno)
{
	struct chained c;

	if (parse_line(line, len, &c) && c.seq >= v->miss_lo && c.seq < v->miss_hi) {
		v->r->status = NETSEG_CHAIN_REORDERED;
		snprintf(v->r->detail, sizeof(v->r->detail),
			 "seq %" PRIu64 " follows seq %" PRIu64 "; seq %" PRIu64
			 " comes later, at %s:%" PRIu64,
			 (uint64_t)v->miss_hi, (uint64_t)(v->miss_lo - 1), (uint64_t)c.seq,
			 v->paths[file], (uint64_t)lineno);
		v->ahead = false;
		v->done = true;
	}
}

static int verify_line(struct verifier *v, const char *line, size_t len, size_t file, __u64 lineno)
{
	struct chained c;
	bool ok;
	int ret;

	if (v->ahead) {
		look_ahead(v, line, len, file, lineno);
		return 0;
	}
	ret = check_line(line, len, &c, &ok);
	if (ret)
		return ret;
	if (!ok) {
		if (!parse_line(line, len, &c))
			bad(v, NETSEG_CHAIN_CHANGED, file, lineno, "not a chained record");
		else
			bad(v, NETSEG_CHAIN_CHANGED, file, lineno,
			    "record seq %" PRIu64 " doesn't match its hash", (uint64_t)c.seq);
		return 0;
	}
	if (!v->started || !memcmp(c.prev, v->running, NETSEG_CHAIN_DIGEST)) {
		if (v->started && c.seq != v->expect)
			bad(v, NETSEG_CHAIN_CHANGED, file, lineno,
			    "seq %" PRIu64 " where %" PRIu64 " was due", (uint64_t)c.seq,
			    (uint64_t)v->expect);
		else
			accept_line(v, &c, file, lineno);
		return 0;
	}
	/* It doesn't chain from the record before it. */
	if (c.seq == v->expect) {
		/* In its place, so the one before was rewritten, hash and all. */
		bad(v, NETSEG_CHAIN_CHANGED, v->last_file, v->last_line,
		    "record seq %" PRIu64
		    " was rewritten: the next record chains from another digest",
		    (uint64_t)(c.seq - 1));
	} else if (c.seq == 0 && v->r->from_genesis && memcmp(c.prev, v->genesis, sizeof(c.prev))) {
		/* Another genesis: a restarted writer, or a cover for a cut. */
		bad(v, NETSEG_CHAIN_REMOVED, file, lineno,
		    "a new chain starts here: whatever followed seq %" PRIu64 " is unaccounted for",
		    (uint64_t)(v->expect - 1));
	} else if (c.seq > v->expect) {
		bad(v, NETSEG_CHAIN_REMOVED, file, lineno,
		    "seq %" PRIu64 " follows seq %" PRIu64 ": %" PRIu64 " record(s) missing",
		    (uint64_t)c.seq, (uint64_t)(v->expect - 1), (uint64_t)(c.seq - v->expect));
		v->done = false; /* read on: they may be elsewhere */
		v->ahead = true;
		v->miss_lo = v->expect;
		v->miss_hi = c.seq;
	} else {
		bad(v, NETSEG_CHAIN_REORDERED, file, lineno, "seq %" PRIu64 " after seq %" PRIu64,
		    (uint64_t)c.seq, (uint64_t)(v->expect - 1));
	}
	return 0;
}

static int verify_file(struct verifier *v, size_t file)
{
	FILE *f = fopen(v->paths[file], "re");
	char *line = NULL;
	size_t cap = 0;
	__u64 lineno = 0;
	ssize_t n;
	int ret = 0;

	if (!f)
		return -errno;
	while (!v->done && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			n--;
		ret = verify_line(v, line, n, file, lineno);
		if (ret)
			break;
	}
	if (!ret && ferror(f))
		ret = -EIO;
	free(line);
	fclose(f);
	return ret;
}

int netseg_chain_verify(const char *const paths[], size_t n, struct netseg_chain_report *r)
{
	struct verifier v = { .r = r, .paths = paths };
	size_t i;
	int ret;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < n && !v.done; i++) {
		ret = verify_file(&v, i);
		if (ret) {
			r->file = i;
			r->path = paths[i];
			snprintf(r->detail, sizeof(r->detail), "couldn't read %s: %s", paths[i],
				 strerror(-ret));
			return ret;
		}
	}
	/* A gap whose records never turned up: they were removed. */
	return 0;
}

const char *netseg_chain_status_name(int status)
{
	switch (status) {
	case NETSEG_CHAIN_OK:
		return "ok";
	case NETSEG_CHAIN_CHANGED:
		return "changed";
	case NETSEG_CHAIN_REMOVED:
		return "removed";
	case NETSEG_CHAIN_REORDERED:
		return "reordered";
	}
	return "unknown";
}
