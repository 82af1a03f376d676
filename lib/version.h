/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one version string: netsegd --version, netsegctl --version, the
 * status reply and the product version in flow records.  The Makefile
 * reads it from here too (man page footers), so bump it only here.
 */
#ifndef NETSEG_VERSION_H
#define NETSEG_VERSION_H

#define NETSEG_VERSION "0.3.0"

#endif
