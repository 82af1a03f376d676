// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one CIDR parser.  It grew out of the rule grammar's, whose errors
 * say what is wrong and where; the identity and prefilter paths used to
 * answer only "invalid CIDR" for the same mistakes.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefix.h"
#include "text.h"

int netseg_prefix_max(int family)
{
	return family == NETSEG_AF_INET ? 32 : family == NETSEG_AF_INET6 ? 128 : 0;
}

static int os_family(int family)
{
	return family == NETSEG_AF_INET ? AF_INET : AF_INET6;
}

static bool is_addr_char(char ch)
{
	return isxdigit((unsigned char)ch) || ch == '.' || ch == ':';
}

/* Zero the bits past plen; true if any were set. */
static bool mask_host_bits(__u8 addr[16], int plen)
{
	bool had = false;

	for (int b = 0; b < 16; b++) {
		int keep = plen - 8 * b;
		__u8 mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (__u8)(0xff << (8 - keep));

		had |= (addr[b] & ~mask) != 0;
		addr[b] &= mask;
	}
	return had;
}

/* Digits of a prefix length at s[*i], at most @max. */
static int scan_plen(const char *s, size_t *i, int max, int *plen, struct netseg_err *err)
{
	size_t start = *i;
	long v = 0;

	if (!isdigit((unsigned char)s[*i]))
		return netseg_err_set(err, (int)start + 1, "expected a prefix length after \"/\"");
	while (isdigit((unsigned char)s[*i])) {
		if (v <= 1000)
			v = v * 10 + (s[*i] - '0');
		(*i)++;
	}
	if (v > max)
		return netseg_err_set(err, (int)start + 1, "prefix length %.*s out of range 0-%d",
				      (int)(*i - start), s + start, max);
	*plen = (int)v;
	return 0;
}

int netseg_prefix_scan(const char *s, bool need_len, size_t *used, struct netseg_prefix *p,
		       struct netseg_err *err)
{
	char text[64], canon[INET6_ADDRSTRLEN], shown[32];
	struct netseg_prefix x = {};
	size_t n = 0;
	int plen;

	while (is_addr_char(s[n]) && n < sizeof(text) - 1) {
		text[n] = s[n];
		n++;
	}
	text[n] = '\0';
	if (!n)
		return netseg_err_set(
			err, 1,
			"expected an address or CIDR such as 198.18.0.0/15 or fd00::/8, found %s%s%s",
			*s ? "\"" : "", *s ? netseg_printable(s, shown, sizeof(shown)) : "the end",
			*s ? "\"" : "");
	if (is_addr_char(s[n]))
		return netseg_err_set(err, 1, "address \"%s...\" is too long", text);
	x.family = strchr(text, ':') ? NETSEG_AF_INET6 : NETSEG_AF_INET;
	if (inet_pton(os_family(x.family), text, x.addr) != 1)
		return netseg_err_set(err, 1, "\"%s\" is not a valid %s address", text,
				      x.family == NETSEG_AF_INET ? "IPv4" : "IPv6");
	plen = netseg_prefix_max(x.family);
	if (s[n] == '/') {
		n++;
		if (scan_plen(s, &n, plen, &plen, err))
			return -EINVAL;
	} else if (need_len) {
		return netseg_err_set(err, (int)n + 1,
				      "expected \"/\" and a prefix length after %s", text);
	}
	x.plen = plen;
	if (mask_host_bits(x.addr, plen)) {
		inet_ntop(os_family(x.family), x.addr, canon, sizeof(canon));
		return netseg_err_set(err, 1, "host bits set in %s/%d; did you mean %s/%d?", text,
				      plen, canon, plen);
	}
	*p = x;
	*used = n;
	return 0;
}

int netseg_prefix_parse(const char *text, struct netseg_prefix *p, struct netseg_err *err)
{
	char shown[32];
	size_t n;

	if (netseg_prefix_scan(text, false, &n, p, err))
		return -EINVAL;
	if (text[n])
		return netseg_err_set(err, (int)n + 1, "unexpected \"%s\" after the %s",
				      netseg_printable(text + n, shown, sizeof(shown)),
				      strchr(text, '/') && strchr(text, '/') < text + n ?
					      "prefix length" :
					      "address");
	return 0;
}

int netseg_prefix_set(struct netseg_prefix *p, int family, const void *addr, int plen)
{
	int max = netseg_prefix_max(family);

	if (!max || plen < 0 || plen > max)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->plen = plen;
	memcpy(p->addr, addr, max / 8);
	mask_host_bits(p->addr, plen);
	return 0;
}

void netseg_prefix_format(const struct netseg_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(os_family(p->family), p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->plen);
}

bool netseg_prefix_is_host(const struct netseg_prefix *p)
{
	return p->plen == netseg_prefix_max(p->family);
}

void netseg_prefix_to_lpm(const struct netseg_prefix *p, struct netseg_lpm_key *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = NETSEG_LPM_PLEN_HDR + p->plen;
	k->family = p->family;
	memcpy(k->addr, p->addr, sizeof(k->addr));
}

int netseg_prefix_from_lpm(struct netseg_prefix *p, const struct netseg_lpm_key *k)
{
	return netseg_prefix_set(p, k->family, k->addr, (int)k->prefixlen - NETSEG_LPM_PLEN_HDR);
}

int netseg_prefix_cmp(const struct netseg_prefix *a, const struct netseg_prefix *b)
{
	int c = (int)a->family - (int)b->family;

	if (!c)
		c = memcmp(a->addr, b->addr, sizeof(a->addr));
	return c ? c : (int)a->plen - (int)b->plen;
}

static int cmp_qsort(const void *a, const void *b)
{
	return netseg_prefix_cmp(a, b);
}

size_t netseg_prefix_sort_unique(struct netseg_prefix *v, size_t n)
{
	size_t i, out = 0;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_qsort);
	for (i = 0; i < n; i++)
		if (!out || netseg_prefix_cmp(&v[out - 1], &v[i]))
			v[out++] = v[i];
	return out;
}

/* One line of a list (@len bytes, no newline): blanks, an optional
 * prefix, an optional comment.  1 with *p set, 0 for a line without a
 * prefix, -EINVAL with @err's column counted from the line's start. */
static int scan_list_line(const char *s, size_t len, struct netseg_prefix *p,
			  struct netseg_err *err)
{
	const char *hash = memchr(s, '#', len);
	char text[NETSEG_PREFIX_STRLEN + 16];
	size_t i = 0;

	if (hash)
		len = hash - s;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == len)
		return 0;
	if (len - i >= sizeof(text))
		return netseg_err_set(err, (int)i + 1,
				      "%zu characters is too long for an address or CIDR; "
				      "one per line",
				      len - i);
	memcpy(text, s + i, len - i);
	text[len - i] = '\0';
	if (netseg_prefix_parse(text, p, err)) {
		err->col += (int)i;
		return -EINVAL;
	}
	return 1;
}

int netseg_prefix_list_parse(const char *name, const char *text, struct netseg_prefix **out,
			     size_t *nout, struct netseg_err *err)
{
	struct netseg_prefix *v = NULL, *nv, p;
	size_t n = 0, cap = 0, line = 1;
	struct netseg_err pe = {};
	const char *s = text, *nl;
	int r;

	for (; *s; s = nl ? nl + 1 : s + strlen(s), line++) {
		nl = strchr(s, '\n');
		r = scan_list_line(s, nl ? (size_t)(nl - s) : strlen(s), &p, &pe);
		if (r < 0) {
			netseg_err_set(err, pe.col, "%s:%zu:%d: %s", name, line, pe.col, pe.msg);
			free(v);
			return -EINVAL;
		}
		if (!r)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				netseg_err_set(err, 0, "out of memory");
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = p;
	}
	*nout = netseg_prefix_sort_unique(v, n);
	*out = v;
	return 0;
}
