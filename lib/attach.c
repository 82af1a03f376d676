// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attachments: TCX links (clsact filter where the kernel has no TCX),
 * cgroup_skb links, and the XDP prefilter through libxdp's dispatcher.
 * TC and cgroup links are pinned under <pin_dir>/links so that they outlive
 * the daemon; a restarted daemon re-points them at its freshly loaded
 * programs with bpf_link_update, so enforcement never stops.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/pkt_cls.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "policy.skel.h"
#include "prefilter.skel.h"
#include "dp_internal.h"
#include "hook.h"
#include "log.h"

/* libbpf 1.1 predates TCX: the kernel's attach type numbers. */
#ifndef BPF_TCX_INGRESS
#define NETSEG_BPF_TCX_INGRESS 46
#define NETSEG_BPF_TCX_EGRESS 47
#else
#define NETSEG_BPF_TCX_INGRESS BPF_TCX_INGRESS
#define NETSEG_BPF_TCX_EGRESS BPF_TCX_EGRESS
#endif

/* clsact fallback: our filter's handle and priority. */
#define NETSEG_TC_HANDLE 0x5e9
#define NETSEG_TC_PRIO 1

static const char *ifname(int ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "ifindex %d", ifindex);
	return buf;
}

static int link_path(struct netseg_dp *dp, char *buf, size_t len, const char *kind,
		     unsigned long long id)
{
	if (!dp->pin_dir[0]) {
		pr_err("attaching needs a bpffs pin directory (links must outlive us)");
		return -EINVAL;
	}
	snprintf(buf, len, "%s/links", dp->pin_dir);
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	snprintf(buf, len, "%s/links/%s-%llu", dp->pin_dir, kind, id);
	return 0;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.id : 0;
}

static bool same_prog(int link_fd, int prog_fd)
{
	struct bpf_link_info li = {};
	__u32 ll = sizeof(li);

	return !bpf_obj_get_info_by_fd(link_fd, &li, &ll) && li.prog_id &&
	       li.prog_id == prog_id(prog_fd);
}

/*
 * Point an existing pinned link at prog_fd.  Returns 1 when done, 0 when no
 * usable link is pinned there (a stale pin is removed), or -errno.
 */
static int link_replace(const char *path, int prog_fd)
{
	int fd = bpf_obj_get(path), err;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* A daemon that re-opened the cached programs finds them running
	 * already: nothing to update. */
	if (same_prog(fd, prog_fd)) {
		close(fd);
		return 1;
	}
	err = bpf_link_update(fd, prog_fd, NULL);
	close(fd);
	if (!err)
		return 1;
	/* The target went away (interface or cgroup deleted): start afresh. */
	pr_debug("pinned link %s is stale (%s); replacing it", path, strerror(errno));
	unlink(path);
	return 0;
}

static int link_create_pinned(const char *path, int prog_fd, int target, enum bpf_attach_type type)
{
	int fd = bpf_link_create(prog_fd, target, type, NULL), err = 0;

	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path))
		err = -errno;
	close(fd);
	return err;
}

static int tc_clsact_attach(int ifindex, bool ingress, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NETSEG_TC_HANDLE,
			    .priority = NETSEG_TC_PRIO, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

static int tc_clsact_detach(int ifindex, bool ingress)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NETSEG_TC_HANDLE,
			    .priority = NETSEG_TC_PRIO);

	return bpf_tc_detach(&hook, &opts);
}

int netseg_dp_attach_tc(struct netseg_dp *dp, int ifindex, bool ingress)
{
	int hook = ingress ? NETSEG_HOOK_TC_INGRESS : NETSEG_HOOK_TC_EGRESS;
	int prog_fd = netseg_dp_prog_fd(dp, hook);
	const char *dir = ingress ? "ingress" : "egress";
	char path[PATH_MAX], name[IF_NAMESIZE];
	int err;

	err = link_path(dp, path, sizeof(path), netseg_hook_pin_name(hook), ifindex);
	if (err)
		return err;
	err = link_replace(path, prog_fd);
	if (err)
		return err < 0 ? err : 0;
	err = link_create_pinned(path, prog_fd, ifindex,
				 ingress ? NETSEG_BPF_TCX_INGRESS : NETSEG_BPF_TCX_EGRESS);
	if (err == -EINVAL || err == -EOPNOTSUPP) {
		pr_debug("no TCX on this kernel (%s); using clsact", strerror(-err));
		err = tc_clsact_attach(ifindex, ingress, prog_fd);
	}
	/* An interface gone under us is a race the caller expects and reports
	 * by name (the index no longer has one); anything else is an error. */
	if (err == -ENODEV || err == -ENXIO)
		pr_debug("couldn't attach to %s %s: interface not found", ifname(ifindex, name),
			 dir);
	else if (err)
		pr_err("couldn't attach to %s %s: %s", ifname(ifindex, name), dir, strerror(-err));
	return err;
}

int netseg_dp_detach_tc(struct netseg_dp *dp, int ifindex, bool ingress)
{
	char path[PATH_MAX];
	int err;

	err = link_path(dp, path, sizeof(path),
			netseg_hook_pin_name(ingress ? NETSEG_HOOK_TC_INGRESS :
						       NETSEG_HOOK_TC_EGRESS),
			ifindex);
	if (err)
		return err;
	if (!unlink(path))
		return 0; /* the last reference: the kernel detaches */
	err = tc_clsact_detach(ifindex, ingress);
	return err == -ENOENT || err == -EINVAL || err == -ENODEV ? 0 : err;
}

int netseg_dp_attach_cgroup(struct netseg_dp *dp, const char *cgpath, __u64 *cgid)
{
	static const struct {
		int hook;
		enum bpf_attach_type type;
	} sides[] = {
		{ NETSEG_HOOK_CG_INGRESS, BPF_CGROUP_INET_INGRESS },
		{ NETSEG_HOOK_CG_EGRESS, BPF_CGROUP_INET_EGRESS },
	};
	char path[PATH_MAX];
	int cgfd, err, i;

	err = netseg_cgroup_id(cgpath, cgid);
	if (err) {
		pr_err("couldn't use cgroup %s: %s", cgpath,
		       err == -ENOTDIR ? "not a cgroup v2 directory" : strerror(-err));
		return err;
	}
	cgfd = open(cgpath, O_RDONLY | O_DIRECTORY);
	if (cgfd < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		int prog_fd = netseg_dp_prog_fd(dp, sides[i].hook);

		err = link_path(dp, path, sizeof(path), netseg_hook_pin_name(sides[i].hook), *cgid);
		if (err)
			break;
		err = link_replace(path, prog_fd);
		if (err > 0) {
			err = 0;
			continue;
		}
		if (!err)
			err = link_create_pinned(path, prog_fd, cgfd, sides[i].type);
		if (err) {
			pr_err("couldn't attach to cgroup %s: %s", cgpath, strerror(-err));
			break;
		}
	}
	close(cgfd);
	return err;
}

int netseg_dp_detach_cgroup(struct netseg_dp *dp, __u64 cgid)
{
	char path[PATH_MAX];
	int err;

	for (int i = 0; i < 2; i++) {
		err = link_path(dp, path, sizeof(path),
				netseg_hook_pin_name(i ? NETSEG_HOOK_CG_EGRESS :
							 NETSEG_HOOK_CG_INGRESS),
				cgid);
		if (err)
			return err;
		if (unlink(path) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/* ------------------------------------------------------------------ XDP */

#define NETSEG_XDP_PROG_NAME "netseg_xdp_prefilter"

/*
 * ids of netseg prefilter programs already on ifindex.  *legacy_mode is set
 * (to XDP_MODE_*) when ours runs as the interface's only program, without
 * libxdp's dispatcher.
 */
static int xdp_find_ours(int ifindex, __u32 *ids, int max, int *legacy_mode)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p = NULL;
	int n = 0;

	*legacy_mode = 0;
	if (!mp || libxdp_get_error(mp))
		return 0;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), NETSEG_XDP_PROG_NAME)) {
			ids[n++] = xdp_program__id(p);
			*legacy_mode = xdp_multiprog__attach_mode(mp);
		}
		xdp_multiprog__close(mp);
		return n;
	}
	while ((p = xdp_multiprog__next_prog(p, mp)) && n < max) {
		if (!strcmp(xdp_program__name(p), NETSEG_XDP_PROG_NAME))
			ids[n++] = xdp_program__id(p);
	}
	xdp_multiprog__close(mp);
	return n;
}

/*
 * Where the dispatcher can't be loaded (freplace programs refused, as in
 * some sandboxes) libxdp falls back to a single program; replace ours
 * atomically with XDP_FLAGS_REPLACE instead of detach + attach.
 */
static int xdp_replace_legacy(struct netseg_dp *dp, int ifindex, __u32 old_id, int mode)
{
	int old_fd = bpf_prog_get_fd_by_id(old_id), err;
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = old_fd);
	__u32 flags = XDP_FLAGS_REPLACE |
		      (mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);

	if (old_fd < 0)
		return -errno;
	err = bpf_xdp_attach(ifindex, netseg_dp_prog_fd(dp, NETSEG_HOOK_XDP), flags, &o);
	close(old_fd);
	return err;
}

static int xdp_detach_id(int ifindex, __u32 id)
{
	struct xdp_program *p = xdp_program__from_id(id);
	int err;

	if (!p || libxdp_get_error(p))
		return -ENOENT;
	err = xdp_program__detach(p, ifindex, XDP_MODE_UNSPEC, 0);
	xdp_program__close(p);
	return err;
}

static int xdp_slot(struct netseg_dp *dp, int ifindex)
{
	int free_slot = -1;

	for (int i = 0; i < NETSEG_XDP_MAX_IFACES; i++) {
		if (dp->xdp_att[i].used && dp->xdp_att[i].ifindex == ifindex)
			return i;
		if (!dp->xdp_att[i].used && free_slot < 0)
			free_slot = i;
	}
	return free_slot;
}

static void xdp_slot_set(struct netseg_dp *dp, int i, int ifindex, int fd, struct xdp_program *prog,
			 struct prefilter_bpf *skel)
{
	dp->xdp_att[i].used = true;
	dp->xdp_att[i].ifindex = ifindex;
	dp->xdp_att[i].fd = fd;
	dp->xdp_att[i].prog = prog;
	dp->xdp_att[i].skel = skel;
}

/*
 * XDP_FLAGS_DRV_MODE or _SKB_MODE when the program behind @fd is the one
 * on @ifindex (no dispatcher in between), else 0.  Netlink and our own fd
 * only: works without CAP_SYS_ADMIN.
 */
static __u32 xdp_direct_mode(int ifindex, int fd)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 id = prog_id(fd);

	if (!id || bpf_xdp_query(ifindex, 0, &q))
		return 0;
	if (q.drv_prog_id == id)
		return XDP_FLAGS_DRV_MODE;
	if (q.skb_prog_id == id)
		return XDP_FLAGS_SKB_MODE;
	return 0;
}

/* libxdp loads the program itself (as a dispatcher extension), so each
 * attachment gets its own object instance sharing our maps. */
static struct xdp_program *xdp_prog_new(struct netseg_dp *dp, struct prefilter_bpf **skel)
{
	struct xdp_program *prog;

	*skel = prefilter_bpf__open();
	if (!*skel)
		return NULL;
	if (netseg_dp_reuse_maps(dp, (*skel)->obj))
		goto fail;
	prog = xdp_program__from_bpf_obj((*skel)->obj, "xdp");
	if (!prog || libxdp_get_error(prog))
		goto fail;
	return prog;
fail:
	prefilter_bpf__destroy(*skel);
	*skel = NULL;
	return NULL;
}

/*
 * Attach the new program before detaching any old one of ours: for a moment
 * both run (same maps, same verdicts) rather than neither.
 */
int netseg_dp_attach_xdp(struct netseg_dp *dp, int ifindex)
{
	struct prefilter_bpf *skel;
	struct xdp_program *prog;
	char name[IF_NAMESIZE];
	__u32 old[8];
	int n, err, legacy, slot = xdp_slot(dp, ifindex);

	if (slot < 0)
		return -ENOSPC;
	/* Attached by us, still there: nothing to do. */
	if (dp->xdp_att[slot].used && xdp_direct_mode(ifindex, dp->xdp_att[slot].fd))
		return 0;
	n = xdp_find_ours(ifindex, old, 8, &legacy);
	if (n && legacy) {
		err = xdp_replace_legacy(dp, ifindex, old[0], legacy);
		if (err)
			pr_err("couldn't replace the XDP prefilter on %s: %s",
			       ifname(ifindex, name), strerror(-err));
		else {
			netseg_dp_xdp_slot_free(dp, slot);
			xdp_slot_set(dp, slot, ifindex, netseg_dp_prog_fd(dp, NETSEG_HOOK_XDP),
				     NULL, NULL);
		}
		return err;
	}
	prog = xdp_prog_new(dp, &skel);
	if (!prog) {
		pr_err("couldn't prepare the XDP prefilter for %s", ifname(ifindex, name));
		return -EINVAL;
	}
	err = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
	if (err)
		err = xdp_program__attach(prog, ifindex, XDP_MODE_SKB, 0);
	if (err) {
		pr_err("couldn't attach the XDP prefilter to %s: %s", ifname(ifindex, name),
		       strerror(-err));
		xdp_program__close(prog);
		prefilter_bpf__destroy(skel);
		return err;
	}
	for (int i = 0; i < n; i++)
		xdp_detach_id(ifindex, old[i]);
	netseg_dp_xdp_slot_free(dp, slot);
	/* skel owns the object prog points into */
	xdp_slot_set(dp, slot, ifindex, xdp_program__fd(prog), prog, skel);
	return 0;
}

/* Ours from this process and directly on the interface: detach exactly it
 * (XDP_FLAGS_REPLACE: only if it is still the one there).  1 when done. */
static int xdp_detach_known(struct netseg_dp *dp, int ifindex)
{
	int slot = xdp_slot(dp, ifindex), err;
	__u32 mode;

	if (slot < 0 || !dp->xdp_att[slot].used)
		return 0;
	mode = xdp_direct_mode(ifindex, dp->xdp_att[slot].fd);
	if (!mode)
		return 0;
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = dp->xdp_att[slot].fd);
	err = bpf_xdp_detach(ifindex, XDP_FLAGS_REPLACE | mode, &o);
	if (err)
		return err;
	netseg_dp_xdp_slot_free(dp, slot);
	return 1;
}

int netseg_dp_detach_xdp(struct netseg_dp *dp, int ifindex)
{
	__u32 ids[8];
	int legacy, n, err = xdp_detach_known(dp, ifindex);

	if (err)
		return err < 0 ? err : 0;
	n = xdp_find_ours(ifindex, ids, 8, &legacy);
	for (int i = 0; i < n; i++) {
		int e = xdp_detach_id(ifindex, ids[i]);

		if (e)
			err = e;
	}
	for (int i = 0; i < NETSEG_XDP_MAX_IFACES; i++) {
		if (dp->xdp_att[i].used && dp->xdp_att[i].ifindex == ifindex)
			netseg_dp_xdp_slot_free(dp, i);
	}
	return err;
}

/* ------------------------------------------------------ restart, cleanup */

/* Links only: an "xdp-" name is none of ours. */
static int link_hook(const char *name)
{
	int hook = netseg_hook_by_pin_prefix(name);

	return hook == NETSEG_HOOK_XDP ? -1 : hook;
}

static int for_each_link(struct netseg_dp *dp, int (*fn)(struct netseg_dp *, const char *, int))
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	int err = 0, hook;
	DIR *d;

	if (!dp->pin_dir[0])
		return 0;
	snprintf(dir, sizeof(dir), "%s/links", dp->pin_dir);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		hook = link_hook(de->d_name);
		if (hook < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		int e = fn(dp, path, hook);

		if (e < 0)
			err = e;
	}
	closedir(d);
	return err;
}

static int replace_one(struct netseg_dp *dp, const char *path, int hook)
{
	int r = link_replace(path, netseg_dp_prog_fd(dp, hook));

	return r < 0 ? r : 0;
}

int netseg_dp_replace_links(struct netseg_dp *dp)
{
	return for_each_link(dp, replace_one);
}

static int unlink_one(struct netseg_dp *dp, const char *path, int hook)
{
	const char *dash = strrchr(path, '-');
	char *end;
	unsigned long ifindex = dash ? strtoul(dash + 1, &end, 10) : 0;

	/* tc-ingress-IFINDEX: a name not ours is unpinned, nothing detached. */
	if ((hook == NETSEG_HOOK_TC_INGRESS || hook == NETSEG_HOOK_TC_EGRESS) && ifindex &&
	    ifindex <= INT_MAX && !*end)
		netseg_dp_detach_xdp(dp, (int)ifindex);
	return unlink(path) ? -errno : 0;
}

int netseg_dp_cleanup(struct netseg_dp *dp)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err = for_each_link(dp, unlink_one);

	if (!dp->pin_dir[0])
		return err;
	snprintf(path, sizeof(path), "%s/links", dp->pin_dir);
	rmdir(path);
	netseg_dp_cache_remove(dp);
	bpf_object__for_each_map(map, dp->tc->obj) {
		if (!strncmp(bpf_map__name(map), "ns_", 3) && bpf_map__is_pinned(map))
			bpf_map__unpin(map, NULL);
	}
	if (rmdir(dp->pin_dir) && errno != ENOENT)
		pr_warn("%s is not empty after cleanup: %s", dp->pin_dir, strerror(errno));
	return err;
}
