// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QUIC: the tracepoints' definitions (include/trace/events/quic.h).
 */

#define CREATE_TRACE_POINTS
#include <trace/events/quic.h>
