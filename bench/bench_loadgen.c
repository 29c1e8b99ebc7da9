/* bench_loadgen.c - an open-loop HTTP load generator, free of coordinated
 * omission.
 *
 * Request i is due at t0 + i / RATE whatever happened to the ones before:
 * it is sent on an idle keep-alive connection (a new one is opened, up to
 * MAXCONN, when none is idle; past that it waits for one), and its latency
 * is measured from when it was due, not from when it could be sent.  A
 * slow server therefore shows as latency, never as a lower offered rate
 * (wrk's closed loop and its delay() hide it: a connection waiting for an
 * answer sends nothing).  One thread, epoll, HTTP/1.1; answers are read by
 * Content-Length.
 *
 *   bench_loadgen HOST PORT RATE SECONDS PATHS [MAXCONN]
 *
 * PATHS holds "TOKEN PATH" lines, sent in rotation with the token as a
 * bearer.  Prints one line:
 *   RESULT sent done errors p50_ms p99_ms p999_ms max_ms duration_s
 * where errors are non-2xx answers, failed connections, and requests still
 * unanswered or not yet sent (all connections busy) 5 s after the end,
 * counted with the latency they had then.  A second line gives the
 * answers by status class.
 * Run with no arguments, it says so and exits 0 (make bench runs every
 * compiled bench; this one is driven by bench_http_load.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXREQ 4096		/* bytes of one request */
#define RBUF 65536
#define DRAIN_NS 5000000000LL

struct conn {
	int fd;
	bool busy;
	int64_t due;		/* the request in flight was due then */
	size_t got, need;	/* bytes of the answer read, and expected */
	size_t hdr;		/* header length once seen, else 0 */
	int status;
	char head[2048];	/* the answer's start, until its header is in */
	size_t hlen;
};

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static char **reqs;
static size_t *reqlen, nreq;
static int64_t *lat;
static size_t nlat, errors;
/* Answers by status class (0: no answer: a failed connection, a closed
 * one, or none by the drain), printed so that errors have a cause. */
static size_t nstatus[6];

static void load_paths(const char *file, const char *host, int port)
{
	FILE *f = fopen(file, "r");
	char line[2048], tok[512], path[1500];
	size_t cap = 0;

	if (!f) {
		perror(file);
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%511s %1499s", tok, path) != 2)
			continue;
		if (nreq == cap) {
			cap = cap ? cap * 2 : 64;
			reqs = realloc(reqs, cap * sizeof(*reqs));
			reqlen = realloc(reqlen, cap * sizeof(*reqlen));
			if (!reqs || !reqlen)
				exit(1);
		}
		reqs[nreq] = malloc(MAXREQ);
		if (!reqs[nreq])
			exit(1);
		reqlen[nreq] = (size_t)snprintf(reqs[nreq], MAXREQ,
			"GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
			"Authorization: Bearer %s\r\n\r\n", path, host, port, tok);
		nreq++;
	}
	fclose(f);
	if (!nreq) {
		fprintf(stderr, "bench_loadgen: no paths in %s\n", file);
		exit(1);
	}
}

static int dial(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static bool send_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

/* Parses the status and Content-Length once the header is in. */
static void parse_header(struct conn *c, const char *buf)
{
	const char *e = strstr(buf, "\r\n\r\n"), *cl;

	if (!e)
		return;
	c->hdr = (size_t)(e - buf) + 4;
	c->status = atoi(buf + 9);
	cl = strcasestr(buf, "\r\ncontent-length:");
	c->need = c->hdr + (cl && cl < e ? (size_t)atol(cl + 17) : 0);
}

static void finish(struct conn *c, int64_t t)
{
	lat[nlat++] = t - c->due;
	nstatus[c->status >= 100 && c->status < 600 ? c->status / 100 : 0]++;
	if (c->status < 200 || c->status > 299)
		errors++;
	c->busy = false;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double pct(double p)
{
	size_t i = (size_t)(p * (double)(nlat - 1));

	return nlat ? lat[i] / 1e6 : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev, evs[64];
	struct conn *conns;
	static char buf[RBUF];
	int64_t t0, end, period;
	size_t sent = 0, total, maxconn, nconn = 0, unanswered = 0, unsent = 0;
	bool starved;
	int ep;

	if (argc < 6) {
		printf("bench_loadgen: a tool of bench_http_load.sh (HOST PORT "
		       "RATE SECONDS PATHS [MAXCONN]); nothing to measure alone\n");
		return 0;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "bench_loadgen: bad address %s\n", argv[1]);
		return 1;
	}
	period = (int64_t)(1e9 / atof(argv[3]));
	total = (size_t)(atof(argv[3]) * atof(argv[4]));
	maxconn = argc > 6 ? (size_t)atoi(argv[6]) : 200;
	load_paths(argv[5], argv[1], atoi(argv[2]));
	lat = calloc(total + 1, sizeof(*lat));
	conns = calloc(maxconn, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!lat || !conns || ep < 0)
		return 1;
	t0 = now_ns();
	end = t0 + (int64_t)total * period;
	for (;;) {
		int64_t t = now_ns(), wait_ms;
		size_t busy = 0;
		int n;

		starved = false;
		/* Everything due by now goes out, on idle connections. */
		while (sent < total && t0 + (int64_t)sent * period <= t) {
			struct conn *c = NULL;

			for (size_t k = 0; k < nconn && !c; k++)
				if (!conns[k].busy && conns[k].fd >= 0)
					c = &conns[k];
			/* A slot whose redial failed is dialled again. */
			for (size_t k = 0; k < nconn && !c; k++)
				if (conns[k].fd < 0 &&
				    (conns[k].fd = dial(&sa)) >= 0) {
					c = &conns[k];
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
				}
			if (!c && nconn < maxconn) {
				c = &conns[nconn];
				c->fd = dial(&sa);
				if (c->fd < 0) {
					errors++;
					nstatus[0]++;
					lat[nlat++] = t - (t0 + (int64_t)sent * period);
					sent++;
					continue;
				}
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
				nconn++;
			}
			if (!c) {
				/* All busy: it waits, its clock running. */
				starved = true;
				break;
			}
			c->busy = true;
			c->due = t0 + (int64_t)sent * period;
			c->got = c->need = c->hdr = c->hlen = 0;
			c->status = 0;
			/* A failed send is a failed request: finish counts it
			 * (status 0), once. */
			if (!send_all(c->fd, reqs[sent % nreq], reqlen[sent % nreq]))
				finish(c, t);
			sent++;
		}
		for (size_t k = 0; k < nconn; k++)
			busy += conns[k].busy;
		if (sent == total && !busy)
			break;
		if (t > end + DRAIN_NS) {
			/* Past the drain every request is settled: those in
			 * flight, and those never sent for want of a free
			 * connection, fail with the latency they have now
			 * (else a server that stops answering holds the
			 * generator forever). */
			for (size_t k = 0; k < nconn; k++)
				if (conns[k].busy) {
					conns[k].status = 0;
					finish(&conns[k], t);
					unanswered++;
				}
			for (; sent < total; sent++) {
				lat[nlat++] = t - (t0 + (int64_t)sent * period);
				nstatus[0]++;
				errors++;
				unsent++;
			}
			break;
		}
		/* Starved, the next event is an answer: waiting for it,
		 * not spinning, leaves the CPU to the server. */
		wait_ms = sent < total && !starved ?
			  (t0 + (int64_t)sent * period - t) / 1000000 : 10;
		n = epoll_wait(ep, evs, 64, (int)(wait_ms < 0 ? 0 : wait_ms));
		t = now_ns();
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t r = read(c->fd, buf, RBUF);

			if (r <= 0) {
				/* Closed: a failed request if one was due. */
				if (c->busy) {
					c->status = 0;
					finish(c, t);
				}
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = dial(&sa);
				if (c->fd < 0)
					continue;	/* never picked again */
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
				continue;
			}
			if (!c->hdr) {
				size_t k = sizeof(c->head) - 1 - c->hlen;

				k = (size_t)r < k ? (size_t)r : k;
				memcpy(c->head + c->hlen, buf, k);
				c->hlen += k;
				c->head[c->hlen] = '\0';
				parse_header(c, c->head);
			}
			c->got += (size_t)r;
			if (c->busy && c->hdr && c->got >= c->need)
				finish(c, t);
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	printf("RESULT %zu %zu %zu %.3f %.3f %.3f %.3f %.3f\n", sent, nlat,
	       errors, pct(0.50), pct(0.99), pct(0.999),
	       nlat ? lat[nlat - 1] / 1e6 : 0, (now_ns() - t0) / 1e9);
	printf("STATUS none %zu 1xx %zu 2xx %zu 3xx %zu 4xx %zu 5xx %zu "
	       "(unanswered at the end %zu, never sent %zu)\n",
	       nstatus[0], nstatus[1], nstatus[2], nstatus[3], nstatus[4],
	       nstatus[5], unanswered, unsent);
	return 0;
}
