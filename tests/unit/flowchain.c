// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hash-chained flow logs: 100 records (native JSON, OCSF, ECS and CEF
 * lines in turn) across 3 rotated files verify OK; then a changed byte, a
 * deleted record, swapped records, a deleted middle file and friends are
 * each reported as the first bad record, by file and line, with its kind.
 */
#define _GNU_SOURCE /* asprintf */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "flowrec.h"
#include "ocsf.h"
#include "tap.h"

#define NREC 100
#define NFILES 3

static char dir[] = "/tmp/netseg-flowchain-XXXXXX";
static char paths[NFILES][64];
static const char *pathv[NFILES] = { paths[0], paths[1], paths[2] };
/* Records per file: the writer rotates after 34 and after 67. */
static const int split[NFILES] = { 34, 33, 33 };

static const unsigned char genesis[NETSEG_CHAIN_DIGEST] = "netseg flowchain test genesis!!";
static char *recs[NREC];	 /* formatted records, unchained */
static char *lines[NREC];	 /* as written */
static struct netseg_chain head; /* after the last line */

static char *record(int i)
{
	struct netseg_event ev = {
		.ts_ns = 1000 + i,
		.flow_id = 1000 + i,
		.hook = NETSEG_HOOK_TC_INGRESS,
		.family = NETSEG_AF_INET,
		.proto = IPPROTO_TCP,
		.rule_id = i % 3,
		.src_id = 300,
		.dst_id = 301,
		.sport = htons(40000 + i),
		.dport = htons(443),
	};
	struct netseg_flowrec r;
	char buf[NETSEG_FLOWFMT_MAX];

	ev.type = i % 5 == 4 ? NETSEG_EV_DENY : NETSEG_EV_FLOW_START;
	ev.reason = ev.type == NETSEG_EV_DENY ? NETSEG_REASON_POLICY : 0;
	inet_pton(AF_INET, "198.18.1.2", ev.saddr);
	inet_pton(AF_INET, "198.18.2.2", ev.daddr);
	if (netseg_flowrec_from_event(&ev, 1784800815000000000LL, NULL, &r) ||
	    netseg_flowfmt(i % 4, &r, NULL, buf, sizeof(buf)) <= 0)
		bail("couldn't format record %d", i);
	return strdup(buf);
}

/* Record @i is in format i % 4 (record()): its chain goes where that format wants it. */
static char *chain(struct netseg_chain *c, const char *rec, int i)
{
	char out[NETSEG_CHAIN_LINE_MAX];
	int n = netseg_chain_line_in(c, netseg_flowfmt_chain_member(i % 4), rec, strlen(rec), out,
				     sizeof(out));

	if (n <= 0)
		bail("netseg_chain_line: %d", n);
	return strdup(out);
}

/* Write @n lines, split over the files as @split says (NULL = skip). */
static void write_files(char *const *l, int n)
{
	int f, i = 0, k;

	for (f = 0; f < NFILES; f++) {
		FILE *fp = fopen(paths[f], "w");

		if (!fp)
			bail("can't write %s", paths[f]);
		for (k = 0; k < split[f] && i < n; k++, i++)
			if (l[i])
				fprintf(fp, "%s\n", l[i]);
		for (; f == NFILES - 1 && i < n; i++) /* extra lines: last file */
			if (l[i])
				fprintf(fp, "%s\n", l[i]);
		fclose(fp);
	}
}

static struct netseg_chain_report verify(int nfiles, const char *const *pv)
{
	struct netseg_chain_report r;
	int ret = netseg_chain_verify(pv, nfiles, &r);

	if (ret)
		diag("verify: %d (%s)", ret, r.detail);
	else if (r.status)
		diag("%s at %s:%llu: %s", netseg_chain_status_name(r.status), r.path,
		     (unsigned long long)r.line, r.detail);
	return r;
}

/* Expect the first bad record at (file, line), 1-based line. */
static void expect_bad(const char *what, int status, int file, int line)
{
	struct netseg_chain_report r = verify(NFILES, pathv);

	ok(r.status == status && r.file == (size_t)file && r.line == (__u64)line,
	   "%s: %s at file %d line %d", what, netseg_chain_status_name(status), file + 1, line);
}

/* Overall record index -> (file, 1-based line) in the intact layout. */
static void where(int idx, int *file, int *line)
{
	int f = 0;

	while (idx >= split[f]) {
		idx -= split[f];
		f++;
	}
	*file = f;
	*line = idx + 1;
}

static void build(void)
{
	struct netseg_chain c;
	int i;

	if (!mkdtemp(dir))
		bail("mkdtemp");
	for (i = 0; i < NFILES; i++)
		snprintf(paths[i], sizeof(paths[i]), "%s/flows.log.%d", dir, NFILES - 1 - i);
	if (netseg_chain_init(&c, genesis))
		bail("netseg_chain_init");
	for (i = 0; i < NREC; i++) {
		recs[i] = record(i);
		lines[i] = chain(&c, recs[i], i);
	}
	head = c;
	write_files(lines, NREC);
}

/* The format as documented, recomputed here with libcrypto directly. */
static void test_format(void)
{
	unsigned char md[32];
	char hex[65], want[200];
	unsigned int n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	cJSON *doc, *ch, *doc2, *ch2;
	int i;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, genesis, 32);
	EVP_DigestUpdate(ctx, recs[0], strlen(recs[0]));
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);

	doc = cJSON_Parse(lines[0]);
	ch = cJSON_GetObjectItemCaseSensitive(doc, "chain");
	ok(cJSON_IsObject(doc) && cJSON_IsObject(ch), "a chained JSON line is still one object");
	ok(cJSON_IsNumber(cJSON_GetObjectItem(ch, "seq")) &&
		   cJSON_GetObjectItem(ch, "seq")->valueint == 0,
	   "chain.seq is the number 0");
	ok(cJSON_IsString(cJSON_GetObjectItem(ch, "hash")) &&
		   !strcmp(cJSON_GetObjectItem(ch, "hash")->valuestring, hex),
	   "chain.hash = SHA-256(genesis || record)");
	ok(ch && !ch->next, "chain is the last member");
	ok(!strncmp(lines[0], recs[0], strlen(recs[0]) - 1),
	   "the record's bytes come first, unchanged");
	cJSON_Delete(doc);

	doc = cJSON_Parse(lines[1]); /* OCSF */
	ch = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "unmapped"), "chain");
	ok(cJSON_IsNumber(cJSON_GetObjectItem(doc, "class_uid")) && cJSON_IsObject(ch),
	   "an OCSF line keeps its members, the chain in unmapped.chain");
	ok(!cJSON_GetObjectItem(doc, "chain"), "OCSF: no top-level chain (not a 4001 attribute)");
	ok(ch && !ch->next && cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "unmapped"), "verdict"),
	   "OCSF: chain is unmapped's last member, after its own");
	ok(ch && cJSON_IsNumber(cJSON_GetObjectItem(ch, "seq")) &&
		   cJSON_GetObjectItem(ch, "seq")->valueint == 1,
	   "OCSF: unmapped.chain.seq is 1");
	ok(!strncmp(lines[1], recs[1], strlen(recs[1]) - 2),
	   "OCSF: the record's bytes come first, unchanged");
	cJSON_Delete(doc);

	for (i = 1; i < NREC; i += 4) { /* every chained OCSF line */
		const char *bad;

		doc = cJSON_Parse(lines[i]);
		bad = doc ? ocsf_unknown_attr(doc) : "(no JSON)";
		cJSON_Delete(doc);
		if (bad) {
			ok(false,
			   "chained OCSF line %d: top-level \"%s\" is no OCSF 1.8.0 attribute", i,
			   bad);
			break;
		}
	}
	if (i >= NREC)
		ok(true, "every chained OCSF line has only OCSF 1.8.0 top-level attributes");

	doc = cJSON_Parse(lines[2]); /* ECS */
	ch = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "netseg"), "chain");
	ok(cJSON_IsObject(cJSON_GetObjectItem(doc, "ecs")) && cJSON_IsObject(ch) &&
		   !cJSON_GetObjectItem(doc, "chain"),
	   "an ECS line carries netseg.chain, no top-level chain");
	cJSON_Delete(doc);

	snprintf(want, sizeof(want), " cs6Label=chain cs6=3:");
	ok(!strncmp(lines[3], "CEF:0|", 6) && strstr(lines[3], want) &&
		   strlen(strstr(lines[3], want)) == strlen(want) + 64 + 1 + 64,
	   "a CEF line ends with cs6Label=chain cs6=SEQ:PREV:HASH");

	/* Rotation: the first line of file 2 names file 1's last digest.
	 * Records 33 and 34 are OCSF and ECS: the chain is one level down. */
	doc = cJSON_Parse(lines[split[0] - 1]);
	doc2 = cJSON_Parse(lines[split[0]]);
	ch = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "unmapped"), "chain");
	ch2 = cJSON_GetObjectItem(cJSON_GetObjectItem(doc2, "netseg"), "chain");
	ok(ch && cJSON_GetObjectItem(ch2, "prev") &&
		   !strcmp(cJSON_GetObjectItem(ch, "hash")->valuestring,
			   cJSON_GetObjectItem(ch2, "prev")->valuestring),
	   "first line of the next file: prev = the previous file's last hash");
	cJSON_Delete(doc);
	cJSON_Delete(doc2);
}

static void test_ok(void)
{
	struct netseg_chain_report r = verify(NFILES, pathv);
	char hex[65];
	int i;

	is_int(r.status, NETSEG_CHAIN_OK, "intact chain of %d records in %d files verifies", NREC,
	       NFILES);
	is_int(r.records, NREC, "all records checked");
	ok(r.first_seq == 0 && r.last_seq == NREC - 1, "seq 0 to %d", NREC - 1);
	ok(r.from_genesis, "starts at the genesis");
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", genesis[i]);
	is_str(r.genesis, hex, "genesis reported");
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", head.prev[i]);
	is_str(r.last_hash, hex, "last hash = the writer's head");

	r = verify(NFILES - 1, pathv + 1);
	ok(r.status == NETSEG_CHAIN_OK && !r.from_genesis && r.first_seq == (__u64)split[0],
	   "oldest file rotated away: OK, but not from the genesis (starts at seq %d)", split[0]);
}

static void test_changed_byte(void)
{
	char *saved;
	int f, l;

	/* A digit of a port in record 50 (OCSF), in the record part. */
	saved = lines[50];
	lines[50] = strdup(saved);
	*strstr(lines[50], "40050") = '5';
	write_files(lines, NREC);
	where(50, &f, &l);
	expect_bad("one byte changed in a JSON record", NETSEG_CHAIN_CHANGED, f, l);
	free(lines[50]);
	lines[50] = saved;

	/* A CEF record (record 83: 83 % 4 == 3). */
	saved = lines[83];
	lines[83] = strdup(saved);
	*strstr(lines[83], "act=") = 'A';
	write_files(lines, NREC);
	where(83, &f, &l);
	expect_bad("one byte changed in a CEF record", NETSEG_CHAIN_CHANGED, f, l);
	free(lines[83]);

	/* The last hex digit of its own hash. */
	lines[83] = strdup(saved);
	lines[83][strlen(lines[83]) - 1] ^= 1;
	write_files(lines, NREC);
	expect_bad("one byte changed in a hash", NETSEG_CHAIN_CHANGED, f, l);
	free(lines[83]);
	lines[83] = saved;

	/* A seq edited alone (it isn't hashed, but the link says where it belongs). */
	saved = lines[12];
	lines[12] = strdup(saved);
	*strstr(lines[12], "\"seq\":12") = '\0';
	{
		char *fixed;

		if (asprintf(&fixed, "%s\"seq\":13%s", lines[12],
			     strstr(saved, "\"seq\":12") + strlen("\"seq\":12")) < 0)
			bail("asprintf");
		free(lines[12]);
		lines[12] = fixed;
	}
	write_files(lines, NREC);
	where(12, &f, &l);
	expect_bad("seq edited", NETSEG_CHAIN_CHANGED, f, l);
	free(lines[12]);
	lines[12] = saved;
}

/* Edited and re-hashed: the next record's link gives it away. */
static void test_rehashed(void)
{
	struct netseg_chain c;
	char *saved = lines[40], *rec;
	int f, l;

	netseg_chain_init(&c, genesis);
	for (int i = 0; i < 40; i++)
		free(chain(&c, recs[i], i)); /* replay up to 40 */
	rec = strdup(recs[40]);
	*strstr(rec, "40040") = '9';
	lines[40] = chain(&c, rec, 40);
	write_files(lines, NREC);
	where(40, &f, &l);
	expect_bad("record edited and its hash recomputed", NETSEG_CHAIN_CHANGED, f, l);
	free(lines[40]);
	free(rec);
	lines[40] = saved;
}

static void test_removed(void)
{
	char *saved;
	int f, l;

	saved = lines[60];
	lines[60] = NULL;
	write_files(lines, NREC);
	where(60, &f, &l); /* record 61 is now where 60 was */
	expect_bad("record deleted", NETSEG_CHAIN_REMOVED, f, l);
	lines[60] = saved;

	/* The last record of the first file: reported on the second's line 1. */
	saved = lines[split[0] - 1];
	lines[split[0] - 1] = NULL;
	write_files(lines, NREC);
	expect_bad("last record of a file deleted", NETSEG_CHAIN_REMOVED, 1, 1);
	lines[split[0] - 1] = saved;

	/* Three in a row (restore() writes them back). */
	for (int i = 20; i < 23; i++) {
		free(lines[i]);
		lines[i] = NULL;
	}
	write_files(lines, NREC);
	where(20, &f, &l);
	expect_bad("three records deleted", NETSEG_CHAIN_REMOVED, f, l);
}

static void restore(void)
{
	struct netseg_chain c;
	int i;

	netseg_chain_init(&c, genesis);
	for (i = 0; i < NREC; i++) {
		free(lines[i]);
		lines[i] = chain(&c, recs[i], i);
	}
	write_files(lines, NREC);
}

static void swap(int a, int b)
{
	char *t = lines[a];

	lines[a] = lines[b];
	lines[b] = t;
}

static void test_reordered(void)
{
	int f, l;

	swap(20, 21);
	write_files(lines, NREC);
	where(20, &f, &l);
	expect_bad("two adjacent records swapped", NETSEG_CHAIN_REORDERED, f, l);
	swap(20, 21);

	swap(70, 75);
	write_files(lines, NREC);
	where(70, &f, &l);
	expect_bad("two records five apart swapped", NETSEG_CHAIN_REORDERED, f, l);
	swap(70, 75);

	/* Across a rotation: the last of file 1 and the first of file 2. */
	swap(split[0] - 1, split[0]);
	write_files(lines, NREC);
	expect_bad("records swapped across files", NETSEG_CHAIN_REORDERED, 0, split[0]);
	swap(split[0] - 1, split[0]);

	write_files(lines, NREC);
	is_int(verify(NFILES, pathv).status, NETSEG_CHAIN_OK, "swapped back: OK again");
}

static void test_files(void)
{
	const char *two[2] = { paths[0], paths[2] };
	const char *wrong_order[3] = { paths[1], paths[0], paths[2] };
	const char *missing[2] = { paths[0], "/nonexistent/flows.log" };
	struct netseg_chain_report r;

	r = verify(2, two);
	ok(r.status == NETSEG_CHAIN_REMOVED && r.file == 1 && r.line == 1 &&
		   !strcmp(r.path, paths[2]),
	   "whole middle file deleted: removed at the next file's line 1");
	ok(strstr(r.detail, "33 record(s) missing") != NULL, "and how many: %s", r.detail);

	r = verify(3, wrong_order);
	ok(r.status == NETSEG_CHAIN_REORDERED && r.file == 1 && r.line == 1,
	   "files given out of order: reordered at the second file's line 1");

	is_int(netseg_chain_verify(missing, 2, &r), -ENOENT, "unreadable file: -ENOENT");
	ok(r.path && !strcmp(r.path, missing[1]), "and which one");
}

static void test_other_damage(void)
{
	char *saved = lines[NREC - 1], *extra[NREC + 1];
	int i, f, l;

	/* A crash mid-write: the last line cut short. */
	lines[NREC - 1] = strndup(saved, strlen(saved) / 2);
	write_files(lines, NREC);
	expect_bad("last line cut short", NETSEG_CHAIN_CHANGED, NFILES - 1, split[NFILES - 1]);
	free(lines[NREC - 1]);
	lines[NREC - 1] = saved;

	/* A record replayed later: record 30 again after 40. */
	for (i = 0; i <= 40; i++)
		extra[i] = lines[i];
	extra[41] = lines[30];
	for (i = 41; i < NREC; i++)
		extra[i + 1] = lines[i];
	write_files(extra, NREC + 1);
	where(41, &f, &l);
	expect_bad("record replayed", NETSEG_CHAIN_REORDERED, f, l);

	/* A new chain started mid-way hides the end of the old one. */
	{
		struct netseg_chain c;

		netseg_chain_init(&c, NULL);
		saved = lines[90];
		lines[90] = chain(&c, recs[90], 90);
		write_files(lines, NREC);
		where(90, &f, &l);
		expect_bad("new genesis mid-way", NETSEG_CHAIN_REMOVED, f, l);
		free(lines[90]);
		lines[90] = saved;
	}

	/* An empty line. */
	saved = lines[5];
	lines[5] = "";
	write_files(lines, NREC);
	expect_bad("empty line", NETSEG_CHAIN_CHANGED, 0, 6);
	lines[5] = saved;
	write_files(lines, NREC);
}

static void test_resume(void)
{
	struct netseg_chain c;
	char *more;
	char empty[96];
	FILE *fp;

	if (!is_int(netseg_chain_resume(&c, paths[NFILES - 1]), 0, "resume from the newest file"))
		return;
	ok(c.seq == NREC && !memcmp(c.prev, head.prev, 32), "resumed at seq %d after the head",
	   NREC);
	more = chain(&c, recs[0], 0);
	fp = fopen(paths[NFILES - 1], "a");
	fprintf(fp, "%s\n", more);
	fclose(fp);
	is_int(verify(NFILES, pathv).records, NREC + 1,
	       "a record appended after resuming verifies");
	free(more);

	snprintf(empty, sizeof(empty), "%s/empty.log", dir);
	fp = fopen(empty, "w");
	fclose(fp);
	is_int(netseg_chain_resume(&c, empty), -ENODATA, "resume from an empty file: -ENODATA");
	fp = fopen(empty, "w");
	fprintf(fp, "%s\nnot a record\n", lines[0]);
	fclose(fp);
	is_int(netseg_chain_resume(&c, empty), -EBADMSG, "resume from a damaged tail: -EBADMSG");
	unlink(empty);
	is_int(netseg_chain_resume(&c, empty), -ENOENT, "resume from no file: -ENOENT");
}

static void test_line_errors(void)
{
	struct netseg_chain c;
	char out[64];

	netseg_chain_init(&c, genesis);
	is_int(netseg_chain_line(&c, "{\"a\":1}\n{}", 10, out, sizeof(out)), -EINVAL,
	       "a newline inside a record is refused");
	is_int(netseg_chain_line(&c, "{\"a\":1", 6, out, sizeof(out)), -EINVAL,
	       "a JSON record that doesn't end in } is refused");
	is_int(netseg_chain_line(&c, "", 0, out, sizeof(out)), -EINVAL,
	       "an empty record is refused");
	is_int(netseg_chain_line(&c, "{\"a\":1}", 7, out, sizeof(out)), -ENOSPC,
	       "too small an output buffer");
	is_int(netseg_chain_line_in(&c, "unmapped", "{\"a\":1}", 7, out, sizeof(out)), -EINVAL,
	       "no member to put the chain in: refused");
	is_int(netseg_chain_line_in(&c, "unmapped", "{\"unmapped\":{}}", 15, out, sizeof(out)),
	       -EINVAL, "an empty member: refused");
	is_int(netseg_chain_line_in(&c, "unmapped", "{\"unmapped\":{\"a\":1},\"b\":2}", 27, out,
				    sizeof(out)),
	       -EINVAL, "the member isn't the last one: refused");
	is_int(netseg_chain_line_in(&c, "unmapped", "{\"x\":{\"unmapped\":{\"a\":1}}}", 29, out,
				    sizeof(out)),
	       -EINVAL, "only nested deeper: refused");
	is_int(netseg_chain_line_in(&c, "unmapped", "{\"unmapped\":\"}\"}", 16, out, sizeof(out)),
	       -EINVAL, "a string, not an object: refused");
	ok(c.seq == 0 && !memcmp(c.prev, genesis, 32), "failures don't advance the chain");
	{
		static const char rec[] = "{\"s\":\"\\\"}\",\"unmapped\":{\"a\":\"}\"}}";
		static const char want[] =
			"{\"s\":\"\\\"}\",\"unmapped\":{\"a\":\"}\",\"chain\":{\"seq\":0,";
		char big[512];

		ok(netseg_chain_line_in(&c, "unmapped", rec, strlen(rec), big, sizeof(big)) > 0 &&
			   !strncmp(big, want, strlen(want)),
		   "braces and quotes inside strings don't confuse it");
	}
}

/*
 * Files written when the chain was a top-level member of every JSON line
 * (OCSF and ECS included) still verify and can be continued.  The fixture
 * was written by that code: OCSF, ECS, OCSF (a deny), native, OCSF.
 */
static void test_old_format(void)
{
	char fixture[512], copy[96], *more, *p;
	const char *pv[1];
	struct netseg_chain c;
	struct netseg_chain_report r;
	FILE *in, *out;
	int ch;

	snprintf(fixture, sizeof(fixture), "%s", __FILE__);
	p = strrchr(fixture, '/');
	snprintf(p ? p + 1 : fixture, sizeof(fixture) - (p ? p + 1 - fixture : 0),
		 "data/chain-top-level.log");
	pv[0] = fixture;
	r = verify(1, pv);
	ok(r.status == NETSEG_CHAIN_OK && r.records == 5 && r.from_genesis,
	   "a file with the chain at the top level of OCSF/ECS lines verifies (%llu records)",
	   (unsigned long long)r.records);

	snprintf(copy, sizeof(copy), "%s/old.log", dir);
	in = fopen(fixture, "r");
	out = fopen(copy, "w");
	if (!in || !out)
		bail("can't copy %s", fixture);
	while ((ch = fgetc(in)) != EOF)
		fputc(ch, out);
	fclose(in);
	fclose(out);
	if (!is_int(netseg_chain_resume(&c, copy), 0, "resume from an old-format file"))
		return;
	more = chain(&c, recs[1], 1); /* OCSF, new placement */
	out = fopen(copy, "a");
	fprintf(out, "%s\n", more);
	fclose(out);
	free(more);
	pv[0] = copy;
	r = verify(1, pv);
	ok(r.status == NETSEG_CHAIN_OK && r.records == 6,
	   "an old-format file continued in the new placement verifies");

	/* The same check still catches an edit in an old-format line. */
	out = fopen(copy, "w");
	in = fopen(fixture, "r");
	while ((ch = fgetc(in)) != EOF)
		fputc(ch == 'O' ? 'o' : ch, out); /* "Open" -> "open" */
	fclose(in);
	fclose(out);
	r = verify(1, pv);
	ok(r.status == NETSEG_CHAIN_CHANGED && r.line == 1, "an edited old-format line is caught");
	unlink(copy);
}

static void cleanup(void)
{
	int i;

	for (i = 0; i < NFILES; i++)
		unlink(paths[i]);
	rmdir(dir);
}

int main(void)
{
	build();
	test_format();
	test_ok();
	test_changed_byte();
	test_rehashed();
	test_removed();
	restore();
	test_reordered();
	test_files();
	test_other_damage();
	test_resume();
	test_line_errors();
	test_old_format();
	cleanup();
	for (int i = 0; i < NREC; i++) {
		free(recs[i]);
		free(lines[i]);
	}
	return tap_done();
}
