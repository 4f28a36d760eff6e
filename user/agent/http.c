// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* http.c - POST over libcurl (see http.h).  One easy handle per client,
 * reused so connections are kept alive between pushes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "http.h"

struct http {
	CURL *curl;
	struct curl_slist *headers;  /* the user's; the content type is added per request */
	long timeout_ms;
	char answer[256];            /* the start of the last answer body, for errors */
	size_t answer_len;
};

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

struct http *http_new(const char *const *headers, size_t n, long timeout_ms)
{
	struct http *h = calloc(1, sizeof(*h));
	size_t i;

	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	h->timeout_ms = timeout_ms;
	for (i = 0; h->curl && i < n; i++) {
		struct curl_slist *l = curl_slist_append(h->headers, headers[i]);

		if (!l)
			goto fail;
		h->headers = l;
	}
	if (h->curl)
		return h;
fail:
	http_free(h);
	return NULL;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	free(h);
}

/* Keep the head of the answer (an error message from the backend). */
static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct http *h = ctx;
	size_t len = size * n, room = sizeof(h->answer) - 1 - h->answer_len;

	if (room) {
		memcpy(h->answer + h->answer_len, data, len < room ? len : room);
		h->answer_len += len < room ? len : room;
		h->answer[h->answer_len] = 0;
	}
	return len;
}

int http_post(struct http *h, const char *url, const char *content_type,
	      const void *body, size_t len, char *err, size_t errlen)
{
	char type[256], curlerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL, *l, *all;
	long status = -1;
	CURLcode rc;

	snprintf(type, sizeof(type), "Content-Type: %s", content_type);
	/* the user's headers first, then ours (a copy: the list is per request) */
	for (l = h->headers; l; l = l->next)
		if (!(all = curl_slist_append(headers, l->data)))
			goto oom;
		else
			headers = all;
	if (!(all = curl_slist_append(headers, type)))
		goto oom;
	headers = all;
	if (!(all = curl_slist_append(headers, "Expect:"))) /* no 100-continue round trip */
		goto oom;
	headers = all;
	h->answer_len = 0;
	h->answer[0] = 0;
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);   /* threads: no SIGALRM */
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "pybpf-agent");
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	rc = curl_easy_perform(h->curl);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status < 200 || status > 299) {
			size_t i;

			for (i = 0; h->answer[i]; i++)  /* one line in the log */
				if (h->answer[i] == '\n' || h->answer[i] == '\r')
					h->answer[i] = ' ';
			snprintf(err, errlen, "HTTP %ld%s%.120s", status, h->answer[0] ? ": " : "",
				 h->answer);
		}
	} else {
		snprintf(err, errlen, "%s", curlerr[0] ? curlerr : curl_easy_strerror(rc));
	}
	curl_slist_free_all(headers);
	return (int)status;
oom:
	curl_slist_free_all(headers);
	snprintf(err, errlen, "out of memory");
	return -1;
}

size_t http_escape(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';

		if (keep) {
			if (n + 1 < outlen)
				out[n] = (char)c;
			n++;
		} else {
			if (n + 3 < outlen) {
				out[n] = '%';
				out[n + 1] = hex[c >> 4];
				out[n + 2] = hex[c & 15];
			}
			n += 3;
		}
	}
	if (outlen)
		out[n < outlen ? n : outlen - 1] = 0;
	return n;
}
