/* cameras.c - --list-cameras and what a camera granted (devtools.h). The
 * list asks each /dev/video* device through V4L2's own ioctls, in plain C:
 * VIDIOC_QUERYCAP for its name and whether it captures video (a webcam
 * has a second node for metadata, which does not), VIDIOC_ENUM_FMT for its
 * pixel formats and VIDIOC_ENUM_FRAMESIZES for each format's sizes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "devtools.h"

#ifdef __linux__
#include <linux/videodev2.h>
#endif

#define MAX_SIZES 64

typedef struct cam_size {
    unsigned w, h;
} cam_size;

static int cmp_size(const void *a, const void *b)
{
    const cam_size *x = a, *y = b;
    unsigned long ax = (unsigned long)x->w * x->h, ay = (unsigned long)y->w * y->h;
    return (ax > ay) - (ax < ay);
}

#ifdef __linux__
static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do
        r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

/* The sizes a pixel format offers, added to sizes (no duplicates). A
 * stepwise range is shown by its smallest and largest size. */
static void add_sizes(int fd, unsigned fmt, cam_size *sizes, int *n)
{
    struct v4l2_frmsizeenum fs;
    for (unsigned i = 0; i < 256 && *n < MAX_SIZES; i++) {
        memset(&fs, 0, sizeof fs);
        fs.index = i;
        fs.pixel_format = fmt;
        if (xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) != 0)
            break;
        cam_size got[2];
        int m = 0;
        if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
            got[m++] = (cam_size){fs.discrete.width, fs.discrete.height};
        } else {
            got[m++] = (cam_size){fs.stepwise.min_width, fs.stepwise.min_height};
            got[m++] = (cam_size){fs.stepwise.max_width, fs.stepwise.max_height};
        }
        for (int j = 0; j < m; j++) {
            int dup = 0;
            for (int k = 0; k < *n; k++)
                dup |= sizes[k].w == got[j].w && sizes[k].h == got[j].h;
            if (!dup && *n < MAX_SIZES)
                sizes[(*n)++] = got[j];
        }
        if (fs.type != V4L2_FRMSIZE_TYPE_DISCRETE)
            break;
    }
}

/* One device's line (and its sizes). Returns 1 when it is a camera. */
static int describe(const char *node, FILE *out)
{
    int fd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        fprintf(out, "%s: cannot open: %s\n", node, strerror(errno));
        return 0;
    }
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (xioctl(fd, VIDIOC_QUERYCAP, &cap) != 0) {
        fprintf(out, "%s: not a V4L2 device (%s)\n", node, strerror(errno));
        close(fd);
        return 0;
    }
    unsigned caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
        close(fd);
        return 0; /* a metadata or output node: not something to open */
    }
    char fmts[256] = "";
    cam_size sizes[MAX_SIZES];
    int n = 0;
    struct v4l2_fmtdesc fd_desc;
    for (unsigned i = 0; i < 64; i++) {
        memset(&fd_desc, 0, sizeof fd_desc);
        fd_desc.index = i;
        fd_desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (xioctl(fd, VIDIOC_ENUM_FMT, &fd_desc) != 0)
            break;
        unsigned f = fd_desc.pixelformat;
        size_t l = strlen(fmts);
        snprintf(fmts + l, sizeof fmts - l, "%s%c%c%c%c", l ? " " : "", f & 255, (f >> 8) & 255,
                 (f >> 16) & 255, (f >> 24) & 255);
        add_sizes(fd, f, sizes, &n);
    }
    close(fd);
    qsort(sizes, (size_t)n, sizeof *sizes, cmp_size);
    fprintf(out, "%s  camera %ld  \"%.32s\"  formats: %s\n", node, strtol(strrchr(node, '/') + 6, NULL, 10),
            (const char *)cap.card, fmts[0] ? fmts : "(none)");
    if (n) {
        fputs("    sizes:", out);
        for (int i = 0; i < n; i++)
            fprintf(out, " %ux%u", sizes[i].w, sizes[i].h);
        fputc('\n', out);
    }
    return 1;
}
#endif

int cameras_list(const char *dev_dir, FILE *out)
{
    int found = 0;
#ifdef __linux__
    DIR *d = opendir(dev_dir);
    char *nodes[256];
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 256) {
        char *end;
        if (strncmp(e->d_name, "video", 5) || !e->d_name[5])
            continue;
        strtol(e->d_name + 5, &end, 10);
        if (*end)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dev_dir, e->d_name);
        nodes[n] = strdup(path);
        n += nodes[n] != NULL;
    }
    if (d)
        closedir(d);
    /* By the number: video10 after video9. */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            long a = strtol(strrchr(nodes[i], '/') + 6, NULL, 10);
            long b = strtol(strrchr(nodes[j], '/') + 6, NULL, 10);
            if (b < a) {
                char *t = nodes[i];
                nodes[i] = nodes[j];
                nodes[j] = t;
            }
        }
    for (int i = 0; i < n; i++) {
        found += describe(nodes[i], out);
        free(nodes[i]);
    }
#else
    (void)dev_dir;
#endif
    if (!found)
        fputs("no cameras found\n", out);
    fflush(out);
    return CLI_EXIT_OK;
}

void cameras_granted(const app *a)
{
    if (!a->src || source_kind_of(a->src) != SOURCE_CAMERA)
        return;
    char asked[96] = "";
    if (a->o.cam_w > 0)
        snprintf(asked, sizeof asked, "%dx%d", a->o.cam_w, a->o.cam_h);
    if (a->o.cam_fps > 0) {
        size_t l = strlen(asked);
        snprintf(asked + l, sizeof asked - l, "%s%g frames/s", l ? " at " : "", a->o.cam_fps);
    }
    cli_err("camera %d: asked for %s; it gives %dx%d at %g frames/s", a->o.camera, asked,
           source_width(a->src), source_height(a->src), source_fps(a->src));
}
