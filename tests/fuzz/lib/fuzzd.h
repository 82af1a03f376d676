/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A netsegd for harnesses: the daemon's own structures and code on the
 * map-less datapath (fuzzdp.h), built fresh for every input so a finding
 * replays from its input alone.
 */
#ifndef NETSEG_FUZZD_H
#define NETSEG_FUZZD_H

#include "netsegd.h"

/*
 * Identities every input starts from (an alias-only endpoint identity, glob
 * ones, one with a CIDR) and, if @rules, a few rules naming them.  State is
 * saved under @state_dir (a directory the harness made).  Aborts on failure:
 * the harness itself would be broken.
 */
void fuzzd_init(struct netsegd *d, const char *state_dir, int epfd, bool rules);
void fuzzd_free(struct netsegd *d);

/*
 * The daemon's bookkeeping agrees with the maps: every ipcache prefix holds
 * what its claims resolve to (and nothing else is in the map), every
 * endpoint interface has its endpoint entry and both TC programs (and no
 * other interface has either), the identity map holds exactly the
 * identities with the flags they should have, the policy map the compiled
 * entries.  fuzz_fail()s otherwise.
 */
void fuzzd_check(struct netsegd *d);

/* A directory for the state file, made once, removed at exit. */
const char *fuzz_state_dir(void);

/* A fresh network namespace of our own, or fuzz_fail() (needs root). */
void fuzz_private_netns(void);

#endif
