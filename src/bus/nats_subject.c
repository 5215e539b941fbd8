/*
 * DESIGN: whether an existing JetStream stream's subject covers one the
 * adapter publishes to (nats.c checks a stream it did not create). Token by
 * token: a literal token matches itself, '*' any single token but not a
 * '>' of the other side (which stands for more than one), and a '>' in the
 * pattern everything from there on when at least one token is left.
 */
#include "nats_int.h"

#include <stddef.h>
#include <string.h>

bool bus_nats_subject_covers(const char *pattern, const char *subject)
{
    if (*pattern == '\0' || *subject == '\0')
        return false;
    while (*pattern && *subject) {
        size_t pn = strcspn(pattern, ".");
        size_t sn = strcspn(subject, ".");
        if (pn == 1 && pattern[0] == '>' && pattern[1] == '\0')
            return true;
        bool is_any = pn == 1 && pattern[0] == '*' && !(sn == 1 && subject[0] == '>');
        if (!is_any && (pn != sn || memcmp(pattern, subject, pn) != 0))
            return false;
        pattern += pn;
        subject += sn;
        if (*pattern != *subject)
            return false;
        if (*pattern == '.') {
            pattern++;
            subject++;
            if (*pattern == '\0' || *subject == '\0')
                return false; /* a trailing dot: not a subject */
        }
    }
    return *pattern == '\0' && *subject == '\0';
}
