/*
 * DESIGN: replies whose body is an open file: libmicrohttpd sends it with
 * sendfile where it can, so a multi-gigabyte export never passes through
 * our memory. Range and conditional requests are the job of the shared
 * file-reply function (http_reply_file); this helper sends whole files.
 */
#include "http_int.h"

#include <errno.h>
#include <unistd.h>

int http_reply_fd(http_request *req, unsigned status, const char *content_type, int fd,
                  uint64_t size)
{
    struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
    if (!resp) {
        close(fd);
        return http_reply_response(req, status, content_type, NULL, 0);
    }
    return http_reply_response(req, status, content_type, resp, size);
}
