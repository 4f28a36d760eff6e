/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* otlp.h - EXPERIMENTAL: a profile as an OpenTelemetry profiles signal
 * request (ExportProfilesServiceRequest of opentelemetry-proto's
 * profiles/v1development, an alpha that still changes), for OTLP/HTTP
 * with protobuf encoding at POST <endpoint>/v1development/profiles. */
#ifndef PYBPF_OTLP_H
#define PYBPF_OTLP_H

#include <stddef.h>
#include <stdint.h>
#include "proc.h"
#include "profile.h"

#define OTLP_PATH "/v1development/profiles"

struct otlp_resource {
	const char *service;             /* service.name */
	const char *host;                /* host.name */
	const struct pyproc *proc;       /* process.*; NULL for a whole service */
	const char *const *tags;         /* "k=v", n of them: more attributes */
	size_t ntags;
};

/* One request: a ResourceProfiles for res holding a "cpu" profile of p's
 * on-CPU stacks and, when p has any, an "off_cpu" profile of the rest;
 * values in nanoseconds (samples times the period of p->rate_hz).
 * *out is malloc'ed.  0, -ENODATA when p has no stack, or -ENOMEM. */
int otlp_encode(const struct profile *p, const struct otlp_resource *res, void **out,
		size_t *len);

#endif /* PYBPF_OTLP_H */
