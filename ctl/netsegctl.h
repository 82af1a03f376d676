/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netsegctl: a thin client of netsegd's control socket (lib/ctlproto.h),
 * plus the offline `check`.  Each subcommand is a do_*() that returns the
 * process exit code; helpers below return 0 or -errno.
 */
#ifndef NETSEGCTL_H
#define NETSEGCTL_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

/* Exit codes: scripts rely on them, so they never change meaning. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_REJECTED = 1,	  /* the input was refused: daemon or check */
	CTL_EXIT_USAGE = 2,	  /* bad command line */
	CTL_EXIT_UNREACHABLE = 3, /* no daemon at the socket */
	CTL_EXIT_INTERNAL = 4,	  /* daemon error or broken reply */
};

/* Global options, set once by main(). */
struct ctl_opts {
	const char *sock; /* -s, $NETSEG_SOCKET or NETSEG_CTL_SOCK */
	bool verbose;	  /* -v: show requests and replies */
};

extern struct ctl_opts ctl;
extern const char *bin_name;

/*
 * A subcommand.  @func NULL reserves the name for a later version.
 * @usage is its grammar, one line per form, without the program name.
 */
struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
	const char *usage;
};

/* Run the entry of @cmds named argv[0] with the remaining arguments. */
int cmd_select(const struct cmd *cmds, int argc, char **argv);

/* Print `error: ...` and the usage of the running subcommand; returns
 * CTL_EXIT_USAGE. */
int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Command-line helpers.  Flags are whole words ("--iface GLOB" or
 * "--iface=GLOB"), never clusters: a rule word such as "->" must not be
 * taken for an option.
 */
/* 1 if argv[*i] is flag @name, with its value in *val (next word or after
 * '='), advancing *i; 0 if it is not; -EINVAL (usage reported) if the
 * value is missing. */
int arg_value(int argc, char **argv, int *i, const char *name, const char **val);
/* 0 if nothing is left, else a usage error about argv[0]. */
int no_more_args(int argc, char **argv);
/* Words joined with single spaces; NULL on ENOMEM. */
char *join_words(char **words, int n);

/* ---------------------------------------------------------- client.c */

/* {"cmd": @name}, or NULL on ENOMEM. */
struct cJSON *req_new(const char *name);

/*
 * Send @req, wait for its reply.  Returns CTL_EXIT_OK with *reply a reply
 * whose "ok" is true, or another exit code after reporting the error
 * (daemon unreachable, "ok": false, broken reply).
 */
int ctl_call(const struct cJSON *req, struct cJSON **reply);

/* Prints a successful reply as text; 0 or -EPROTO (reported). */
typedef int (*reply_printer)(const struct cJSON *reply);

/* A successful reply as JSON (-o json, without "ok") or through @print;
 * returns the exit code. */
int ctl_print(struct cJSON *reply, reply_printer print);

/* ctl_call(), then the reply as JSON (-o json) or through @print.
 * Frees @req.  Returns the exit code. */
int ctl_run(struct cJSON *req, reply_printer print);

/* ------------------------------------------------------- redirect.c */

/*
 * The rule text of a command line, with recovery from the shell's
 * redirection in an unquoted `frontend->api:443` (the RULE grammar in lib/rule.h).
 */
struct rule_words {
	char *text;  /* the rule to send (malloc'd) */
	char *stray; /* the removed file, or NULL if none */
};

/* 0 with @rw filled, or an exit code (already reported); @cmd names the
 * subcommand for the hint.  Caller frees with rule_words_free(). */
int rule_words_get(const char *cmd, char **words, int n, struct rule_words *rw);
/* If a rule was recovered, the note that says so; @done is what the
 * command did with it ("applied"), NULL if the daemon refused it. */
void rule_words_note(const struct rule_words *rw, const char *done);
void rule_words_free(struct rule_words *rw);

/* ------------------------------------------------------ subcommands */

int do_status(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_identity(int argc, char **argv);
int do_endpoint(int argc, char **argv);
int do_allow(int argc, char **argv);
int do_deny(int argc, char **argv);
int do_remove(int argc, char **argv);
int do_rule(int argc, char **argv);
int do_list(int argc, char **argv);
int do_apply(int argc, char **argv);
int do_diff(int argc, char **argv);
int do_check(int argc, char **argv);
int do_trace(int argc, char **argv);
int do_prefilter(int argc, char **argv);
int do_attach(int argc, char **argv);
int do_detach(int argc, char **argv);
int do_flows(int argc, char **argv);
int do_observe(int argc, char **argv);
int do_logs(int argc, char **argv);
int do_map(int argc, char **argv);
int do_node(int argc, char **argv);
int do_suggest(int argc, char **argv);

/* -o ocsf|ecs|cef: the record format of `flows` (NULL = native JSON). */
extern const char *flow_format;
/* -o text given: flows prints one readable line per record even to a pipe. */
extern bool flow_text_asked;
/* observe: readable lines whatever stdout is, unless -o asks for records. */
extern bool flow_observe;
/* --no-color: no colours in the readable lines, even on a terminal. */
extern bool flow_no_color;
/* Sends a `flows` request (freed) and prints its stream until it ends,
 * Ctrl-C or a closed pipe; the exit code. */
int flow_stream(struct cJSON *req);

/* -o dot|svg|png (map), rules|yaml (suggest); NULL = the default. */
extern const char *learn_format;

/* Learn mode (cmd_map.c): the daemon's flow history from @since_ns on as
 * observations (lib/suggest.h), malloc'd into *obs; an exit code. */
struct netseg_obs;
int learn_fetch(unsigned long long since_ns, struct netseg_obs **obs, size_t *n);
/* --since DURATION as a realtime bound in ns; 0 or a usage exit code. */
int learn_since(const char *val, unsigned long long *since_ns);

/* How messages name a -f FILE: "<stdin>" for "-". */
const char *file_label(const char *path);
/* Read a whole rule file ("-": stdin): 0, or -errno (not reported). */
int read_file(const char *path, char **buf, size_t *len);
/* {"cmd": @cmd, "name": FILE, "text": the file} into *req, errors
 * reported (cmd_file.c): 0 or an exit code. */
/* -f FILE (or --file) and the one switch @flag, which sets *set: 0, or
 * the exit code after a usage message (an unknown argument, no file). */
int file_flag_args(int argc, char **argv, const char *flag, bool *set, const char **file);
int file_req(const char *cmd, const char *path, struct cJSON **req);
/* The file ("-": stdin) read whole into *text, refused (reported) if it
 * holds a NUL byte: 0 or an exit code. */
int file_text(const char *path, char **text);
/* {"cmd": @cmd, "name": how messages name @path, "text": @text}: 0 or an
 * exit code. */
int text_req(const char *cmd, const char *path, const char *text, struct cJSON **req);

/* ---------------------------------------------------------- cmd_k8s.c */

/* Is @text Kubernetes objects rather than native rules?  docs/kubernetes.md
 * ("Applying and deleting") says how it decides. */
bool k8s_manifest(const char *text);
/* apply -f of a manifest, already read: the exit code. */
int k8s_apply(const char *path, const char *text, bool dry_run);
int do_delete(int argc, char **argv);
int do_get(int argc, char **argv);

#endif /* NETSEGCTL_H */
