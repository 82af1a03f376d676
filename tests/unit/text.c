// SPDX-License-Identifier: GPL-2.0-only
/*
 * What user text may hold (lib/text.h): free text (comments, node name),
 * paths and interface names; every refusal says what and where.  Also the
 * rule parsers and the identity store applying those rules.
 */
#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "identity.h"
#include "rule.h"
#include "tap.h"
#include "text.h"

static char why[128];

static void text(const char *s, int want, const char *msg, const char *what)
{
	why[0] = '\0';
	is_int(netseg_text_check(s, 256, why, sizeof(why)), want, "text: %s", what);
	if (msg)
		is_str(why, msg, "text: %s: message", what);
}

static void test_text(void)
{
	char big[300];

	text("say \"hi\" | a=b \\ c ] caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5", 0, NULL,
	     "quotes, | = \\ ] and 2/3/4-byte UTF-8 pass");
	text("", 0, NULL, "empty passes");
	text("a\nb", -EINVAL, "control character 0x0a at byte 2", "newline");
	text("a\rb", -EINVAL, "control character 0x0d at byte 2", "carriage return");
	text("\x1b[31mred", -EINVAL, "control character 0x1b at byte 1", "ESC");
	text("tab\there", -EINVAL, "control character 0x09 at byte 4", "tab");
	text("del\x7f", -EINVAL, "control character 0x7f at byte 4", "DEL");
	text("csi\xc2\x9b"
	     "2J",
	     -EINVAL, "control character U+009B at byte 4", "C1 CSI");
	text("nbsp\xc2\xa0ok", 0, NULL, "U+00A0 is not a control character");
	text("bad\xff", -EINVAL, "not valid UTF-8 (byte 0xff at byte 4)", "0xff");
	text("\xc0\xaf", -EINVAL, "not valid UTF-8 (byte 0xc0 at byte 1)", "overlong '/'");
	text("\xed\xa0\x80", -EINVAL, "not valid UTF-8 (byte 0xed at byte 1)", "UTF-16 surrogate");
	text("cut\xe2\x82", -EINVAL, "not valid UTF-8 (byte 0xe2 at byte 4)", "truncated sequence");
	memset(big, 'x', 255);
	big[255] = '\0';
	text(big, 0, NULL, "255 bytes fit in 256");
	big[255] = 'x';
	big[256] = '\0';
	text(big, -EINVAL, "longer than 255 bytes (256)", "256 bytes don't");
}

static void path(const char *s, int want, const char *msg, const char *what)
{
	why[0] = '\0';
	is_int(netseg_path_check(s, 256, why, sizeof(why)), want, "path: %s", what);
	if (msg)
		is_str(why, msg, "path: %s: message", what);
}

static void test_path(void)
{
	path("/var/lib/netseg", 0, NULL, "plain absolute path");
	path("/var/lib/net..seg/.hidden/a.", 0, NULL, "dots inside names are fine");
	path("var/lib", -EINVAL, "not an absolute path", "relative");
	path("", -EINVAL, "not an absolute path", "empty");
	path("/var/../etc", -EINVAL, "has a \".\" or \"..\" component (at byte 6)", "..");
	path("/var/lib/..", -EINVAL, "has a \".\" or \"..\" component (at byte 10)", "trailing ..");
	path("/./x", -EINVAL, "has a \".\" or \"..\" component (at byte 2)", ".");
	path("/tmp/a\nb", -EINVAL, "control character 0x0a at byte 7", "newline");
	path("/tmp/\xff", -EINVAL, "not valid UTF-8 (byte 0xff at byte 6)", "non-UTF-8");
}

static void ifname(const char *s, int want, const char *msg, const char *what)
{
	why[0] = '\0';
	is_int(netseg_ifname_check(s, 24, why, sizeof(why)), want, "ifname: %s", what);
	if (msg)
		is_str(why, msg, "ifname: %s: message", what);
}

static void test_ifname(void)
{
	ifname("veth-fe*", 0, NULL, "glob");
	ifname("eth[0-3]?", 0, NULL, "glob with a class");
	ifname("", -EINVAL, "empty", "empty");
	ifname("a/b", -EINVAL,
	       "character 0x2f at byte 2 is not allowed "
	       "(printable ASCII without '/', ':' or spaces)",
	       "slash");
	ifname("a:b", -EINVAL, NULL, "colon");
	ifname("a b", -EINVAL, NULL, "space");
	ifname("e\x1b[1m", -EINVAL,
	       "character 0x1b at byte 2 is not allowed "
	       "(printable ASCII without '/', ':' or spaces)",
	       "ESC");
	ifname("caf\xc3\xa9", -EINVAL, NULL, "non-ASCII");
	ifname("abcdefghijklmnopqrstuvwxyz", -EINVAL, "longer than 23 bytes (26)", "too long");
}

static void test_printable(void)
{
	char buf[8];

	is_str(netseg_printable("a\x1b\n\xffz", buf, sizeof(buf)), "a???z",
	       "printable: bad bytes as ?");
	is_str(netseg_printable("0123456789", buf, sizeof(buf)), "0123456", "printable: cut");
}

/* The parsers and the identity store use those rules. */
static void test_users(void)
{
	struct netseg_idstore s;
	struct netseg_iddef d;
	struct netseg_err e = {};
	struct netseg_rule r;
	cJSON *o;

	netseg_rule_init(&r);
	is_int(netseg_rule_parse_line("allow a->b --comment \"caf\xc3\xa9 | = \\\\ \\\" ]\"", &r,
				      &e),
	       0, ".rules: hostile but printable comment accepted");
	is_str(r.comment, "caf\xc3\xa9 | = \\ \" ]", ".rules: comment unescaped exactly");
	is_int(netseg_rule_parse_line("allow a->b --comment \"x\xc2\x9b"
				      "2J\"",
				      &r, &e),
	       -EINVAL, ".rules: C1 control in a comment refused");
	is_str(e.msg, "comment: control character U+009B at byte 2", ".rules: C1 message");
	is_int(e.col, 22, ".rules: column of the comment");
	is_int(netseg_rule_parse_line("allow a->b --comment x\xff", &r, &e), -EINVAL,
	       ".rules: invalid UTF-8 comment refused");
	is_str(e.msg, "comment: not valid UTF-8 (byte 0xff at byte 2)", ".rules: UTF-8 message");

	o = cJSON_Parse("{\"action\":\"allow\",\"rule\":\"a -> b\",\"comment\":\"x\\u001b[2J\"}");
	is_int(netseg_rule_from_json(o, &r, &e), -EINVAL, "JSON: ESC in a comment refused");
	is_str(e.msg, "comment: control character 0x1b at byte 2", "JSON: message");
	cJSON_Delete(o);

	netseg_idstore_init(&s);
	memset(&d, 0, sizeof(d));
	strcpy(d.name, "a\x1b[2Jb");
	is_int(netseg_id_add(&s, &d, &e), -EINVAL, "identity: ESC in a name refused");
	ok(!strchr(e.msg, 0x1b), "identity: the message doesn't repeat the ESC (%s)", e.msg);
	strcpy(d.name, "web");
	d.nifaces = 1;
	strcpy(d.ifaces[0], "veth\x1b*");
	is_int(netseg_id_add(&s, &d, &e), -EINVAL, "identity: ESC in a glob refused");
	is_str(e.msg,
	       "identity web: interface glob #1: character 0x1b at byte 5 is not allowed "
	       "(printable ASCII without '/', ':' or spaces)",
	       "identity: glob message");
	d.nifaces = 0;
	d.ncgroups = 1;
	strcpy(d.cgroups[0], "/sys/fs/cgroup/../../etc");
	is_int(netseg_id_add(&s, &d, &e), -EINVAL, "identity: .. in a cgroup path refused");
	is_str(e.msg, "identity web: cgroup path #1: has a \".\" or \"..\" component (at byte 16)",
	       "identity: cgroup message");
	strcpy(d.cgroups[0], "/sys/fs/cgroup/web.slice");
	is_int(netseg_id_add(&s, &d, &e), 0, "identity: a clean cgroup path is accepted");
	netseg_idstore_free(&s);
}

int main(void)
{
	test_text();
	test_path();
	test_ifname();
	test_printable();
	test_users();
	return tap_done();
}
