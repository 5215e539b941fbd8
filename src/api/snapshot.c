/*
 * DESIGN: GET /api/v1/cameras/{id}/snapshot.jpg[?width=N][&stream=main|sub][&ts=T]:
 * a JPEG of the latest keyframe (from the recorder's sink, through
 * rec_recorder_latest_keyframe) or of the recorded frame at ts. Decoding runs on this
 * thread, bounded and cached by playback/snapshot.c.
 *
 * Errors: unknown camera 404; bad width/stream/ts 400 naming the
 * parameter; no recording at ts 404; a camera that sends no video (not
 * connected yet, disabled, not recording, or the sub stream, which is not
 * ingested yet) 503 with Retry-After.
 *
 * Thread: http-N.
 */
#include "api_int.h"
#include "query_int.h"

#include "err.h"
#include "media_token.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * After a recorded frame's file was not found here: when the index row for
 * ts names another node, redirects there (docs/design/0070) and returns 1;
 * returns 2 with why naming that node when it cannot be redirected to, and
 * 0 (why untouched) when the row is this node's or gone.
 */
static int recorded_elsewhere(http_request *req, struct api *ctx, const char *id,
                              const char *stream, int64_t ts_us, char *why, size_t size)
{
    struct sto_recording *rows = NULL;
    size_t n = 0;
    char *node = NULL;
    if (sto_recordings_range(ctx->db, id, stream, ts_us, ts_us + 1, 1, &rows, &n) < 0 || n == 0 ||
        sto_recording_node(ctx->db, id, stream, rows[0].start_us, &node) < 0) {
        sto_recording_list_free(rows, n);
        return 0;
    }
    sto_recording_list_free(rows, n);
    struct auth_media_scope scope = {.kind = AUTH_MEDIA_SNAPSHOT,
                                     .camera = id,
                                     .stream = stream,
                                     .from_us = ts_us,
                                     .to_us = ts_us + 1};
    char where[200] = "";
    int rc = api_redirect_to_node(req, ctx, node, &scope, where, sizeof(where));
    free(node);
    if (rc)
        return 1;
    if (!where[0])
        return 0;
    snprintf(why, size, "the recording at that time is not on this node: %s", where);
    return 2;
}

static int snapshot_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    const char *stream = http_request_query(req, "stream");
    if (!stream)
        stream = "main";
    if (strcmp(stream, "main") != 0 && strcmp(stream, "sub") != 0)
        return http_reply_error(req, -EINVAL, "stream: must be main or sub");
    char why[512];
    int64_t v;
    int width = 0;
    const char *ws = http_request_query(req, "width");
    if (ws && api_int_parse("width", ws, PB_SNAPSHOT_WIDTH_MIN, PB_SNAPSHOT_WIDTH_MAX, &v, why,
                            sizeof(why)) < 0)
        return http_reply_error(req, -EINVAL, "%s", why);
    if (ws)
        width = (int)v;
    const char *ts = http_request_query(req, "ts");
    int64_t ts_us = 0;
    if (ts && api_time_parse_us("ts", ts, &ts_us, why, sizeof(why)) < 0)
        return http_reply_error(req, -EINVAL, "%s", why);
    if (!ctx->snapshots)
        return http_reply_error(req, HORUS_EUNAVAIL, "snapshots are not available on this node");
    struct sto_camera cam;
    int rc = sto_camera_get(ctx->db, id, &cam);
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "camera '%s' does not exist", id);
    if (rc < 0)
        return http_reply_error(req, rc, "read camera '%s': %s", id, horus_strerror(rc));
    sto_camera_release(&cam);

    uint8_t *jpeg = NULL;
    size_t len = 0;
    if (ts) {
        struct api_pending pend; /* the segment being written is not indexed yet */
        api_pending_read(ctx, id, stream, &pend);
        rc = pb_snapshot_at(ctx->snapshots, id, stream, ts_us, pend.files, pend.n, width, &jpeg,
                            &len, why, sizeof(why));
        api_pending_release(&pend);
        int where =
            rc == -ENOENT ? recorded_elsewhere(req, ctx, id, stream, ts_us, why, sizeof(why)) : 0;
        if (where == 1)
            return 0; /* redirected */
        if (where == 2)
            rc = HORUS_EUNAVAIL;
        if (rc == -EAGAIN)
            http_reply_header(req, "Retry-After", "1");
        if (rc < 0)
            return http_reply_error(req, rc, "%s", why);
        json_t *d = json_pack("{s:s, s:s}", "stream", stream, "ts", ts);
        api_audit_view(ctx, req, AUTH_AUDIT_SNAPSHOT, "camera", id, ts, d);
        json_decref(d);
        /* A recorded frame never changes (until retention deletes it). */
        http_reply_header(req, "Cache-Control", "private, max-age=3600");
        return http_reply_owned(req, 200, "image/jpeg", (char *)jpeg, len);
    }
    media_packet *kf = NULL;
    rc = ctx->recorder ? rec_recorder_latest_keyframe(ctx->recorder, id, stream, &kf) : -ENOENT;
    if (rc < 0) {
        /* Not recorded here: the node that holds the camera has its frames (0070). */
        char elsewhere[200];
        struct auth_media_scope scope = {
            .kind = AUTH_MEDIA_SNAPSHOT, .camera = id, .stream = stream, .export_id = "latest"};
        if (api_redirect_to_holder(req, ctx, id, &scope, elsewhere, sizeof(elsewhere)))
            return 0;
        http_reply_header(req, "Retry-After", "2");
        if (elsewhere[0])
            return http_reply_error(req, HORUS_EUNAVAIL, "camera '%s' is not recorded here: %s", id,
                                    elsewhere);
        return http_reply_error(
            req, HORUS_EUNAVAIL,
            "camera '%s' has no %s stream video yet: it is not connected, "
            "disabled or not recording%s",
            id, stream, strcmp(stream, "sub") == 0 ? " (sub streams are not ingested yet)" : "");
    }
    rc = pb_snapshot_latest(ctx->snapshots, id, stream, kf, width, &jpeg, &len);
    media_packet_unref(kf);
    if (rc == -EAGAIN) {
        http_reply_header(req, "Retry-After", "1");
        return http_reply_error(req, rc, "too many snapshots are being decoded; retry in a second");
    }
    if (rc < 0)
        return http_reply_error(req, rc, "decode the latest keyframe of camera '%s': %s", id,
                                horus_strerror(rc));
    json_t *d = json_pack("{s:s}", "stream", stream);
    api_audit_view(ctx, req, AUTH_AUDIT_SNAPSHOT, "camera", id, stream, d);
    json_decref(d);
    /* The latest frame changes with every keyframe: let caches keep it one second at most. */
    http_reply_header(req, "Cache-Control", "max-age=1");
    return http_reply_owned(req, 200, "image/jpeg", (char *)jpeg, len);
}

int api_snapshot_register(http_router *r, struct api *ctx)
{
    return http_router_add(r, "GET", "/api/v1/cameras/{id}/snapshot.jpg", snapshot_get, ctx);
}
