// SPDX-License-Identifier: GPL-2.0-only
/*
 * Capabilities: once the datapath is loaded, the control socket chowned and
 * the rtnetlink buffer forced, netsegd keeps only what its event loop still
 * uses (NETSEGD_KEPT_CAPS, netsegd.h, says which and why), in the
 * effective, permitted and bounding sets alike, with no inheritable or
 * ambient capabilities, securebits locked and no_new_privs set.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <cap-ng.h>

#include "log.h"
#include "netsegd.h"

static const int kept_caps[] = { NETSEGD_KEPT_CAPS };
#define NKEPT (sizeof(kept_caps) / sizeof(kept_caps[0]))

int netsegd_drop_privileges(void)
{
	int keep[NKEPT], n = 0, r;
	bool bounds;

	if (capng_get_caps_process())
		return -EPERM;
	/* Changing the bounding set and securebits needs CAP_SETPCAP. */
	bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	for (size_t i = 0; i < NKEPT; i++) {
		/* A capset can't add what we weren't given. */
		if (capng_have_capability(CAPNG_PERMITTED, kept_caps[i]))
			keep[n++] = kept_caps[i];
		else
			pr_warn("started without %s: operations that need it will fail",
				capng_capability_to_name(kept_caps[i]));
	}
	capng_clear(CAPNG_SELECT_ALL);
	for (int i = 0; i < n; i++)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			     keep[i]);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		r = -errno;
		pr_err("couldn't set no_new_privs: %s", strerror(-r));
		return r;
	}
	/* uid 0 gains nothing from execve or setuid from now on. */
	if (bounds && capng_lock())
		pr_warn("couldn't lock the securebits");
	r = capng_apply(bounds ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS);
	if (r) {
		pr_err("couldn't drop capabilities (libcap-ng capng_apply: %d)", r);
		return -EPERM;
	}
	if (!bounds)
		pr_info("no CAP_SETPCAP: the capability bounding set stays as it was");
	return 0;
}

/*
 * Before anything is created: without these every bpf() call fails with
 * EPERM, which libbpf reports as a failed load and which would otherwise
 * read as pinned maps from an incompatible version.  -EPERM (said) or 0.
 */
int netsegd_check_privileges(void)
{
	char missing[160] = "";
	const char *name;
	size_t len;

	if (capng_get_caps_process())
		return 0; /* can't tell: let the real calls say */
	for (size_t i = 0; i < NKEPT; i++) {
		if (capng_have_capability(CAPNG_EFFECTIVE, kept_caps[i]))
			continue;
		/* libcap-ng names them "net_admin": the man pages' CAP_NET_ADMIN */
		name = capng_capability_to_name(kept_caps[i]);
		len = strlen(missing);
		snprintf(missing + len, sizeof(missing) - len, "%sCAP_", len ? ", " : "");
		for (len = strlen(missing); name && *name && len + 1 < sizeof(missing); name++)
			missing[len++] = toupper((unsigned char)*name);
		missing[len] = '\0';
	}
	if (!missing[0])
		return 0;
	pr_err("netsegd needs root (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON; setup also CAP_CHOWN, CAP_SYS_ADMIN, CAP_SETPCAP); this process lacks %s; nothing was created",
	       missing);
	return -EPERM;
}
