// SPDX-License-Identifier: GPL-2.0-only
/*
 * JSON rule sets (lib/ruleset.c): the input through the same entry the
 * daemon and `netsegctl check` use for a ".json" file, then each object of
 * a "rules" array on its own (netseg_rule_from_json, as the state file is
 * read).  A set that parses must survive to_json -> print -> parse ->
 * from_json unchanged, ids, flags and comments included.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "rule.h"
#include "fuzzdp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_logs();
	return 0;
}

static bool rule_eq(const struct netseg_rule *a, const struct netseg_rule *b)
{
	return netseg_rule_same(a, b) && a->id == b->id && a->action == b->action &&
	       a->flags == b->flags && !strcmp(a->comment, b->comment) && !strcmp(a->src, b->src) &&
	       !strcmp(a->dst, b->dst) && a->proto == b->proto && a->icmp_type == b->icmp_type &&
	       a->nports == b->nports &&
	       !memcmp(a->ports, b->ports, a->nports * sizeof(a->ports[0]));
}

static void round_trip(const struct netseg_ruleset *rs)
{
	struct netseg_ruleset rs2 = {};
	struct netseg_errlist errs = {};
	cJSON *o = netseg_ruleset_to_json(rs), *back;
	char *text;
	int ret;

	FUZZ_ASSERT(o, "ruleset_to_json failed");
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	FUZZ_ASSERT(text, "printing the rule set failed");
	back = cJSON_Parse(text);
	FUZZ_ASSERT(back, "our own JSON doesn't parse: %s", text);
	ret = netseg_ruleset_from_json(back, "again.json", &rs2, &errs);
	if (ret)
		fuzz_fail("our own JSON is refused (%d): %s\n%s", ret, errs.n ? errs.msgs[0] : "",
			  text);
	FUZZ_ASSERT(rs2.n == rs->n, "%zu rules out, %zu back", rs->n, rs2.n);
	for (size_t i = 0; i < rs->n; i++)
		FUZZ_ASSERT(rule_eq(&rs->rules[i], &rs2.rules[i]),
			    "rule %zu changed through JSON: %s", i, text);
	cJSON_Delete(back);
	cJSON_free(text);
	netseg_ruleset_free(&rs2);
	netseg_errlist_free(&errs);
}

static void each_rule(const cJSON *root)
{
	const cJSON *arr = cJSON_IsArray(root) ? root : cJSON_GetObjectItem(root, "rules");
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		struct netseg_err err = {};
		struct netseg_rule r, r2;
		cJSON *o;

		netseg_rule_init(&r);
		if (netseg_rule_from_json(it, &r, &err)) {
			FUZZ_ASSERT(err.msg[0], "rule object refused without a message");
			continue;
		}
		o = netseg_rule_to_json(&r);
		FUZZ_ASSERT(o, "rule_to_json failed");
		netseg_rule_init(&r2);
		if (netseg_rule_from_json(o, &r2, &err))
			fuzz_fail("our own rule object is refused: %s", err.msg);
		FUZZ_ASSERT(rule_eq(&r, &r2), "rule changed through JSON");
		cJSON_Delete(o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netseg_ruleset rs = {};
	struct netseg_errlist errs = {};
	char *text = malloc(size + 1);
	cJSON *root;
	int ret;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	ret = netseg_ruleset_parse_buf("fuzz.json", text, size, &rs, &errs);
	FUZZ_ASSERT(ret == 0 || ret == -ENOMEM || (ret == -EINVAL && errs.n),
		    "parse returned %d with %zu errors", ret, errs.n);
	FUZZ_ASSERT(ret || !errs.n, "parse succeeded with %zu errors", errs.n);
	for (size_t i = 0; i < errs.n; i++)
		FUZZ_ASSERT(!strncmp(errs.msgs[i], "fuzz.json", 9), "error without the name: %s",
			    errs.msgs[i]);
	if (!ret)
		round_trip(&rs);
	netseg_ruleset_free(&rs);
	netseg_errlist_free(&errs);

	root = cJSON_ParseWithLength(text, size);
	if (root)
		each_rule(root);
	cJSON_Delete(root);
	free(text);
	return 0;
}
