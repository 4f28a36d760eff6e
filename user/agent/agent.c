// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* agent.c - `pybpf agent`: continuous profiling of every CPython process
 * on the host, pushed to Grafana Pyroscope.  The sampling side is
 * `record --all --rotate` (the same session, drains and profile
 * builder); each interval becomes one pprof per process or, with
 * --per-service, per service (two with --idle: cpu and wall), and with
 * --otlp (experimental) one OTLP request too (otlp.c), queued in the
 * spool (spool.c) that the sender thread (agent_push.c) empties into the
 * backends. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"
#include "commands.h"
#include "http.h"
#include "log.h"
#include "otlp.h"
#include "output.h"
#include "pyroscope.h"
#include "session.h"

static uint64_t unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* gzip'ed pprof of p in memory (the file writer, into a memstream). */
static int pprof_bytes(const struct profile *p, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int err;

	if (!f)
		return -errno;
	err = write_pprof(f, p);
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

/* Queue p (already filtered to one kind) under its query. */
static int queue_profile(struct spool *sp, struct agent_stats *st, const struct profile *p,
			 const char *query)
{
	char *buf = NULL, meta[4200];
	size_t len = 0;
	int err = pprof_bytes(p, &buf, &len);

	if (err) {
		pb_err("failed to encode a profile (%s): %s", query, strerror(-err));
		return err;
	}
	snprintf(meta, sizeof(meta), META_PYROSCOPE "%s", query);
	err = spool_put(sp, meta, buf, len);
	if (!err)
		agent_stat_add(&st->profiles, 1);
	free(buf);
	return err;
}

/* A process, or with --per-service every process of a service. */
struct group {
	char service[128];
	const struct pyproc *proc;       /* its (first) process; NULL per service */
};

/* EXPERIMENTAL: the group's interval as one OTLP profiles request. */
static void queue_otlp(const struct agent_opts *o, struct spool *sp, struct agent_stats *st,
		       const struct profile *p, const struct group *grp, const char *host,
		       uint64_t from_s, uint64_t until_s)
{
	struct otlp_resource res = { .service = grp->service, .host = host, .proc = grp->proc,
				     .tags = o->tags, .ntags = o->ntags };
	char meta[512];
	void *buf = NULL;
	size_t len = 0;
	int err;

	snprintf(meta, sizeof(meta), META_OTLP "service=%s pid=%d from=%llu until=%llu",
		 grp->service, grp->proc ? grp->proc->pid : 0, (unsigned long long)from_s,
		 (unsigned long long)until_s);
	err = otlp_encode(p, &res, &buf, &len);
	if (err) {
		if (err != -ENODATA)
			pb_err("failed to encode an OTLP request (%s): %s", meta, strerror(-err));
		return;
	}
	if (!spool_put(sp, meta, buf, len))
		agent_stat_add(&st->profiles, 1);
	free(buf);
}

/* One group's profiles for one interval: its on-CPU stacks as a cpu
 * profile; with --idle, all of them as a wall profile too (Pyroscope
 * takes a profile with a wall sample type as its wall type). */
static void group_profiles(const struct agent_opts *o, struct spool *sp, struct agent_stats *st,
			   const struct profile *all, const uint32_t *gidx, uint32_t g,
			   const struct group *grp, const char *host)
{
	char name[1024], query[4096];
	struct profile cpu = *all, wall = *all;
	uint64_t from_s = all->start_unix_ns / 1000000000ull;
	uint64_t until_s = (all->start_unix_ns + all->duration_ns) / 1000000000ull;
	size_t i;
	int off = 0;

	cpu.stacks = malloc((all->nstacks ? all->nstacks : 1) * sizeof(*all->stacks));
	wall.stacks = malloc((all->nstacks ? all->nstacks : 1) * sizeof(*all->stacks));
	if (!cpu.stacks || !wall.stacks)
		goto out;
	cpu.nstacks = wall.nstacks = 0;
	cpu.total = wall.total = 0;
	for (i = 0; i < all->nstacks; i++) {
		if (gidx[i] != g)
			continue;
		wall.stacks[wall.nstacks++] = all->stacks[i];
		wall.total += all->stacks[i].count;
		if (all->stacks[i].flags & PSTACK_OFFCPU) {
			off = 1;
			continue;
		}
		cpu.stacks[cpu.nstacks++] = all->stacks[i];
		cpu.total += all->stacks[i].count;
	}
	if (grp->proc) {
		cpu.title = wall.title = grp->proc->cmdline[0] ? grp->proc->cmdline : grp->proc->comm;
		cpu.python_version = wall.python_version = grp->proc->version;
	} else {
		cpu.title = wall.title = grp->service;
	}
	pyro_app_name(grp->service, grp->proc, host, o->tags, o->ntags, name, sizeof(name));
	pyro_query(name, from_s, until_s > from_s ? until_s : from_s + 1, o->session.rate_hz, query,
		   sizeof(query));
	if (o->url[0] && cpu.nstacks)
		queue_profile(sp, st, &cpu, query);
	if (o->url[0] && o->session.idle && off)
		queue_profile(sp, st, &wall, query);
	if (o->otlp_url[0] && wall.nstacks)
		queue_otlp(o, sp, st, &wall, grp, host, from_s, until_s);
out:
	free(cpu.stacks);
	free(wall.stacks);
}

/* The groups: a process each (newest first: a pid reused by a later
 * process is that process's), or a service each; pid -> group index. */
static size_t make_groups(struct session *s, const struct agent_opts *o, struct group *groups,
			  struct htab *group_of)
{
	size_t i, g, n = 0;
	char service[128];

	for (i = s->nkids; i-- > 0;) {
		const struct pyproc *p = s->kids[i];
		uint32_t pid = (uint32_t)p->pid, gi;
		void *v;

		if (htab_get(group_of, &pid))
			continue;
		pyro_service(p, o->service, service, sizeof(service));
		for (g = 0; o->per_service && g < n && strcmp(groups[g].service, service); g++)
			;
		if (!o->per_service || g == n) {
			g = n++;
			snprintf(groups[g].service, sizeof(groups[g].service), "%s", service);
			groups[g].proc = o->per_service ? NULL : p;
		}
		v = htab_put(group_of, &pid, NULL);
		gi = (uint32_t)g;
		if (v)
			memcpy(v, &gi, sizeof(gi));  /* htab values are not aligned */
	}
	return n;
}

/* End of an interval: the profiles of every group with samples, then the
 * aggregate starts again from zero. */
static void end_interval(struct session *s, const struct agent_opts *o, struct spool *sp,
			 struct agent_stats *st, uint64_t from_ns, uint64_t until_ns, uint64_t *samples)
{
	struct profile_opts po = { 0 };
	struct group *groups = calloc(s->nkids + 1, sizeof(*groups));
	struct htab group_of;
	uint32_t *gidx = NULL;
	struct profile p;
	char host[256] = "";
	size_t i, n;

	gethostname(host, sizeof(host) - 1);
	htab_init(&group_of, sizeof(uint32_t), sizeof(uint32_t));
	if (!groups || !s->agg.total)
		goto out;
	n = make_groups(s, o, groups, &group_of);
	if (profile_build(&s->agg, &s->syms, &po, &p)) {
		pb_err("failed to build the profiles of an interval");
		goto out;
	}
	p.rate_hz = o->session.rate_hz;
	p.start_unix_ns = from_ns;
	p.duration_ns = until_ns - from_ns;
	gidx = malloc((p.nstacks ? p.nstacks : 1) * sizeof(*gidx));
	for (i = 0; gidx && i < p.nstacks; i++) {
		uint32_t pid = p.stacks[i].pid;
		const void *v = htab_get(&group_of, &pid);

		gidx[i] = UINT32_MAX;
		if (v)
			memcpy(&gidx[i], v, sizeof(gidx[i]));
	}
	for (i = 0; gidx && i < n; i++)
		group_profiles(o, sp, st, &p, gidx, (uint32_t)i, &groups[i], host);
	free(gidx);
	profile_free(&p);
out:
	htab_free(&group_of);
	free(groups);
	*samples += s->agg.total;
	agg_clear(&s->agg);
	session_forget(s);
}

static size_t live_processes(const struct session *s)
{
	size_t i, live = 0;

	for (i = 0; i < s->nkids; i++)
		live += !s->kids[i]->gone && kill(s->kids[i]->pid, 0) == 0;
	return live;
}

static void status(struct session *s, struct spool *sp, struct agent_stats *st,
		   uint64_t samples)
{
	uint64_t bytes, dropped, stats[SAMPLER_NSTATS];
	char err[256];
	size_t n, live = live_processes(s);

	spool_counts(sp, &n, &bytes, &dropped);
	session_stats(s, stats);
	pthread_mutex_lock(&st->lock);
	snprintf(err, sizeof(err), "%s", st->last_error[0] ? st->last_error : "none");
	pthread_mutex_unlock(&st->lock);
	pb_info("agent: %zu processes, %llu samples, %llu errors, %llu profiles, %llu pushed, "
		"%zu queued (%llu bytes), %llu dropped, %llu rejected, %llu failed attempts; last error: %s",
		live, (unsigned long long)(samples + s->agg.total),
		(unsigned long long)sampler_errors(stats),
		(unsigned long long)agent_stat_get(&st->profiles),
		(unsigned long long)agent_stat_get(&st->pushed), n, (unsigned long long)bytes,
		(unsigned long long)dropped, (unsigned long long)agent_stat_get(&st->rejected),
		(unsigned long long)agent_stat_get(&st->failures), err);
}

int cmd_agent(int argc, char **argv)
{
	struct agent_opts o = {};
	struct agent_stats st = {};
	struct session s;
	struct spool sp;
	struct pusher pusher = {};
	struct metrics *metrics = NULL;
	uint64_t last_drain, interval_start, from_ns, last_status, samples = 0;
	size_t recovered, left;
	uint64_t bytes, dropped;
	int err;

	if (agent_parse(argc, argv, &o)) {
		agent_opts_free(&o);
		return 2;
	}
	pthread_mutex_init(&st.lock, NULL);
	memset(&s, 0, sizeof(s));
	/* the spool first: a directory that cannot be used is known before sampling */
	err = spool_open(&sp, o.spool_dir, o.spool_max, &recovered);
	if (err)
		goto out_spool;
	if (recovered)
		pb_info("spool %s: %zu profile(s) left by a previous run, sent first", o.spool_dir,
			recovered);
	if (o.metrics && (err = metrics_start(&metrics, o.metrics, &st, &sp)))
		goto out_spool;
	if (http_global_init()) {
		pb_err("failed to initialize libcurl");
		err = -EIO;
		goto out_spool;
	}
	err = session_start(&s, &o.session);
	if (err)
		goto out;
	err = pusher_start(&pusher, &o.push, &sp, &st);
	if (err)
		goto out;
	pb_info("agent: profiling every Python process at %u Hz, a profile per process every %g s to %s%s%s%s%s",
		o.session.rate_hz, o.interval, o.url[0] ? o.url : "", o.url[0] && o.otlp_url[0] ? " and " : "",
		o.otlp_url[0] ? o.otlp_url : "", o.spool_dir ? ", spool " : "",
		o.spool_dir ? o.spool_dir : "");
	last_drain = interval_start = last_status = now_ns();
	from_ns = unix_ns();
	while (session_run(&s, 100)) {
		if (now_ns() - last_drain >= 1000000000ull || session_drain_due(&s)) {
			session_drain(&s);
			last_drain = now_ns();
			agent_stat_set(&st.samples, samples + s.agg.total);
			agent_stat_set(&st.processes, live_processes(&s));
		}
		if (now_ns() - interval_start >= (uint64_t)(o.interval * 1e9)) {
			uint64_t until = unix_ns();

			session_drain(&s);
			end_interval(&s, &o, &sp, &st, from_ns, until, &samples);
			from_ns = until;
			interval_start = now_ns();
		}
		if (session_dump_requested || now_ns() - last_status >= (uint64_t)(o.status_every * 1e9)) {
			session_dump_requested = 0;
			status(&s, &sp, &st, samples);
			last_status = now_ns();
		}
	}
	/* SIGTERM, SIGINT or -d: the interval so far is a profile too */
	session_finish(&s);
	end_interval(&s, &o, &sp, &st, from_ns, unix_ns(), &samples);
	pusher_flush_stop(&pusher, o.flush);
	spool_counts(&sp, &left, &bytes, &dropped);
	if (left && o.spool_dir)
		pb_info("agent: %zu profile(s) not delivered, kept in %s for the next start", left,
			o.spool_dir);
	else if (left)
		pb_warn("agent: %zu profile(s) not delivered and lost (no --spool directory)", left);
	status(&s, &sp, &st, samples);
out:
	pusher_flush_stop(&pusher, 0);
	session_close(&s);
	http_global_cleanup();
out_spool:
	metrics_stop(metrics);
	spool_close(&sp);
	pthread_mutex_destroy(&st.lock);
	agent_opts_free(&o);
	return err ? 1 : 0;
}
