/* validate/probe/check_net.c: the tcp and http checks, over loopback only.
 *
 * Both connect to 127.0.0.1 (or ::1) inside the guest: they test that the
 * appliance's service answers, not the guest's network. An http check sends
 * an HTTP/1.0 GET (so the reply is never chunked) with the URL's host in the
 * Host header, reads at most HTTP_MAX_REPLY bytes, and checks the status
 * code and, optionally, a substring of the body. Every wait is bounded by the
 * attempt's timeout.
 */
#include "validate/probe/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_MAX_REPLY (1 << 20)

struct endpoint {
	int family; /* AF_INET or AF_INET6 */
	char addr[48];
	int port;
};

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - probe_now_ms();
	return left < 0 ? 0 : (int)left;
}

/* Connects with a deadline. Returns the fd, or -1 with why in err. */
static int connect_to(const struct endpoint *ep, int64_t deadline, char *err, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	if (ep->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)ep->port);
		inet_pton(AF_INET6, ep->addr, &s6->sin6_addr);
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)ep->port);
		inet_pton(AF_INET, ep->addr, &s4->sin_addr);
		len = sizeof *s4;
	}
	int fd = socket(ep->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, size, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		snprintf(err, size, "connect to %s port %d: %s", ep->addr, ep->port, strerror(errno));
		close(fd);
		return -1;
	}
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int r;
	do
		r = poll(&p, 1, remaining_ms(deadline));
	while (r < 0 && errno == EINTR);
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (r == 0) {
		snprintf(err, size, "connect to %s port %d: timed out", ep->addr, ep->port);
	} else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		snprintf(err, size, "connect to %s port %d: %s", ep->addr, ep->port, strerror(soerr ? soerr : errno));
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

int probe_check_tcp(const struct probe_check *c, int timeout_s, char *detail, size_t size)
{
	int64_t deadline = probe_now_ms() + timeout_s * 1000LL;
	struct endpoint v4 = {AF_INET, "127.0.0.1", c->port}, v6 = {AF_INET6, "::1", c->port};
	char err6[160];
	int fd = connect_to(&v4, deadline, detail, size);
	if (fd < 0) /* a service may listen on ::1 only */
		fd = connect_to(&v6, deadline, err6, sizeof err6);
	if (fd < 0)
		return 0;
	close(fd);
	snprintf(detail, size, "port %d accepts connections", c->port);
	return 1;
}

/* Splits "http://host[:port]/path" into the loopback endpoint to use, the
 * Host header and the request path. Returns -1 with why in err. */
static int parse_url(const char *url, struct endpoint *ep, char *host, size_t hsize, const char **path,
		     char *err, size_t size)
{
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f) {
			snprintf(err, size, "URL contains a space or control character");
			return -1;
		}
	if (strncasecmp(url, "http://", 7)) {
		snprintf(err, size, "only http:// URLs can be checked");
		return -1;
	}
	const char *auth = url + 7;
	size_t alen = strcspn(auth, "/?#");
	*path = auth[alen] == '/' ? auth + alen : "/";
	if (alen == 0 || alen >= hsize) {
		snprintf(err, size, "URL has no usable host");
		return -1;
	}
	memcpy(host, auth, alen);
	host[alen] = 0;
	ep->family = AF_INET;
	strcpy(ep->addr, "127.0.0.1");
	ep->port = 80;
	const char *colon = strrchr(host, ':');
	if (host[0] == '[') {
		const char *close_br = strchr(host, ']');
		if (!close_br || close_br - host - 1 >= (long)sizeof ep->addr) {
			snprintf(err, size, "bad IPv6 address in URL");
			return -1;
		}
		if (!strncmp(host, "[::1]", 5)) {
			ep->family = AF_INET6;
			strcpy(ep->addr, "::1");
		}
		colon = close_br[1] == ':' ? close_br + 1 : NULL;
	} else if (!strncmp(host, "127.", 4)) {
		size_t n = colon ? (size_t)(colon - host) : strlen(host);
		struct in_addr a;
		char lit[16];
		if (n < sizeof lit) {
			memcpy(lit, host, n);
			lit[n] = 0;
			if (inet_pton(AF_INET, lit, &a) == 1)
				strcpy(ep->addr, lit);
		}
	}
	if (colon) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end || port < 1 || port > 65535) {
			snprintf(err, size, "bad port in URL");
			return -1;
		}
		ep->port = (int)port;
	}
	return 0;
}

static int send_all(int fd, const char *s, size_t n, int64_t deadline)
{
	while (n) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, remaining_ms(deadline)) <= 0)
			return -1;
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until EOF, the cap or the deadline. Returns bytes read, or -1 on timeout. */
static ssize_t recv_reply(int fd, char *buf, size_t cap, int64_t deadline)
{
	size_t len = 0;
	while (len < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, remaining_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

/* Judges a reply: the status line and, if asked, a substring of the body. */
static int judge_reply(const struct probe_check *c, const char *reply, size_t len, char *detail, size_t size)
{
	int status = 0;
	if (len < 12 || strncmp(reply, "HTTP/1.", 7) || reply[8] != ' ' || sscanf(reply + 9, "%3d", &status) != 1) {
		snprintf(detail, size, "not an HTTP reply (%zu bytes)", len);
		return 0;
	}
	const char *body = memmem(reply, len, "\r\n\r\n", 4);
	body = body ? body + 4 : reply + len;
	size_t blen = (size_t)(reply + len - body);
	if (status != c->status) {
		snprintf(detail, size, "status %d (expected %d)", status, c->status);
		return 0;
	}
	if (c->contains && !memmem(body, blen, c->contains, strlen(c->contains))) {
		snprintf(detail, size, "status %d, but the body (%zu bytes) does not contain \"%s\"", status, blen,
			 c->contains);
		return 0;
	}
	snprintf(detail, size, "status %d, %zu bytes%s", status, blen, c->contains ? ", body matches" : "");
	return 1;
}

int probe_check_http(const struct probe_check *c, int timeout_s, char *detail, size_t size)
{
	int64_t deadline = probe_now_ms() + timeout_s * 1000LL;
	struct endpoint ep;
	char host[256];
	const char *path;
	if (parse_url(c->target, &ep, host, sizeof host, &path, detail, size) < 0)
		return 0;
	int fd = connect_to(&ep, deadline, detail, size);
	if (fd < 0)
		return 0;
	char *req = NULL;
	int n = asprintf(&req, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: apkg-probe\r\nAccept: */*\r\n"
			       "Connection: close\r\n\r\n", path, host);
	char *reply = malloc(HTTP_MAX_REPLY);
	int ok = 0;
	if (n < 0 || !reply) {
		snprintf(detail, size, "out of memory");
	} else if (send_all(fd, req, (size_t)n, deadline) < 0) {
		snprintf(detail, size, "sending the request failed or timed out");
	} else {
		ssize_t got = recv_reply(fd, reply, HTTP_MAX_REPLY, deadline);
		if (got < 0)
			snprintf(detail, size, "no complete reply within %d s", timeout_s);
		else
			ok = judge_reply(c, reply, (size_t)got, detail, size);
	}
	free(req);
	free(reply);
	close(fd);
	return ok;
}
