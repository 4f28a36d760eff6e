/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pyroscope.h - what Grafana Pyroscope's HTTP ingest API expects
 * (POST /ingest): the application name with its labels, the query
 * string, and the pprof wrapped in a multipart form. */
#ifndef PYBPF_PYROSCOPE_H
#define PYBPF_PYROSCOPE_H

#include <stddef.h>
#include <stdint.h>
#include "proc.h"

#define PYRO_SPY_NAME "pybpf"

/* The service a process belongs to: flag if given, else its container or
 * systemd unit (from its cgroup), else its command name.  Reduced to the
 * characters Pyroscope allows in an application name. */
void pyro_service(const struct pyproc *p, const char *flag, char *out, size_t len);

/* Is "key=value" a --tag Pyroscope accepts?  Prints why not. */
int pyro_tag_check(const char *kv);

/* "service{pid=1,comm=python3,host=h,python_version=3.11.7,tags...}",
 * or "service{host=h,tags...}" when p is NULL (a profile per service):
 * label values lose the characters that would end them (",{}=") and
 * surrounding blanks.  tags: "k=v" strings, n of them. */
void pyro_app_name(const char *service, const struct pyproc *p, const char *host,
		   const char *const *tags, size_t n, char *out, size_t len);

/* "name=...&from=...&until=...&format=pprof&sampleRate=...&spyName=pybpf" */
void pyro_query(const char *app_name, uint64_t from_s, uint64_t until_s, uint32_t rate_hz,
		char *out, size_t len);

/* body as the form file field "profile" of a multipart/form-data request;
 * *out is malloc'ed, type gets the Content-Type.  0 or -ENOMEM. */
int pyro_multipart(const void *body, size_t len, void **out, size_t *outlen,
		   char *type, size_t typelen);

#endif /* PYBPF_PYROSCOPE_H */
