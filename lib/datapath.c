// SPDX-License-Identifier: GPL-2.0-only
/*
 * Datapath handle: skeleton loading, map sharing and pinning, policy swap,
 * identity map edits.  Attachments live in attach.c.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "policy.skel.h"
#include "prefilter.skel.h"
#include "datapath.h"
#include "dp_internal.h"
#include "hash.h"
#include "hook.h"
#include "log.h"

static const char *const map_names[NETSEG_DPM_MAX] = {
	[NETSEG_DPM_POLICY] = NETSEG_MAP_POLICY,
	[NETSEG_DPM_CONFIG] = NETSEG_MAP_CONFIG,
	[NETSEG_DPM_CT] = NETSEG_MAP_CT,
	[NETSEG_DPM_IPCACHE] = NETSEG_MAP_IPCACHE,
	[NETSEG_DPM_ENDPOINTS] = NETSEG_MAP_ENDPOINTS,
	[NETSEG_DPM_CGROUPS] = NETSEG_MAP_CGROUPS,
	[NETSEG_DPM_IDENTITIES] = NETSEG_MAP_IDENTITIES,
	[NETSEG_DPM_FRAGS] = NETSEG_MAP_FRAGS,
	[NETSEG_DPM_PREFILTER] = NETSEG_MAP_PREFILTER,
	[NETSEG_DPM_COUNTERS] = NETSEG_MAP_COUNTERS,
	[NETSEG_DPM_RULE_STATS] = NETSEG_MAP_RULE_STATS,
	[NETSEG_DPM_IF_STATS] = NETSEG_MAP_IF_STATS,
	[NETSEG_DPM_BUCKETS] = NETSEG_MAP_BUCKETS,
	[NETSEG_DPM_EVENTS] = NETSEG_MAP_EVENTS,
	[NETSEG_DPM_IPCACHE_HOST] = NETSEG_MAP_IPCACHE_HOST,
	[NETSEG_DPM_DENY_CACHE] = NETSEG_MAP_DENY_CACHE,
};

static const char *fs_name(long type)
{
	static const struct {
		long magic;
		const char *name;
	} t[] = {
		{ TMPFS_MAGIC, "tmpfs" },
		{ EXT4_SUPER_MAGIC, "ext4" },
		{ XFS_SUPER_MAGIC, "xfs" },
		{ BTRFS_SUPER_MAGIC, "btrfs" },
		{ OVERLAYFS_SUPER_MAGIC, "overlayfs" },
		{ SYSFS_MAGIC, "sysfs" },
		{ PROC_SUPER_MAGIC, "proc" },
		{ CGROUP2_SUPER_MAGIC, "cgroup2" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].magic == type)
			return t[i].name;
	return "another filesystem";
}

/*
 * netsegd doesn't mount a bpffs itself: one mounted inside a private mount
 * namespace (systemd PrivateMounts=, a container) dies with that namespace,
 * and with it the pins that keep the rules enforced while no daemon runs.
 */
int netseg_dp_check_pin_dir(const char *dir)
{
	char parent[PATH_MAX], *slash;
	struct statfs st;
	int err;

	snprintf(parent, sizeof(parent), "%s", dir);
	/* The pin dir may not exist yet: its parent must be on bpffs. */
	while (statfs(parent, &st) && errno == ENOENT) {
		slash = strrchr(parent, '/');
		if (!slash || slash == parent)
			break;
		*slash = '\0';
	}
	if (statfs(parent, &st)) {
		err = -errno;
		pr_err("couldn't check bpffs directory %s: %s", parent, strerror(-err));
		return err;
	}
	if (st.f_type != BPF_FS_MAGIC) {
		pr_err("no bpf filesystem is mounted at %s (%s is on %s): mount one with "
		       "'mount -t bpf bpf %s', or point --bpffs (\"pin_dir\") at a "
		       "directory on one",
		       dir, parent, fs_name(st.f_type), parent);
		return -ENOTSUP;
	}
	return 0;
}

static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int netseg_dp_make_pin_dir(const char *dir)
{
	return netseg_dp_check_pin_dir(dir) ?: mkdir_p(dir);
}

static int set_pin_paths(struct bpf_object *obj, const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		if (strncmp(bpf_map__name(map), "ns_", 3))
			continue; /* .rodata and friends stay private */
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	return 0;
}

/* The XDP object shares every map with the TC object. */
static int reuse_maps(struct bpf_object *from, struct bpf_object *to)
{
	struct bpf_map *map, *src;
	int err;

	bpf_object__for_each_map(map, to) {
		if (strncmp(bpf_map__name(map), "ns_", 3))
			continue;
		src = bpf_object__find_map_by_name(from, bpf_map__name(map));
		if (!src) {
			pr_err("map %s missing from the TC object", bpf_map__name(map));
			return -ENOENT;
		}
		err = bpf_map__reuse_fd(map, bpf_map__fd(src));
		if (err) {
			pr_err("couldn't share map %s: %s", bpf_map__name(map), strerror(-err));
			return err;
		}
	}
	return 0;
}

int netseg_dp_reuse_maps(struct netseg_dp *dp, struct bpf_object *to)
{
	return reuse_maps(dp->tc->obj, to);
}

static int create_inner(__u32 max_entries)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd;

	if (!max_entries)
		max_entries = 1;
	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "ns_policy_rules",
			    sizeof(struct netseg_policy_key), sizeof(struct netseg_policy_val),
			    max_entries, &o);
	if (fd < 0) {
		fd = -errno;
		pr_err("couldn't create a policy map of %u entries: %s", max_entries,
		       strerror(-fd));
	}
	return fd;
}

static int rebuild_slot(struct netseg_dp *dp, __u32 slot, const struct netseg_policy_entry *e,
			size_t n);
static void grace_wait(struct netseg_dp *dp);

/* A fresh (or never-initialised pinned) datapath gets an empty policy and
 * a generation of 1; a re-opened one keeps what is enforced. */
static int ipcache_host_sync(struct netseg_dp *dp);

static int init_state(struct netseg_dp *dp, const struct netseg_dp_opts *o)
{
	struct netseg_config cfg = {};
	__u32 zero = 0, inner_id;
	int err;

	/* Both slots get an (empty) map; slots a previous run filled keep
	 * theirs until this process first uses them. */
	for (__u32 slot = 0; slot < 2; slot++) {
		if (!bpf_map_lookup_elem(dp->fds[NETSEG_DPM_POLICY], &slot, &inner_id))
			continue;
		err = rebuild_slot(dp, slot, NULL, 0);
		if (err) {
			pr_err("couldn't install the empty policy: %s", strerror(-err));
			return err;
		}
	}
	err = ipcache_host_sync(dp);
	if (err) {
		pr_err("couldn't fill the ipcache's host hash: %s", strerror(-err));
		return err;
	}
	if (bpf_map_lookup_elem(dp->fds[NETSEG_DPM_CONFIG], &zero, &cfg))
		return -errno;
	if (cfg.generation)
		return 0;
	cfg.generation = 1;
	cfg.deny_rate = o->deny_rate ? o->deny_rate : NETSEG_DENY_RATE;
	cfg.deny_burst = o->deny_burst ? o->deny_burst : NETSEG_DENY_BURST;
	if (bpf_map_update_elem(dp->fds[NETSEG_DPM_CONFIG], &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

/*
 * The conntrack table and the prefilter list can't be resized in place,
 * and libbpf refuses a pinned map whose size differs from the object's: a
 * tool that doesn't know the configured ct_max/prefilter_max (evflood,
 * `netsegd --cleanup` without -c) or a daemon whose setting changed would
 * fail to load at all.  The pinned map, with what it holds, wins; a
 * different setting is said.
 */
static void size_from_pin(struct netseg_dp *dp, struct bpf_map *map, const char *name,
			  const char *knob, const char *what, __u32 wanted)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return; /* none yet: the configured size */
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.max_entries &&
	    info.max_entries != bpf_map__max_entries(map)) {
		if (wanted)
			pr_warn("%s %u not applied: the pinned %s %s holds %u entries and "
				"%s; 'netsegd --cleanup' and a restart resize it",
				knob, wanted, what, path, info.max_entries,
				strcmp(name, NETSEG_MAP_CT) ? "is in use" : "tracks live flows");
		bpf_map__set_max_entries(map, info.max_entries);
	}
	close(fd);
}

/* ------------------------------------------------------ program cache */

/*
 * Loading means verifying five programs: 1.5 s on an idle 2-core machine,
 * 6-10 s on a busy one, paid again by every restart after a kill -9.  So
 * the verified programs are pinned under PIN_DIR/progs-FINGERPRINT (FNV-1a
 * of both BPF objects as built), and a daemon of the same build re-opens
 * them instead, once it has checked that they are the programs it expects
 * and use exactly the pinned maps it uses.  Another build has another
 * fingerprint: it verifies its own and drops the old cache (running links
 * hold their programs, not these pins).
 */
#define PROG_CACHE_PREFIX "progs-"

static const struct {
	int hook;	  /* pinned as netseg_hook_pin_name(hook) */
	const char *name; /* as the kernel keeps it: 15 characters */
} cached_progs[] = {
	{ NETSEG_HOOK_XDP, "netseg_xdp_pref" },	      { NETSEG_HOOK_TC_INGRESS, "netseg_tc_ingre" },
	{ NETSEG_HOOK_TC_EGRESS, "netseg_tc_egres" }, { NETSEG_HOOK_CG_INGRESS, "netseg_cg_ingre" },
	{ NETSEG_HOOK_CG_EGRESS, "netseg_cg_egres" },
};
#define NCACHED (sizeof(cached_progs) / sizeof(cached_progs[0]))

static void cache_dir(const struct netseg_dp *dp, char *buf, size_t len)
{
	size_t a, b;
	const void *pa = policy_bpf__elf_bytes(&a), *pb = prefilter_bpf__elf_bytes(&b);
	__u64 h = netseg_fnv1a64(netseg_fnv1a64(NETSEG_FNV64_INIT, pa, a), pb, b);

	snprintf(buf, len, "%s/" PROG_CACHE_PREFIX "%016llx", dp->pin_dir, (unsigned long long)h);
}

/* The ids of the maps pinned under the pin dir, by map_names index. */
static int pinned_map_ids(const struct netseg_dp *dp, __u32 ids[NETSEG_DPM_MAX])
{
	char path[PATH_MAX];

	for (int i = 0; i < NETSEG_DPM_MAX; i++) {
		struct bpf_map_info mi = {};
		__u32 len = sizeof(mi);
		int fd, err;

		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, map_names[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			return -errno;
		err = bpf_obj_get_info_by_fd(fd, &mi, &len) ? -errno : 0;
		close(fd);
		if (err)
			return err;
		ids[i] = mi.id;
	}
	return 0;
}

/* A cached program must use our pinned maps and no other ns_ map (a stale
 * program from before a --cleanup would write into maps nobody reads). */
static bool prog_matches(int fd, const char *name, const __u32 pinned[NETSEG_DPM_MAX])
{
	struct bpf_prog_info pi = {};
	__u32 map_ids[64], len = sizeof(pi);

	pi.nr_map_ids = 64;
	pi.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &pi, &len) || strcmp(pi.name, name) || pi.nr_map_ids > 64)
		return false;
	for (__u32 i = 0; i < pi.nr_map_ids; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		bool ours = false;
		int mfd;

		for (int m = 0; m < NETSEG_DPM_MAX; m++)
			ours |= pinned[m] == map_ids[i];
		if (ours)
			continue;
		mfd = bpf_map_get_fd_by_id(map_ids[i]);
		if (mfd < 0)
			return false;
		if (bpf_obj_get_info_by_fd(mfd, &mi, &mlen) || !strncmp(mi.name, "ns_", 3)) {
			close(mfd);
			return false;
		}
		close(mfd); /* the object's own .rodata/.bss: fine */
	}
	return true;
}

static void cache_close(struct netseg_dp *dp)
{
	for (size_t i = 0; i < NCACHED; i++) {
		int *fd = &dp->prog_fds[cached_progs[i].hook];

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

/* 0 when every program came from the cache, else -errno and none did. */
static int cache_open(struct netseg_dp *dp)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	__u32 pinned[NETSEG_DPM_MAX] = { 0 }; /* the analyzer allows errno 0 */
	int err = pinned_map_ids(dp, pinned);

	if (err)
		return err; /* fresh pins: nothing cached can match */
	cache_dir(dp, dir, sizeof(dir));
	for (size_t i = 0; i < NCACHED; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir,
			 netseg_hook_pin_name(cached_progs[i].hook));
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = -errno;
			break;
		}
		dp->prog_fds[cached_progs[i].hook] = fd;
		if (!prog_matches(fd, cached_progs[i].name, pinned)) {
			pr_warn("cached program %s doesn't match the pinned maps; loading afresh",
				path);
			err = -ESTALE;
			break;
		}
	}
	if (err)
		cache_close(dp);
	else
		pr_debug("re-opened the verified programs from %s", dir);
	return err;
}

static void rm_cache_dir(const char *dir)
{
	char path[PATH_MAX + 32];

	for (size_t i = 0; i < NCACHED; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
			 netseg_hook_pin_name(cached_progs[i].hook));
		unlink(path);
	}
	if (rmdir(dir) && errno != ENOENT)
		pr_warn("couldn't remove %s: %s", dir, strerror(errno));
}

/* Every progs-* dir but @keep (NULL: all of them). */
static void cache_remove_except(const struct netseg_dp *dp, const char *keep)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d = opendir(dp->pin_dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, PROG_CACHE_PREFIX, strlen(PROG_CACHE_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, de->d_name);
		if (!keep || strcmp(path, keep))
			rm_cache_dir(path);
	}
	closedir(d);
}

void netseg_dp_cache_remove(struct netseg_dp *dp)
{
	if (dp->pin_dir[0])
		cache_remove_except(dp, NULL);
}

/* Best effort: without a cache the next start verifies again, that's all. */
static void cache_store(struct netseg_dp *dp)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];

	cache_dir(dp, dir, sizeof(dir));
	cache_remove_except(dp, NULL);
	if (mkdir(dir, 0700) && errno != EEXIST)
		goto fail;
	for (size_t i = 0; i < NCACHED; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
			 netseg_hook_pin_name(cached_progs[i].hook));
		if (bpf_obj_pin(netseg_dp_prog_fd(dp, cached_progs[i].hook), path))
			goto fail;
	}
	return;
fail:
	pr_warn("couldn't cache the verified programs in %s: %s (the next start "
		"verifies them again)",
		dir, strerror(errno));
	rm_cache_dir(dir);
}

static void skip_prog_loads(struct bpf_object *obj)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, false);
}

static int load_objects(struct netseg_dp *dp, const struct netseg_dp_opts *o)
{
	bool cached = dp->pin_dir[0] && !cache_open(dp);
	int err;

	dp->tc = policy_bpf__open();
	if (!dp->tc) {
		err = -errno;
		pr_err("couldn't open the TC object: %s", strerror(-err));
		return err;
	}
	if (cached)
		skip_prog_loads(dp->tc->obj);
	if (o->ct_max)
		bpf_map__set_max_entries(dp->tc->maps.ns_ct, o->ct_max);
	if (o->prefilter_max)
		bpf_map__set_max_entries(dp->tc->maps.ns_prefilter, o->prefilter_max);
	if (dp->pin_dir[0]) {
		err = set_pin_paths(dp->tc->obj, dp->pin_dir);
		if (err)
			return err;
		size_from_pin(dp, dp->tc->maps.ns_ct, NETSEG_MAP_CT, "ct_max", "conntrack table",
			      o->ct_max);
		size_from_pin(dp, dp->tc->maps.ns_prefilter, NETSEG_MAP_PREFILTER, "prefilter_max",
			      "prefilter map", o->prefilter_max);
	}
	err = policy_bpf__load(dp->tc);
	if (err) {
		pr_err("couldn't load the TC/cgroup programs: %s%s", strerror(-err),
		       dp->pin_dir[0] ? " (pinned maps from an incompatible "
					"version? see 'netsegd --cleanup')" :
					"");
		return err;
	}
	dp->xdp = prefilter_bpf__open();
	if (!dp->xdp)
		return -errno;
	err = reuse_maps(dp->tc->obj, dp->xdp->obj);
	if (err)
		return err;
	if (cached)
		skip_prog_loads(dp->xdp->obj);
	err = prefilter_bpf__load(dp->xdp);
	if (err) {
		pr_err("couldn't load the XDP prefilter: %s", strerror(-err));
		return err;
	}
	if (!cached && dp->pin_dir[0])
		cache_store(dp);
	return 0;
}

int netseg_dp_open(struct netseg_dp **dpp, const struct netseg_dp_opts *opts)
{
	struct netseg_dp_opts none = {};
	struct netseg_dp *dp;
	int err, i;

	if (!opts)
		opts = &none;
	netseg_log_hook_libs();
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	for (i = 0; i < (int)(sizeof(dp->prog_fds) / sizeof(dp->prog_fds[0])); i++)
		dp->prog_fds[i] = -1;
	if (opts->pin_dir) {
		if (strlen(opts->pin_dir) >= sizeof(dp->pin_dir) - 64) {
			pr_err("bpffs directory name too long: %s", opts->pin_dir);
			err = -ENAMETOOLONG;
			goto out;
		}
		snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", opts->pin_dir);
		err = netseg_dp_make_pin_dir(dp->pin_dir);
		if (err)
			goto out;
	}
	err = load_objects(dp, opts);
	if (err)
		goto out;
	for (i = 0; i < NETSEG_DPM_MAX; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(dp->tc->obj, map_names[i]);

		dp->fds[i] = m ? bpf_map__fd(m) : -1;
		if (dp->fds[i] < 0) {
			pr_err("map %s is missing from the TC object", map_names[i]);
			err = -ENOENT;
			goto out;
		}
	}
	err = init_state(dp, opts);
	if (err)
		goto out;
	*dpp = dp;
	return 0;
out:
	netseg_dp_close(dp);
	return err;
}

/* The handle owns its XDP attachment table (attach.c fills it): closing
 * the handle frees each slot's libxdp program and the skeleton it points
 * into, without calling up into the attach code. */
void netseg_dp_xdp_slot_free(struct netseg_dp *dp, int i)
{
	if (dp->xdp_att[i].prog)
		xdp_program__close(dp->xdp_att[i].prog);
	prefilter_bpf__destroy(dp->xdp_att[i].skel);
	dp->xdp_att[i].prog = NULL;
	dp->xdp_att[i].skel = NULL;
	dp->xdp_att[i].used = false;
}

void netseg_dp_close(struct netseg_dp *dp)
{
	if (!dp)
		return;
	for (int i = 0; i < NETSEG_XDP_MAX_IFACES; i++)
		netseg_dp_xdp_slot_free(dp, i);
	grace_wait(dp);
	for (int i = 0; i < 2; i++) {
		if (dp->pol.known[i])
			close(dp->pol.fd[i]);
		free(dp->pol.v[i]);
	}
	cache_close(dp);
	prefilter_bpf__destroy(dp->xdp);
	policy_bpf__destroy(dp->tc);
	free(dp);
}

int netseg_dp_map_fd(const struct netseg_dp *dp, enum netseg_dp_map m)
{
	return m < NETSEG_DPM_MAX ? dp->fds[m] : -EINVAL;
}

int netseg_dp_prog_fd(const struct netseg_dp *dp, int hook)
{
	if (hook > 0 && hook <= NETSEG_HOOK_CG_EGRESS && dp->prog_fds[hook] >= 0)
		return dp->prog_fds[hook];
	switch (hook) {
	case NETSEG_HOOK_XDP:
		return bpf_program__fd(dp->xdp->progs.netseg_xdp_prefilter);
	case NETSEG_HOOK_TC_INGRESS:
		return bpf_program__fd(dp->tc->progs.netseg_tc_ingress);
	case NETSEG_HOOK_TC_EGRESS:
		return bpf_program__fd(dp->tc->progs.netseg_tc_egress);
	case NETSEG_HOOK_CG_INGRESS:
		return bpf_program__fd(dp->tc->progs.netseg_cg_ingress);
	case NETSEG_HOOK_CG_EGRESS:
		return bpf_program__fd(dp->tc->progs.netseg_cg_egress);
	}
	return -EINVAL;
}

/* ------------------------------------------------------------ policy */

int netseg_dp_config_get(struct netseg_dp *dp, struct netseg_config *cfg)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(dp->fds[NETSEG_DPM_CONFIG], &zero, cfg))
		return -errno;
	return 0;
}

static int config_put(struct netseg_dp *dp, const struct netseg_config *cfg)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(dp->fds[NETSEG_DPM_CONFIG], &zero, cfg, BPF_ANY)) {
		pr_err("couldn't update the datapath config: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Single writer (the daemon), so read-modify-write is safe; readers in the
 * datapath only ever see whole 64-bit generations.
 */
int netseg_dp_bump_generation(struct netseg_dp *dp, __u64 *generation)
{
	struct netseg_config cfg;
	int err = netseg_dp_config_get(dp, &cfg);

	if (err)
		return err;
	cfg.generation++;
	err = config_put(dp, &cfg);
	if (!err && generation)
		*generation = cfg.generation;
	return err;
}

int netseg_dp_config_set_events(struct netseg_dp *dp, __u32 deny_rate, __u32 deny_burst,
				__u32 flags)
{
	struct netseg_config cfg;
	int err = netseg_dp_config_get(dp, &cfg);

	if (err)
		return err;
	cfg.deny_rate = deny_rate;
	cfg.deny_burst = deny_burst;
	cfg.flags = (cfg.flags & NETSEG_CFG_LOCAL_CIDR) | (flags & ~NETSEG_CFG_LOCAL_CIDR);
	return config_put(dp, &cfg);
}

static int fill_one_by_one(int fd, const struct netseg_policy_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, &e[i].key, &e[i].val, BPF_ANY)) {
			int err = -errno;

			if (err == -E2BIG || err == -ENOSPC || err == -ENOMEM)
				pr_err("policy map is full (%zu entries): %s", n, strerror(-err));
			else
				pr_err("couldn't write policy entry %zu of %zu: %s", i, n,
				       strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * One BPF_MAP_UPDATE_BATCH call instead of one syscall per entry: the map
 * is built while the old one enforces, but applies should still be quick.
 * Kernels without batch ops on LPM tries get the element-wise fallback.
 */
static int fill_inner(int fd, const struct netseg_policy_entry *e, size_t n)
{
	struct netseg_policy_key *keys;
	struct netseg_policy_val *vals;
	__u32 count = n;
	int err;

	if (!n)
		return 0;
	keys = malloc(n * sizeof(*keys));
	vals = malloc(n * sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return fill_one_by_one(fd, e, n);
	}
	for (size_t i = 0; i < n; i++) {
		keys[i] = e[i].key;
		vals[i] = e[i].val;
	}
	err = bpf_map_update_batch(fd, keys, vals, &count, NULL);
	free(keys);
	free(vals);
	if (!err)
		return 0;
	pr_debug("batch update of the policy map failed (%s); one by one", strerror(errno));
	return fill_one_by_one(fd, e, n);
}

static __u32 policy_flags_of(const struct netseg_policy_entry *e, size_t n)
{
	__u32 f = 0;

	for (size_t i = 0; i < n; i++) {
		if (e[i].key.src_id == NETSEG_ID_ANY && e[i].key.dst_id == NETSEG_ID_ANY)
			f |= NETSEG_POL_ANY_ANY;
		else if (e[i].key.src_id == NETSEG_ID_ANY)
			f |= NETSEG_POL_ANY_SRC;
		else if (e[i].key.dst_id == NETSEG_ID_ANY)
			f |= NETSEG_POL_ANY_DST;
	}
	return f;
}

/*
 * The order netseg_compile() emits: identity pair (dst, src), then
 * protocol, port and prefix length (a pair's trie in pre-order).  Any
 * total order would do for the diff in patch_inner(); this one means the
 * compiler's output needs no sort, only a check (sorted_copy()).
 */
static int key_cmp(const void *a, const void *b)
{
	const struct netseg_policy_key *x = &((const struct netseg_policy_entry *)a)->key;
	const struct netseg_policy_key *y = &((const struct netseg_policy_entry *)b)->key;
	__u32 px = (__u32)x->proto << 16 | ntohs(x->dport),
	      py = (__u32)y->proto << 16 | ntohs(y->dport);

	if (x->dst_id != y->dst_id)
		return x->dst_id < y->dst_id ? -1 : 1;
	if (x->src_id != y->src_id)
		return x->src_id < y->src_id ? -1 : 1;
	if (px != py)
		return px < py ? -1 : 1;
	return x->prefixlen < y->prefixlen ? -1 : x->prefixlen > y->prefixlen;
}

/* @e as a new array sorted by key_cmp(); a copy of the compiler's output
 * is already in order, anything else gets sorted.  NULL when out of
 * memory. */
static struct netseg_policy_entry *sorted_copy(const struct netseg_policy_entry *e, size_t n)
{
	struct netseg_policy_entry *v = malloc((n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	if (n) /* an empty policy may come as NULL */
		memcpy(v, e, n * sizeof(*v));
	for (size_t i = 1; i < n; i++) {
		if (key_cmp(&v[i - 1], &v[i]) >= 0) {
			qsort(v, n, sizeof(*v), key_cmp);
			break;
		}
	}
	return v;
}

/*
 * Bring an idle slot's map from @old to @new (both sorted by key): delete
 * what went, write what is new or changed.  Nothing reads the idle map, so
 * the order of the writes doesn't matter; a failure leaves it in an
 * unknown state and the caller rebuilds it.
 */
static int patch_inner(int fd, const struct netseg_policy_entry *old, size_t nold,
		       const struct netseg_policy_entry *new, size_t nnew)
{
	struct netseg_policy_entry *upd = malloc((nnew + 1) * sizeof(*upd));
	size_t i = 0, j = 0, nupd = 0;
	int err = 0, c;

	if (!upd)
		return -ENOMEM;
	while (i < nold || j < nnew) {
		c = i == nold ? 1 : j == nnew ? -1 : key_cmp(&old[i], &new[j]);
		if (c < 0) {
			if (bpf_map_delete_elem(fd, &old[i].key) && errno != ENOENT) {
				err = -errno;
				goto out;
			}
			i++;
			continue;
		}
		if (c > 0 || memcmp(&old[i].val, &new[j].val, sizeof(new[j].val)))
			upd[nupd++] = new[j];
		if (c == 0)
			i++;
		j++;
	}
	err = fill_inner(fd, upd, nupd);
out:
	free(upd);
	return err;
}

/* A fresh map for slot @slot, filled, put in the outer array.  That update
 * waits for an RCU grace period (the kernel does so for every map-in-map
 * write), so it is the slow path: first use of a slot by this process, or
 * recovery from a failed patch. */
static int rebuild_slot(struct netseg_dp *dp, __u32 slot, const struct netseg_policy_entry *e,
			size_t n)
{
	int fd = create_inner(NETSEG_POLICY_MAX), err;

	if (fd < 0)
		return fd;
	err = fill_inner(fd, e, n);
	if (!err && bpf_map_update_elem(dp->fds[NETSEG_DPM_POLICY], &slot, &fd, BPF_ANY)) {
		err = -errno;
		pr_err("couldn't install policy slot %u: %s", slot, strerror(-err));
	}
	if (err) {
		close(fd);
		return err;
	}
	if (dp->pol.known[slot])
		close(dp->pol.fd[slot]);
	dp->pol.fd[slot] = fd;
	dp->pol.known[slot] = true;
	return 0;
}

struct grace_arg {
	int outer, inner;
	__u32 slot;
};

/*
 * Rewriting a slot's map in place the moment after it was retired would
 * race with packets that read the old index just before the flip and are
 * still looking up in it.  Those packets run inside an RCU read-side
 * section; the kernel waits out a grace period (synchronize_rcu) on every
 * ARRAY_OF_MAPS update, so re-storing the retired map in its own slot is a
 * no-op that returns only when every such packet is done.  It runs on a
 * thread so the change that flipped isn't kept waiting for it.
 */
static void *grace_fn(void *p)
{
	struct grace_arg *a = p;
	long err = 0;

	if (bpf_map_update_elem(a->outer, &a->slot, &a->inner, BPF_ANY))
		err = -errno;
	free(a);
	return (void *)err;
}

static void grace_start(struct netseg_dp *dp, __u32 slot)
{
	struct grace_arg *a = malloc(sizeof(*a));

	if (a) {
		*a = (struct grace_arg){ dp->fds[NETSEG_DPM_POLICY], dp->pol.fd[slot], slot };
		if (!pthread_create(&dp->pol.grace, NULL, grace_fn, a)) {
			dp->pol.grace_pending = true;
			return;
		}
		free(a);
	}
	/* No thread: forget the slot; its next use rebuilds it from a fresh
	 * map, which needs no grace period. */
	close(dp->pol.fd[slot]);
	dp->pol.known[slot] = false;
}

/* Returns once the retired slot may be written. */
static void grace_wait(struct netseg_dp *dp)
{
	void *ret;

	if (!dp->pol.grace_pending)
		return;
	pthread_join(dp->pol.grace, &ret);
	dp->pol.grace_pending = false;
	if (ret) {
		/* No proof the grace period passed: never patch that map. */
		for (int i = 0; i < 2; i++)
			if (dp->pol.known[i] && i != dp->pol.active) {
				close(dp->pol.fd[i]);
				dp->pol.known[i] = false;
			}
	}
}

int netseg_dp_policy_swap(struct netseg_dp *dp, const struct netseg_policy_entry *entries, size_t n,
			  __u64 *generation)
{
	__u32 pflags = policy_flags_of(entries, n), idle;
	struct netseg_policy_entry *sorted = NULL;
	struct netseg_config cfg;
	int err;

	if (n > NETSEG_POLICY_MAX) {
		pr_err("policy map is full (%zu entries; at most %u)", n, NETSEG_POLICY_MAX);
		return -E2BIG;
	}
	err = netseg_dp_config_get(dp, &cfg);
	if (err)
		return err;
	idle = !(cfg.policy_flags & NETSEG_POL_SLOT1);
	dp->pol.active = !idle;
	sorted = sorted_copy(entries, n);
	if (!sorted)
		return -ENOMEM;
	grace_wait(dp);
	err = -ENOENT;
	if (dp->pol.known[idle])
		err = patch_inner(dp->pol.fd[idle], dp->pol.v[idle], dp->pol.n[idle], sorted, n);
	if (err && dp->pol.known[idle]) {
		/* Half patched: what it holds is no longer known. */
		close(dp->pol.fd[idle]);
		dp->pol.known[idle] = false;
	}
	if (err)
		err = rebuild_slot(dp, idle, sorted, n);
	if (err)
		goto out;
	free(dp->pol.v[idle]);
	dp->pol.v[idle] = sorted;
	dp->pol.n[idle] = n;
	sorted = NULL;
	/* The flip: slot and wildcard flags are one aligned word the
	 * datapath reads once per packet, so a packet sees the old map with
	 * its flags or the new one with its own, never a mix.  Only then
	 * bump the generation, so that no flow re-decided against the old
	 * map is cached under the new generation. */
	cfg.policy_flags = pflags | (idle ? NETSEG_POL_SLOT1 : 0);
	err = config_put(dp, &cfg);
	if (err)
		goto out;
	dp->pol.active = idle;
	cfg.generation++;
	err = config_put(dp, &cfg);
	if (!err && generation)
		*generation = cfg.generation;
	if (dp->pol.known[!idle])
		grace_start(dp, !idle);
out:
	free(sorted);
	return err;
}

/* ---------------------------------------------------------- id maps */

/* The callers' prefix was checked when it was made; a stray one must
 * not become a key the map would take for a different prefix. */
static int lpm_key(struct netseg_lpm_key *k, const struct netseg_prefix *p)
{
	int max = netseg_prefix_max(p->family);

	if (!max || p->plen > max)
		return -EINVAL;
	netseg_prefix_to_lpm(p, k);
	return 0;
}

static int map_update(struct netseg_dp *dp, enum netseg_dp_map m, const void *k, const void *v)
{
	if (bpf_map_update_elem(dp->fds[m], k, v, BPF_ANY)) {
		int err = -errno;

		pr_err("couldn't update map %s: %s%s", map_names[m], strerror(-err),
		       err == -E2BIG || err == -ENOSPC ? " (map is full)" : "");
		return err;
	}
	return 0;
}

static int map_delete(struct netseg_dp *dp, enum netseg_dp_map m, const void *k)
{
	if (bpf_map_delete_elem(dp->fds[m], k))
		return -errno;
	return 0;
}

static bool lpm_key_is_host(const struct netseg_lpm_key *k)
{
	return k->prefixlen - NETSEG_LPM_PLEN_HDR == (k->family == NETSEG_AF_INET ? 32u : 128u);
}

/* Sets or clears NETSEG_CFG_LOCAL_CIDR (abi.h); a no-op when it is so already. */
static int local_cidr_flag(struct netseg_dp *dp, bool on)
{
	struct netseg_config cfg;
	int err = netseg_dp_config_get(dp, &cfg);

	if (err || !!(cfg.flags & NETSEG_CFG_LOCAL_CIDR) == on)
		return err;
	cfg.flags ^= NETSEG_CFG_LOCAL_CIDR;
	return config_put(dp, &cfg);
}

static bool ipcache_val_local(const struct netseg_ipcache_val *v)
{
	return v->ifindex || v->id == NETSEG_ID_HOST;
}

/*
 * A host entry (/32, /128) goes to the exact-match hash and the trie.  The
 * hash first: if it can't take the entry nothing changed; if the trie
 * can't, the hash gets its old value back (or loses the entry), so the
 * hash never answers what the trie wouldn't.
 */
int netseg_dp_ipcache_set(struct netseg_dp *dp, const struct netseg_prefix *p, __u32 id,
			  __u32 ifindex)
{
	struct netseg_ipcache_val v = { .id = id, .ifindex = ifindex }, old;
	int hfd = dp->fds[NETSEG_DPM_IPCACHE_HOST];
	struct netseg_lpm_key k;
	bool had;
	int err = lpm_key(&k, p);

	if (err)
		return err;
	if (!lpm_key_is_host(&k)) {
		/* The flag first: the datapath must never skip the trie for it. */
		if (ipcache_val_local(&v))
			err = local_cidr_flag(dp, true);
		return err ? err : map_update(dp, NETSEG_DPM_IPCACHE, &k, &v);
	}
	had = !bpf_map_lookup_elem(hfd, &k, &old);
	err = map_update(dp, NETSEG_DPM_IPCACHE_HOST, &k, &v);
	if (err)
		return err;
	err = map_update(dp, NETSEG_DPM_IPCACHE, &k, &v);
	if (err) {
		if (had)
			bpf_map_update_elem(hfd, &k, &old, BPF_ANY);
		else
			bpf_map_delete_elem(hfd, &k);
	}
	return err;
}

/* The hash first: in between, the trie still gives the same answer. */
int netseg_dp_ipcache_del(struct netseg_dp *dp, const struct netseg_prefix *p)
{
	struct netseg_lpm_key k;
	int err = lpm_key(&k, p);

	if (err)
		return err;
	if (lpm_key_is_host(&k))
		map_delete(dp, NETSEG_DPM_IPCACHE_HOST, &k);
	return map_delete(dp, NETSEG_DPM_IPCACHE, &k);
}

/*
 * At open, bring the host hash in line with the trie: pinned maps from a
 * version without the hash, or an entry a crash left written in one map
 * and not the other.  A hash entry whose answer differs from the trie's
 * goes; every host entry of the trie is copied in.
 */
static int ipcache_host_sync(struct netseg_dp *dp)
{
	int hfd = dp->fds[NETSEG_DPM_IPCACHE_HOST], lfd = dp->fds[NETSEG_DPM_IPCACHE];
	struct netseg_lpm_key k, next, *prev = NULL;
	struct netseg_ipcache_val hv, lv;
	bool local_cidr = false;
	int err = 0;

	while (!bpf_map_get_next_key(hfd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(hfd, &k, &hv))
			continue;
		if (bpf_map_lookup_elem(lfd, &k, &lv) || lv.id != hv.id || lv.ifindex != hv.ifindex)
			bpf_map_delete_elem(hfd, &k);
	}
	prev = NULL;
	while (!err && !bpf_map_get_next_key(lfd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(lfd, &k, &lv))
			continue;
		if (!lpm_key_is_host(&k))
			local_cidr |= ipcache_val_local(&lv);
		else
			err = map_update(dp, NETSEG_DPM_IPCACHE_HOST, &k, &lv);
	}
	/* Only here is it cleared: netseg_dp_ipcache_del() doesn't recount. */
	return err ?: local_cidr_flag(dp, local_cidr);
}

int netseg_dp_prefilter_set(struct netseg_dp *dp, const struct netseg_prefix *p)
{
	struct netseg_prefilter_val v = {};
	struct netseg_lpm_key k;
	int err = lpm_key(&k, p);

	if (err)
		return err;
	/* NOEXIST is an exact match on LPM tries (a lookup would find a covering
	 * prefix): an entry already there keeps its hit counter. */
	if (bpf_map_update_elem(dp->fds[NETSEG_DPM_PREFILTER], &k, &v, BPF_NOEXIST)) {
		if (errno == EEXIST)
			return 0;
		err = -errno;
		pr_err("couldn't add to the prefilter: %s%s", strerror(-err),
		       err == -ENOSPC || err == -E2BIG ? " (map is full)" : "");
		return err;
	}
	return 0;
}

int netseg_dp_prefilter_del(struct netseg_dp *dp, const struct netseg_prefix *p)
{
	struct netseg_lpm_key k;
	int err = lpm_key(&k, p);

	return err ? err : map_delete(dp, NETSEG_DPM_PREFILTER, &k);
}

int netseg_dp_endpoint_set(struct netseg_dp *dp, __u32 ifindex, __u32 id)
{
	struct netseg_endpoint v = { .id = id };

	return map_update(dp, NETSEG_DPM_ENDPOINTS, &ifindex, &v);
}

int netseg_dp_endpoint_del(struct netseg_dp *dp, __u32 ifindex)
{
	return map_delete(dp, NETSEG_DPM_ENDPOINTS, &ifindex);
}

int netseg_dp_uplink_set(struct netseg_dp *dp, __u32 ifindex)
{
	struct netseg_endpoint v = { .id = NETSEG_ID_ANY, .flags = NETSEG_EPF_UPLINK };

	return map_update(dp, NETSEG_DPM_ENDPOINTS, &ifindex, &v);
}

int netseg_dp_cgroup_set(struct netseg_dp *dp, __u64 cgid, __u32 id)
{
	struct netseg_endpoint v = { .id = id };

	return map_update(dp, NETSEG_DPM_CGROUPS, &cgid, &v);
}

int netseg_dp_cgroup_del(struct netseg_dp *dp, __u64 cgid)
{
	return map_delete(dp, NETSEG_DPM_CGROUPS, &cgid);
}

int netseg_dp_identity_set(struct netseg_dp *dp, __u32 id, __u32 flags)
{
	struct netseg_identity v = { .flags = flags };

	return map_update(dp, NETSEG_DPM_IDENTITIES, &id, &v);
}

int netseg_dp_identity_del(struct netseg_dp *dp, __u32 id)
{
	return map_delete(dp, NETSEG_DPM_IDENTITIES, &id);
}

/* ---------------------------------------------------------- counters */

/* Every slot of ns_counters, summed over the CPUs. */
static int read_slots(struct netseg_dp *dp, struct netseg_counter out[NETSEG_COUNTER_SLOTS])
{
	int ncpu = libbpf_num_possible_cpus();
	struct netseg_counter *per;

	if (ncpu < 0)
		return ncpu;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (__u32 i = 0; i < NETSEG_COUNTER_SLOTS; i++) {
		out[i].packets = out[i].bytes = 0;
		if (bpf_map_lookup_elem(dp->fds[NETSEG_DPM_COUNTERS], &i, per))
			continue;
		for (int c = 0; c < ncpu; c++) {
			out[i].packets += per[c].packets;
			out[i].bytes += per[c].bytes;
		}
	}
	free(per);
	return 0;
}

int netseg_dp_read_counters(struct netseg_dp *dp, struct netseg_counter out[NETSEG_STAT_MAX])
{
	struct netseg_counter all[NETSEG_COUNTER_SLOTS];
	int err = read_slots(dp, all);

	if (err)
		return err;
	/* A drop is counted once, in its direction's slot: its reason's
	 * total is the sum of both, monotonic as each of them is. */
	for (int r = 1; r < NETSEG_REASON_MAX; r++) {
		all[r].packets += all[NETSEG_STAT_DROP_IN + r].packets +
				  all[NETSEG_STAT_DROP_OUT + r].packets;
		all[r].bytes += all[NETSEG_STAT_DROP_IN + r].bytes +
				all[NETSEG_STAT_DROP_OUT + r].bytes;
	}
	memcpy(out, all, NETSEG_STAT_MAX * sizeof(out[0]));
	return 0;
}

int netseg_dp_read_drops(struct netseg_dp *dp, struct netseg_counter in[NETSEG_REASON_MAX],
			 struct netseg_counter out[NETSEG_REASON_MAX])
{
	struct netseg_counter all[NETSEG_COUNTER_SLOTS];
	int err = read_slots(dp, all);

	if (err)
		return err;
	memcpy(in, all + NETSEG_STAT_DROP_IN, NETSEG_REASON_MAX * sizeof(in[0]));
	memcpy(out, all + NETSEG_STAT_DROP_OUT, NETSEG_REASON_MAX * sizeof(out[0]));
	return 0;
}
