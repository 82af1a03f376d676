// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rule sets: .rules files report every error with file:line:col and keep
 * parsing; JSON takes the "rule" string and the split fields; the JSON
 * written for the state file reads back as the same rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "rule.h"
#include "tap.h"

static const char rules_text[] = "# netseg policy\n"
				 "\n"
				 "allow frontend -> api:443 --log\n"
				 "allow frontend->api:tcp/80,70000\n" /* line 4: bad port */
				 "deny * -> db   # nobody talks to db\n"
				 "deny api -> db:5432 --audit\n" /* line 6: audit on deny */
				 "allow api to db port 5432 --comment \"reads only\"\n"
				 "allow 198.18.1.0/16 -> api\n"		    /* line 8: host bits */
				 "allow world -> frontend:tcp/443 --audit"; /* no final newline */

static void test_rules_errors(void)
{
	struct netseg_errlist errs = { 0 };
	struct netseg_ruleset rs = { 0 };
	int ret;

	ret = netseg_ruleset_parse_buf("policy.rules", rules_text, strlen(rules_text), &rs, &errs);
	is_int(ret, -EINVAL, "a file with errors fails");
	if (!is_int(errs.n, 3, "all three errors reported"))
		goto out;
	is_str(errs.msgs[0], "policy.rules:4:28: port 70000 out of range 1-65535",
	       "first error: file, line, column");
	is_str(errs.msgs[1], "policy.rules:6:21: --audit applies only to allow rules",
	       "second error");
	is_str(errs.msgs[2],
	       "policy.rules:8:7: host bits set in 198.18.1.0/16; did you mean 198.18.0.0/16?",
	       "third error");
	is_int(rs.n, 4, "the four good lines were still parsed");
	ok(rs.n == 4 && rs.rules[3].flags == NETSEG_RULEF_AUDIT &&
		   !strcmp(rs.rules[3].src, "world"),
	   "the line after the last error parsed");
out:
	netseg_errlist_free(&errs);
	netseg_ruleset_free(&rs);
}

static void test_rules_good(void)
{
	static const char text[] = "allow frontend -> api:443 --log\r\n"
				   "deny * -> db # legacy\n"
				   "   \n"
				   "allow api to db port 5432 --comment \"reads only\"\n";
	struct netseg_errlist errs = { 0 };
	struct netseg_ruleset rs = { 0 };
	char buf[256];

	if (!is_int(netseg_ruleset_parse_buf("ok.rules", text, strlen(text), &rs, &errs), 0,
		    "good .rules text parses"))
		goto out;
	is_int(errs.n, 0, "no errors");
	if (!is_int(rs.n, 3, "three rules"))
		goto out;
	netseg_rule_format_line(&rs.rules[0], buf, sizeof(buf));
	is_str(buf, "allow frontend -> api:tcp/443 --log", "CRLF line");
	netseg_rule_format_line(&rs.rules[1], buf, sizeof(buf));
	is_str(buf, "deny * -> db", "rule with trailing comment");
	is_str(rs.rules[2].comment, "reads only", "comment kept");
	is_int(rs.rules[0].id, 0, "no id before the daemon assigns one");
	{
		__u32 next = 40;

		rs.rules[1].id = 7;
		netseg_ruleset_assign_ids(&rs, &next);
		ok(rs.rules[0].id == 40 && rs.rules[1].id == 7 && rs.rules[2].id == 41 &&
			   next == 42,
		   "assign_ids numbers only the rules without an id");
	}
out:
	netseg_errlist_free(&errs);
	netseg_ruleset_free(&rs);
}

static void test_nul_byte(void)
{
	static const char text[] = "allow a->b\0 garbage\nallow c->d\n";
	struct netseg_errlist errs = { 0 };
	struct netseg_ruleset rs = { 0 };

	is_int(netseg_ruleset_parse_buf("nul.rules", text, sizeof(text) - 1, &rs, &errs), -EINVAL,
	       "NUL byte in a line is an error");
	if (is_int(errs.n, 1, "one error"))
		is_str(errs.msgs[0], "nul.rules:1:11: line contains a NUL byte", "NUL message");
	is_int(rs.n, 1, "the next line still parsed");
	netseg_errlist_free(&errs);
	netseg_ruleset_free(&rs);
}

static const char json_text[] =
	"{\"rules\":[\n"
	" {\"action\":\"allow\",\"rule\":\"frontend->api:443\",\"audit\":false,\"log\":true,"
	"\"comment\":\"web\"},\n"
	" {\"action\":\"deny\",\"src\":\"*\",\"dst\":\"db\",\"proto\":\"tcp\","
	"\"ports\":[\"5432\",\"6000-6010\", 7000]},\n"
	" {\"id\":12,\"action\":\"allow\",\"src\":\"a\",\"dst\":\"fd00:1::/64\"},\n"
	" {\"action\":\"allow\",\"src\":\"a\",\"dst\":\"b\",\"proto\":\"icmp\",\"ports\":[\"8\"]},\n"
	" {\"action\":\"allow\",\"src\":\"a\",\"dst\":\"b\",\"ports\":[53]}\n"
	"]}\n";

static void test_json_good(void)
{
	static const char *const want[] = {
		"allow frontend -> api:tcp/443 --log --comment \"web\"",
		"deny * -> db:tcp/5432,6000-6010,7000",
		"allow a -> fd00:1::/64",
		"allow a -> b:icmp/8",
		"allow a -> b:tcp/53",
	};
	struct netseg_errlist errs = { 0 };
	struct netseg_ruleset rs = { 0 }, back = { 0 };
	cJSON *json = NULL;
	char buf[256];
	size_t i;

	if (!is_int(netseg_ruleset_parse_buf("policy.json", json_text, strlen(json_text), &rs,
					     &errs),
		    0, "JSON rule set parses"))
		diag("%s", errs.n ? errs.msgs[0] : "(no message)");
	if (!is_int(rs.n, 5, "five rules"))
		goto out;
	for (i = 0; i < rs.n; i++) {
		netseg_rule_format_line(&rs.rules[i], buf, sizeof(buf));
		is_str(buf, want[i], "JSON rule %zu", i);
	}
	is_int(rs.rules[2].id, 12, "id read from JSON");

	json = netseg_ruleset_to_json(&rs);
	if (!ok(json != NULL, "to_json"))
		goto out;
	is_int(netseg_ruleset_from_json(json, "state", &back, &errs), 0, "from_json(to_json)");
	if (!is_int(back.n, rs.n, "same rule count after the round trip"))
		goto out;
	for (i = 0; i < rs.n; i++)
		ok(netseg_rule_same(&rs.rules[i], &back.rules[i]) &&
			   rs.rules[i].id == back.rules[i].id &&
			   rs.rules[i].flags == back.rules[i].flags &&
			   !strcmp(rs.rules[i].comment, back.rules[i].comment),
		   "rule %zu survives the JSON round trip", i);
	{
		cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItem(json, "rules"), 0);
		char *s = cJSON_PrintUnformatted(o);

		is_str(s,
		       "{\"action\":\"allow\",\"rule\":\"frontend -> api:tcp/443\","
		       "\"audit\":false,\"log\":true,\"comment\":\"web\"}",
		       "to_json shape");
		free(s);
	}
out:
	cJSON_Delete(json);
	netseg_errlist_free(&errs);
	netseg_ruleset_free(&rs);
	netseg_ruleset_free(&back);
}

static void test_json_errors(void)
{
	static const char text[] =
		"{\"rules\":[\n"
		" {\"action\":\"permit\",\"rule\":\"a->b\"},\n"
		" {\"action\":\"allow\",\"rule\":\"a->b:70000\"},\n"
		" {\"action\":\"deny\",\"src\":\"*\",\"dst\":\"db\",\"ports\":[\"9000-8000\"]},\n"
		" {\"action\":\"deny\",\"rule\":\"a->b\",\"audit\":true},\n"
		" {\"action\":\"allow\",\"rule\":\"a->b\",\"src\":\"a\"},\n"
		" {\"action\":\"allow\",\"src\":\"a\",\"dst\":\"b\",\"proto\":\"http\"},\n"
		" {\"action\":\"allow\",\"rule\":\"a->b\",\"acton\":1},\n"
		" {\"action\":\"allow\",\"dst\":\"b\"},\n"
		" {\"action\":\"allow\",\"rule\":\"a->b\",\"id\":-1},\n"
		" {\"action\":\"allow\",\"rule\":\"a->b\"}\n"
		"]}\n";
	static const char *const want[] = {
		"p.json: rules[0]: \"action\" must be \"allow\" or \"deny\"",
		"p.json: rules[1]: \"rule\", column 6: port 70000 out of range 1-65535",
		"p.json: rules[2]: \"ports\": reversed port range 9000-8000 (did you mean 8000-9000?)",
		"p.json: rules[3]: \"audit\" applies only to allow rules",
		"p.json: rules[4]: give either \"rule\" or \"src\"/\"dst\"/\"proto\"/\"ports\", not both",
		"p.json: rules[5]: \"proto\": unknown protocol \"http\" (expected tcp, udp, sctp, icmp, icmpv6 or any)",
		"p.json: rules[6]: unknown field \"acton\"",
		"p.json: rules[7]: missing \"src\" (or give \"rule\")",
		"p.json: rules[8]: \"id\" must be an integer from 0 to 4294967295",
	};
	struct netseg_errlist errs = { 0 };
	struct netseg_ruleset rs = { 0 };
	size_t i;

	is_int(netseg_ruleset_parse_buf("p.json", text, strlen(text), &rs, &errs), -EINVAL,
	       "JSON with errors fails");
	if (!is_int(errs.n, sizeof(want) / sizeof(want[0]), "every JSON error reported"))
		goto out;
	for (i = 0; i < errs.n; i++)
		is_str(errs.msgs[i], want[i], "JSON error %zu", i);
	is_int(rs.n, 1, "the good rule parsed");
out:
	netseg_errlist_free(&errs);
	netseg_ruleset_free(&rs);
}

static void test_json_syntax(void)
{
	static const char broken[] = "{\"rules\":[\n  {\"action\":\"allow\",,}\n]}";
	static const char norules[] = "{\"rulez\":[]}";
	struct netseg_errlist errs = { 0 };
	struct netseg_ruleset rs = { 0 };

	is_int(netseg_ruleset_parse_buf("b.json", broken, strlen(broken), &rs, &errs), -EINVAL,
	       "invalid JSON fails");
	if (is_int(errs.n, 1, "one error for invalid JSON"))
		is_str(errs.msgs[0], "b.json:2:22: invalid JSON near here",
		       "line and column (cJSON points just past the stray comma)");
	netseg_errlist_free(&errs);
	is_int(netseg_ruleset_parse_buf("x", norules, strlen(norules), &rs, &errs), -EINVAL,
	       "JSON without rules fails (detected by content)");
	if (is_int(errs.n, 1, "one error"))
		is_str(errs.msgs[0], "x: expected an object with a \"rules\" array",
		       "missing rules");
	netseg_errlist_free(&errs);
	is_int(netseg_ruleset_parse_buf("x", "[]", 2, &rs, &errs), 0, "a bare empty array is fine");
	netseg_errlist_free(&errs);
	netseg_ruleset_free(&rs);
}

static int write_tmp(char *path, const char *text)
{
	int fd = mkstemps(path, strchr(path, '.') ? (int)strlen(strchr(path, '.')) : 0);

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void test_files(void)
{
	char rpath[] = "/tmp/netseg-ruleset-XXXXXX.rules";
	char jpath[] = "/tmp/netseg-ruleset-XXXXXX.json";
	struct netseg_errlist errs = { 0 };
	struct netseg_ruleset rs = { 0 };
	char want[128];

	if (write_tmp(rpath, "allow a->b\ndeny c->d:70000\n") ||
	    write_tmp(jpath, "{\"rules\":[{\"action\":\"allow\",\"rule\":\"a->b\"}]}"))
		bail("can't write temporary files in /tmp");
	is_int(netseg_ruleset_parse_file(rpath, &rs, &errs), -EINVAL, ".rules file with an error");
	snprintf(want, sizeof(want), "%s:2:11: port 70000 out of range 1-65535", rpath);
	if (is_int(errs.n, 1, "one error from the file"))
		is_str(errs.msgs[0], want, "error names the file");
	netseg_errlist_free(&errs);
	netseg_ruleset_free(&rs);
	is_int(netseg_ruleset_parse_file(jpath, &rs, &errs), 0, ".json file");
	is_int(rs.n, 1, "one rule from the JSON file");
	netseg_ruleset_free(&rs);
	unlink(rpath);
	unlink(jpath);
	is_int(netseg_ruleset_parse_file(rpath, &rs, &errs), -ENOENT, "missing file");
	snprintf(want, sizeof(want), "%s: couldn't read the rule file: No such file or directory",
		 rpath);
	if (is_int(errs.n, 1, "one error for a missing file"))
		is_str(errs.msgs[0], want, "missing file message");
	netseg_errlist_free(&errs);
	netseg_ruleset_free(&rs);
}

/* What diff, apply and allow show for a rule that exists with other flags. */
static void test_rule_changes(void)
{
	char ch[NETSEG_RULE_CHANGES_MAX][NETSEG_RULE_CHANGE_LEN];
	struct netseg_rule a, b;
	struct netseg_err e;

	if (netseg_rule_parse_line("allow a->b:80 --log --comment \"x\"", &a, &e) ||
	    netseg_rule_parse_line("allow a->b:80 --audit", &b, &e))
		bail("test rules don't parse: %s", e.msg);
	if (is_int(netseg_rule_changes(&a, &b, ch), 3, "three changes: audit, log, comment")) {
		is_str(ch[0], "--audit: off → on", "audit turned on");
		is_str(ch[1], "--log: on → off", "log turned off");
		is_str(ch[2], "--comment: \"x\" → none", "comment removed");
	}
	is_int(netseg_rule_changes(&a, &a, ch), 0, "the same rule: no changes");
}

int main(void)
{
	test_rule_changes();
	test_rules_errors();
	test_rules_good();
	test_nul_byte();
	test_json_good();
	test_json_errors();
	test_json_syntax();
	test_files();
	return tap_done();
}
