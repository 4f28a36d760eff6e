// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pyroscope.c - Pyroscope's ingest contract (see pyroscope.h).  Its
 * documentation: "POST /ingest" with name, from, until (Unix seconds),
 * format, sampleRate and spyName as query parameters; for format=pprof
 * the name is the application name (the profile type comes from the
 * pprof's sample types: cpu, or wall when there is a wall type), and the
 * profile goes in a multipart form file field named "profile".  An
 * application name takes letters, digits and "._-/", a label key
 * letters, digits, "_" and "."; a label value ends at "," or "}". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "http.h"
#include "log.h"
#include "pyroscope.h"

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.';
}

static void app_chars(char *s)
{
	for (; *s; s++)
		if (!key_char(*s) && *s != '-' && *s != '/')
			*s = '_';
}

static int is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* A container id (64 hex) in one cgroup path component:
 * "docker-<id>.scope", "cri-containerd-<id>.scope", "crio-<id>.scope",
 * "libpod-<id>.scope", or the bare id (cgroupfs drivers). */
static int container_of(const char *comp, size_t n, char *out, size_t len)
{
	const char *dash = memchr(comp, '-', n), *id = comp;
	size_t prefix = 0;

	if (n >= 64 && is_hex(comp, 64) && (n == 64 || comp[64] == '.')) {
		snprintf(out, len, "container-%.12s", comp);
		return 1;
	}
	while (dash && (size_t)(dash - comp) < n) {
		size_t after = n - (size_t)(dash + 1 - comp);

		if (after >= 64 && is_hex(dash + 1, 64)) {
			id = dash + 1;
			prefix = (size_t)(dash - comp);
			break;
		}
		dash = memchr(dash + 1, '-', after);
	}
	if (id == comp)
		return 0;
	snprintf(out, len, "%.*s-%.12s", (int)prefix, comp, id);
	return 1;
}

/* From "0::/system.slice/nginx.service" or ".../docker-<id>.scope". */
static int service_of_cgroup(const char *cgroup, char *out, size_t len)
{
	const char *path = strrchr(cgroup, ':'), *comp, *next;
	char unit[256] = "";

	path = path ? path + 1 : cgroup;
	for (comp = path; *comp; comp = next) {
		size_t n;

		while (*comp == '/')
			comp++;
		next = strchr(comp, '/');
		if (!next)
			next = comp + strlen(comp);
		n = (size_t)(next - comp);
		if (!n)
			break;
		if (container_of(comp, n, out, len))
			return 1;
		/* the innermost systemd service, not a user's manager or session */
		if (n > 8 && !memcmp(comp + n - 8, ".service", 8) && memcmp(comp, "user@", 5))
			snprintf(unit, sizeof(unit), "%.*s", (int)(n - 8), comp);
	}
	if (!unit[0])
		return 0;
	snprintf(out, len, "%s", unit);
	return 1;
}

void pyro_service(const struct pyproc *p, const char *flag, char *out, size_t len)
{
	if (flag && flag[0])
		snprintf(out, len, "%s", flag);
	else if (!service_of_cgroup(p->cgroup, out, len))
		snprintf(out, len, "%s", p->comm[0] ? p->comm : "python");
	app_chars(out);
}

int pyro_tag_check(const char *kv)
{
	const char *eq = strchr(kv, '='), *c;

	if (!eq || eq == kv) {
		pb_err("invalid --tag %s: expected KEY=VALUE", kv);
		return -EINVAL;
	}
	for (c = kv; c < eq; c++)
		if (!key_char(*c)) {
			pb_err("invalid --tag %s: a key takes only letters, digits, '_' and '.'", kv);
			return -EINVAL;
		}
	if (strcspn(eq + 1, ",{}=") != strlen(eq + 1)) {
		pb_err("invalid --tag %s: a value cannot hold ',', '{', '}' or '='", kv);
		return -EINVAL;
	}
	return 0;
}

/* Append ",key=value" (value cleaned) to out at *pos. */
static void label(char *out, size_t len, size_t *pos, const char *key, const char *value)
{
	char v[256];
	size_t i, start = 0, end;

	snprintf(v, sizeof(v), "%s", value);
	for (i = 0; v[i]; i++)
		if (strchr(",{}=", v[i]) || (unsigned char)v[i] < 0x20)
			v[i] = '_';
	while (v[start] == ' ')
		start++;
	end = strlen(v);
	while (end > start && v[end - 1] == ' ')
		v[--end] = 0;
	if (!v[start] || *pos >= len)
		return;
	*pos += (size_t)snprintf(out + *pos, len - *pos, "%s%s=%s", out[*pos - 1] == '{' ? "" : ",",
				 key, v + start);
}

void pyro_app_name(const char *service, const struct pyproc *p, const char *host,
		   const char *const *tags, size_t n, char *out, size_t len)
{
	char num[32], key[128];
	size_t pos, i;

	pos = (size_t)snprintf(out, len, "%s{", service);
	if (p) {
		snprintf(num, sizeof(num), "%d", p->pid);
		label(out, len, &pos, "pid", num);
		label(out, len, &pos, "comm", p->comm);
	}
	label(out, len, &pos, "host", host);
	if (p)
		label(out, len, &pos, "python_version", p->version);
	for (i = 0; i < n; i++) {
		const char *eq = strchr(tags[i], '=');

		snprintf(key, sizeof(key), "%.*s", (int)(eq - tags[i]), tags[i]);
		label(out, len, &pos, key, eq + 1);
	}
	if (pos + 2 <= len)
		snprintf(out + pos, len - pos, "}");
	else if (len > 1)
		out[len - 2] = '}';
}

void pyro_query(const char *app_name, uint64_t from_s, uint64_t until_s, uint32_t rate_hz,
		char *out, size_t len)
{
	char name[2048];

	http_escape(app_name, name, sizeof(name));
	snprintf(out, len, "name=%s&from=%llu&until=%llu&format=pprof&sampleRate=%u&spyName=%s",
		 name, (unsigned long long)from_s, (unsigned long long)until_s, rate_hz,
		 PYRO_SPY_NAME);
}

int pyro_multipart(const void *body, size_t len, void **out, size_t *outlen,
		   char *type, size_t typelen)
{
	static unsigned seed;
	char boundary[48], head[256], tail[64];
	size_t hl, tl;
	char *buf;

	if (!seed)
		seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	/* a boundary that does not occur in the body (gzip data: it never will in practice) */
	do
		snprintf(boundary, sizeof(boundary), "pybpf-%08x%08x%08x", rand_r(&seed),
			 rand_r(&seed), rand_r(&seed));
	while (memmem(body, len, boundary, strlen(boundary)));
	hl = (size_t)snprintf(head, sizeof(head),
			      "--%s\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"profile.pprof\"\r\n"
			      "Content-Type: application/octet-stream\r\n\r\n", boundary);
	tl = (size_t)snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
	buf = malloc(hl + len + tl);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, head, hl);
	memcpy(buf + hl, body, len);
	memcpy(buf + hl + len, tail, tl);
	*out = buf;
	*outlen = hl + len + tl;
	snprintf(type, typelen, "multipart/form-data; boundary=%s", boundary);
	return 0;
}
