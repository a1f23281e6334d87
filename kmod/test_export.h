/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exports for the test module only (kmod/test/, quic_test.ko).
 *
 * quic.ko exports nothing to other modules but the kernel socket API
 * (<net/quic.h>).  The known-answer tests in kmod/test/ call internal
 * functions (packet protection, tokens, the transport parameter codec);
 * those are exported, in the QUIC_TEST namespace, only when the test module
 * is built (CONFIG_QUIC_KUNIT_TEST), as the kernel's EXPORT_SYMBOL_IF_KUNIT()
 * only exports when KUnit is enabled.  A module that calls them declares
 * MODULE_IMPORT_NS(QUIC_TEST).
 */

#ifndef __NET_QUIC_TEST_EXPORT_H
#define __NET_QUIC_TEST_EXPORT_H

#include <linux/export.h>
#include <linux/kconfig.h>

#if IS_ENABLED(CONFIG_QUIC_KUNIT_TEST)
#define EXPORT_SYMBOL_IF_QUIC_TEST(sym)	EXPORT_SYMBOL_NS_GPL(sym, QUIC_TEST)
#else
/* Expands to nothing; the argument is left unnamed on purpose. */
#define EXPORT_SYMBOL_IF_QUIC_TEST(...)
#endif

#endif /* __NET_QUIC_TEST_EXPORT_H */
