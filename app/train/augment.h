/*
 * augment.h - random training-time augmentation of 8-bit gray faces.
 *
 * One call maps a w x h source image to a w x h destination: the geometric
 * operations (shift, flip, rotation, zoom) are combined into one affine map
 * sampled once, bilinearly, with edge pixels replicated outside the image;
 * brightness and contrast go through a 256-entry table in the same pass;
 * random erasing then fills a rectangle. When the map moves pixels by whole
 * steps only (shift and flip), pixels are copied exactly, without blur.
 *
 * Every random choice comes from the caller's RNG state, so a run is
 * reproducible: same state, same images.
 */
#ifndef AUGMENT_H
#define AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    AUGMENT_CROP = 1 << 0,   /* random shift by up to `shift` px (pad + crop) */
    AUGMENT_FLIP = 1 << 1,   /* horizontal flip with probability flip_p */
    AUGMENT_ROTATE = 1 << 2, /* rotation by up to +-rotate degrees */
    AUGMENT_ZOOM = 1 << 3,   /* scale in [zoom_min, zoom_max] */
    AUGMENT_COLOR = 1 << 4,  /* brightness +-brightness, contrast 1 +- contrast */
    AUGMENT_ERASE = 1 << 5,  /* random erasing with probability erase_p */
    AUGMENT_ALL = (1 << 6) - 1,
};

typedef struct augment_cfg {
    unsigned ops;          /* AUGMENT_* bits */
    int shift;             /* max shift, px, each axis */
    float flip_p;          /* flip probability */
    float rotate;          /* max rotation, degrees */
    float zoom_min, zoom_max; /* scale range (>1 enlarges the face) */
    float brightness;      /* max offset, gray levels */
    float contrast;        /* max relative change of contrast */
    float erase_p;         /* erasing probability */
    float erase_min, erase_max; /* erased area, share of the image */
    float erase_aspect;    /* max aspect ratio of the rectangle (>= 1) */
    int erase_noise;       /* 1: fill with noise; 0: with the image mean */
} augment_cfg;

/* Defaults for w x h faces, no operation enabled: shift min(w,h)/12 px
 * (4 at 48), flip p 0.5, rotate +-10 deg, zoom 0.9..1.1, brightness +-25.6
 * levels, contrast 1 +- 0.2, erasing p 0.5 over 2..20% of the image with
 * aspect up to 3, filled with noise. */
void augment_defaults(augment_cfg *cfg, int w, int h);

/*
 * Enable operations from a comma-separated list: crop (or shift), flip,
 * rotate, zoom, color (or brightness, contrast), erase; "all"; "none" (or
 * an empty list). An item may set its magnitude after a ':': crop:PX,
 * flip:P, rotate:DEG, zoom:F (scale 1-F..1+F), color:F (brightness
 * +-F*128 levels, contrast 1+-F), erase:P. Items apply left to right
 * ("all,none,flip" is flip). Returns 0, or -1 with app_error() naming the
 * bad item; cfg is then unchanged.
 */
int augment_parse(augment_cfg *cfg, const char *list);

/* Describe the enabled operations, e.g. "crop(4px) flip rotate(10deg)";
 * "none" when none. Returns buf. */
char *augment_describe(const augment_cfg *cfg, char *buf, size_t len);

/* Augment src (w x h) into dst (w x h, must not overlap src). */
void augment_apply(const augment_cfg *cfg, const uint8_t *src, uint8_t *dst, int w, int h,
               uint64_t *rng);

/* augment_apply with the rotation fixed at `degrees` (counter-clockwise),
 * whatever cfg says of rotate, for a target that is the turn itself
 * (roll_target.h). The flip, if drawn, comes before the turn, so the
 * image shows the face turned by `degrees` either way. */
void augment_apply_turned(const augment_cfg *cfg, const uint8_t *src, uint8_t *dst, int w, int h,
                          float degrees, uint64_t *rng);

/*
 * The deterministic geometric map under augment_apply, for test-time
 * augmentation and tests: flip (0/1) the source, scale it by `scale` and
 * rotate it by `degrees` (counter-clockwise) about the centre, then shift
 * it by (dx, dy) px. Bilinear, edges replicated.
 */
void augment_affine(const uint8_t *src, uint8_t *dst, int w, int h, int flip,
                float degrees, float scale, float dx, float dy);

/* Horizontal mirror. */
void augment_flip(const uint8_t *src, uint8_t *dst, int w, int h);

#ifdef __cplusplus
}
#endif
#endif /* AUGMENT_H */
