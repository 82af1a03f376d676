/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What text from users may hold.  Identity names are a DNS-label-like
 * charset (identity.c); free text (rule comments, node name) is any valid
 * UTF-8 without control characters (C0, DEL, C1), so that no output format
 * or terminal can be tricked into a new line or an escape sequence;
 * paths are absolute, free text, with no "." or ".." component.
 */
#ifndef NETSEG_TEXT_H
#define NETSEG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at @s (@n bytes left), 0 if invalid
 * (a NUL is invalid too). */
size_t netseg_utf8_seq(const unsigned char *s, size_t n);

/* Length of the printable character at @s: a valid UTF-8 sequence that is
 * no control character (C0, DEL, C1); 0 for a control character or a byte
 * that isn't UTF-8. */
size_t netseg_printable_seq(const unsigned char *s, size_t n);

/*
 * Checks @s as free text of at most @max - 1 bytes.  0, or -EINVAL with a
 * reason that says what and where ("control character 0x0a at byte 5")
 * in @why (@whylen bytes).
 */
int netseg_text_check(const char *s, size_t max, char *why, size_t whylen);

/* Free text as above, absolute, no "." or ".." component. */
int netseg_path_check(const char *s, size_t max, char *why, size_t whylen);

/* An interface name or glob: printable ASCII without '/', ':' or spaces
 * (what the kernel refuses, plus every control character), shorter than
 * @max. */
int netseg_ifname_check(const char *s, size_t max, char *why, size_t whylen);

/* @s for an error message: bytes outside printable ASCII become '?', cut
 * to @len - 1 bytes.  Returns @buf. */
const char *netseg_printable(const char *s, char *buf, size_t len);

/* qsort()/bsearch() comparator for an array of C string pointers. */
int netseg_strp_cmp(const void *a, const void *b);

#endif
