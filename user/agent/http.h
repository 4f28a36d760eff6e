/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* http.h - the agent's HTTP(S) client: one POST at a time over libcurl,
 * with a timeout per request and the user's extra headers; the only file
 * that includes curl.h. */
#ifndef PYBPF_HTTP_H
#define PYBPF_HTTP_H

#include <stddef.h>

struct http;

/* Once, before any thread starts (curl_global_init is not thread-safe). */
int http_global_init(void);
void http_global_cleanup(void);

/* headers: "Name: value" strings, n of them, copied.  NULL if out of memory. */
struct http *http_new(const char *const *headers, size_t n, long timeout_ms);
void http_free(struct http *h);

/* POST body to url.  Returns the HTTP status (200...), or -1 when no
 * answer came (refused, timeout, TLS...), with the reason in err. */
int http_post(struct http *h, const char *url, const char *content_type,
	      const void *body, size_t len, char *err, size_t errlen);

/* Percent-encode s (RFC 3986 unreserved characters kept) into out;
 * the length it needed (out is cut, and terminated, when too small). */
size_t http_escape(const char *s, char *out, size_t outlen);

#endif /* PYBPF_HTTP_H */
