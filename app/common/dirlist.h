/* dirlist.h - listing a folder, sorted, and the one list of image file
 * extensions both programs accept (what the detector reads with --input
 * is what the trainer reads from class folders).
 *
 * A dirlist owns its strings; dirlist_free frees them and the array. */
#ifndef ED_DIRLIST_H
#define ED_DIRLIST_H

typedef struct dirlist {
    char **v; /* names (not paths), n of them */
    int n, cap;
} dirlist;

/* What dirlist_read keeps: regular files, sub-folders, or regular files
 * with an image extension (dirlist_is_image). Symbolic links count as
 * what they point to. */
typedef enum { DIRLIST_FILES, DIRLIST_DIRS, DIRLIST_IMAGES } dirlist_what;

/* Appends the names of dir's entries of the given kind to out, hidden
 * ones (starting with '.') skipped, then sorts out by strcmp. Returns 0,
 * or -1 with errno kept and app_error() set to "DIR: reason". */
int dirlist_read(const char *dir, dirlist_what what, dirlist *out);

/* dirlist_read, and what it left out that a caller should hear of,
 * appended to skipped (names) and why (the reason, at the same index):
 * every entry neither hidden nor a folder nor a
 * regular file (a FIFO, socket or device, a dangling symbolic link, a
 * loop of them, one that cannot be looked at), and with DIRLIST_IMAGES
 * also videos (dirlist_is_video); other files of other names are not
 * candidates and are not listed. Sorted by name. skipped and why may both
 * be NULL. */
int dirlist_read_skips(const char *dir, dirlist_what what, dirlist *out, dirlist *skipped,
                       dirlist *why);

/* Appends a copy of s; returns 0 or -1 (out of memory). */
int dirlist_push(dirlist *l, const char *s);

/* Frees the strings and the array; leaves an empty list. */
void dirlist_free(dirlist *l);

/* Whether name ends in one of the image extensions OpenCV decodes
 * (case-insensitive): png jpg jpeg jpe bmp pgm ppm pbm pnm tif tiff webp
 * jp2 ras sr. */
int dirlist_is_image(const char *name);

/* Whether name ends in one of the video extensions emotion-detect takes
 * from a folder for --out-dir (case-insensitive): mp4 avi mkv mov webm m4v
 * mpg mpeg wmv flv ts 3gp. */
int dirlist_is_video(const char *name);

#endif
