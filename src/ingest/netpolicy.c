/*
 * DESIGN: which networks Horus may open camera connections to (camera
 * URLs, probes), so that the API cannot be turned into a scanner of cloud
 * metadata services or link-local devices (docs/design/0017 §4).
 *
 * Rules are CIDR blocks marked allow or deny. Built-in rules always apply:
 * deny link-local (169.254.0.0/16, fe80::/10) and the cloud metadata
 * addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200); allow
 * loopback, the private ranges (RFC 1918, 100.64.0.0/10, fc00::/7) and
 * everything else (0.0.0.0/0, ::/0). ingest.networks.allow/deny add rules.
 * An address takes the verdict of the most specific rule that contains
 * it; on equal prefixes a configured deny beats a configured allow, which
 * beats a built-in deny, which beats a built-in allow. So
 * `allow: [169.254.0.0/16]` admits link-local cameras while the metadata
 * /32 stays denied, and `deny: [0.0.0.0/0, ::/0]` leaves only loopback and
 * the private ranges. IPv4-mapped IPv6 addresses are judged as IPv4.
 *
 * A host name is resolved and EVERY address it has must be allowed: a
 * name with one good and one bad address is refused, since a client may
 * use either. Immutable after new; Thread: any.
 */
#include "ingest.h"
#include "rtsp_int.h"

#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum rank { BUILTIN_ALLOW, BUILTIN_DENY, USER_ALLOW, USER_DENY };

struct rule {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network, host bits cleared */
    unsigned prefix;
    enum rank rank;
    const char *label; /* static note for built-in rules, NULL for configured ones */
    char text[INET6_ADDRSTRLEN + 4];
};

struct ing_netpolicy {
    struct rule *rules; /* owned */
    size_t n;
};

static const struct {
    const char *cidr;
    enum rank rank;
    const char *label;
} builtin[] = {
    {"0.0.0.0/0", BUILTIN_ALLOW, NULL},
    {"::/0", BUILTIN_ALLOW, NULL},
    {"127.0.0.0/8", BUILTIN_ALLOW, "loopback"},
    {"::1/128", BUILTIN_ALLOW, "loopback"},
    {"10.0.0.0/8", BUILTIN_ALLOW, "private"},
    {"172.16.0.0/12", BUILTIN_ALLOW, "private"},
    {"192.168.0.0/16", BUILTIN_ALLOW, "private"},
    {"100.64.0.0/10", BUILTIN_ALLOW, "shared address space"},
    {"fc00::/7", BUILTIN_ALLOW, "unique local"},
    {"169.254.0.0/16", BUILTIN_DENY, "link-local"},
    {"fe80::/10", BUILTIN_DENY, "link-local"},
    {"169.254.169.254/32", BUILTIN_DENY, "cloud metadata"},
    {"fd00:ec2::254/128", BUILTIN_DENY, "cloud metadata"},
    {"100.100.100.200/32", BUILTIN_DENY, "cloud metadata"},
};

static void clear_host_bits(unsigned char *addr, unsigned bytes, unsigned prefix)
{
    for (unsigned i = 0; i < bytes; i++) {
        unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - i * 8 : 0;
        addr[i] &= (unsigned char)(keep ? 0xff << (8 - keep) : 0);
    }
}

/* Parses "ADDR" or "ADDR/N" into r. Returns 0 or -EINVAL. */
static int parse_cidr(const char *s, struct rule *r)
{
    if (!s || strlen(s) >= sizeof(r->text))
        return -EINVAL;
    char buf[sizeof(r->text)];
    snprintf(buf, sizeof(buf), "%s", s);
    char *slash = strchr(buf, '/');
    long prefix = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        if (!slash[1] || strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
            strlen(slash + 1) > 3)
            return -EINVAL;
        prefix = strtol(slash + 1, &end, 10);
    }
    memset(r, 0, sizeof(*r));
    if (inet_pton(AF_INET, buf, r->addr) == 1) {
        r->family = AF_INET;
        if (prefix > 32)
            return -EINVAL;
        r->prefix = prefix < 0 ? 32 : (unsigned)prefix;
        clear_host_bits(r->addr, 4, r->prefix);
    } else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
        r->family = AF_INET6;
        if (prefix > 128)
            return -EINVAL;
        r->prefix = prefix < 0 ? 128 : (unsigned)prefix;
        clear_host_bits(r->addr, 16, r->prefix);
    } else {
        return -EINVAL;
    }
    snprintf(r->text, sizeof(r->text), "%s", s);
    return 0;
}

bool ing_cidr_is_valid(const char *s)
{
    struct rule r;
    return parse_cidr(s, &r) == 0;
}

static void add_rule(ing_netpolicy *p, const struct rule *r)
{
    p->rules = horus_realloc(p->rules, (p->n + 1) * sizeof(*p->rules));
    p->rules[p->n++] = *r;
}

static int add_list(ing_netpolicy *p, char *const *list, size_t n, enum rank rank, char *why,
                    size_t size)
{
    for (size_t i = 0; i < n; i++) {
        struct rule r;
        if (parse_cidr(list[i], &r) < 0) {
            snprintf(why, size, "'%.60s' is not an address or CIDR block", list[i]);
            return -EINVAL;
        }
        r.rank = rank;
        add_rule(p, &r);
    }
    return 0;
}

int ing_netpolicy_new(const struct ing_config *c, ing_netpolicy **out, char *why, size_t why_size)
{
    ing_netpolicy *p = horus_calloc(1, sizeof(*p));
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        struct rule r;
        if (parse_cidr(builtin[i].cidr, &r) < 0)
            HORUS_BUG("built-in network rule %s", builtin[i].cidr);
        r.rank = builtin[i].rank;
        r.label = builtin[i].label;
        add_rule(p, &r);
    }
    int rc = 0;
    if (c) {
        rc = add_list(p, c->networks.allow, c->networks.nallow, USER_ALLOW, why, why_size);
        if (rc == 0)
            rc = add_list(p, c->networks.deny, c->networks.ndeny, USER_DENY, why, why_size);
    }
    if (rc < 0) {
        ing_netpolicy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void ing_netpolicy_free(ing_netpolicy *p)
{
    if (!p)
        return;
    free(p->rules);
    free(p);
}

static bool rule_contains(const struct rule *r, int family, const unsigned char *addr)
{
    if (r->family != family)
        return false;
    unsigned full = r->prefix / 8, rest = r->prefix % 8;
    if (memcmp(r->addr, addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (addr[full] & mask) == r->addr[full];
}

int ing_netpolicy_check_addr(const ing_netpolicy *p, const struct sockaddr *sa, char *why,
                             size_t why_size)
{
    unsigned char addr[16];
    int family;
    if (sa->sa_family == AF_INET) {
        family = AF_INET;
        memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            family = AF_INET;
            memcpy(addr, &a6->s6_addr[12], 4);
        } else {
            family = AF_INET6;
            memcpy(addr, a6, 16);
        }
    } else {
        snprintf(why, why_size, "not an IP address");
        return -EACCES;
    }
    const struct rule *best = NULL;
    for (size_t i = 0; i < p->n; i++) {
        const struct rule *r = &p->rules[i];
        if (!rule_contains(r, family, addr))
            continue;
        if (!best || r->prefix > best->prefix ||
            (r->prefix == best->prefix && r->rank > best->rank))
            best = r;
    }
    char shown[INET6_ADDRSTRLEN];
    inet_ntop(family, addr, shown, sizeof(shown));
    if (!best) {
        snprintf(why, why_size, "address %s is in no allowed network (ingest.networks)", shown);
        return -EACCES;
    }
    if (best->rank == USER_DENY || best->rank == BUILTIN_DENY) {
        snprintf(why, why_size, "address %s is in the denied network %s%s%s%s (ingest.networks)",
                 shown, best->text, best->label ? " (" : "", best->label ? best->label : "",
                 best->label ? ")" : "");
        return -EACCES;
    }
    return 0;
}

int ing_netpolicy_check_addrinfo(const ing_netpolicy *p, const struct addrinfo *ai, char *why,
                                 size_t why_size)
{
    for (; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        int rc = ing_netpolicy_check_addr(p, ai->ai_addr, why, why_size);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int ing_netpolicy_check_url(const ing_netpolicy *p, const char *url, char *why, size_t why_size)
{
    if (why && why_size)
        why[0] = '\0';
    struct ing_rtsp_url u;
    if (ing_rtsp_url_parse(url, &u) < 0)
        return 0; /* ing_url_check says what is wrong with it */
    char port[8];
    snprintf(port, sizeof(port), "%d", u.port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int err = getaddrinfo(u.host, port, &hints, &res);
    if (err != 0)
        return 0; /* unknown now: judged again at connect time */
    int rc = ing_netpolicy_check_addrinfo(p, res, why, why_size);
    freeaddrinfo(res);
    return rc;
}
