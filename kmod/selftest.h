/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Known-answer self-test of the packet protection and transport parameter
 * code, run at module load when the module parameter selftest is set.
 */

#ifndef __NET_QUIC_SELFTEST_H
#define __NET_QUIC_SELFTEST_H

/**
 * quic_selftest - run the self-test if requested by the module parameter
 *
 * selftest=0 (default): do nothing.  selftest=1: run every test, log
 * "quic: selftest passed" or the failing check.  selftest=2: the same with
 * one expected vector deliberately corrupted, which must make it fail (to
 * prove the checks detect broken crypto).  Call from module init after
 * quic_crypto_init(); fail the load on a non-zero return.
 * Context: process context.
 * Return: 0, or -EINVAL if a check failed, -ENOMEM.
 */
int quic_selftest(void);

#endif /* __NET_QUIC_SELFTEST_H */
