// cvw_video.cpp - the app's side of OpenCV: video capture (camera, file),
// cascade face detection and video writing (the pipeline's pixel operations
// are in cvw.cpp). Every entry point is extern "C" and exception-free; errors
// are one line through cvw_error().
#include "cvw.h"
#include "cvw_internal.hpp"

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <iostream>
#include <streambuf>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace {

// A stream buffer that takes everything and keeps nothing.
class NullBuf : public std::streambuf {
protected:
    int overflow(int c) override { return traits_type::not_eof(c); }
    std::streamsize xsputn(const char *, std::streamsize n) override { return n; }
};

// What decoding a picture prints beside the app's own message, on any
// thread: OpenCV's log, and a decoder's exception, which imdecode prints to
// std::cerr ("imdecode_(''): can't read data: ...", a BMP cut short). Only
// OpenCV writes to the C++ streams here (the programs print through
// stdio), so std::cerr goes nowhere. The process's stderr (fd 2) is never
// touched: the programs' own messages, from any thread, always reach it.
// (libpng and libjpeg print through stdio: see png_problem.)
void quiet_decoders()
{
    static std::once_flag once;
    std::call_once(once, [] {
        static NullBuf null_buf;
        if (!std::getenv("OPENCV_LOG_LEVEL")) // a user's own setting wins, for debugging
            std::cerr.rdbuf(&null_buf);
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    });
}

// OpenCV and FFmpeg print warnings of their own (a missing camera, a file
// they cannot probe); the app reports those failures itself, in one line.
void quiet_opencv()
{
    quiet_decoders();
    static std::once_flag once;
    std::call_once(once, [] {
        // OpenCV reads this before it first loads FFmpeg; -8 is
        // AV_LOG_QUIET. A user's own setting wins, for debugging.
        setenv("OPENCV_FFMPEG_LOGLEVEL", "-8", 0);
        // A camera that opens but sends nothing fails after this many
        // seconds instead of OpenCV's 10.
        setenv("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", "3", 0);
    });
}

int fail(const std::string &msg)
{
    cvw::set_error(msg);
    return -1;
}

// Why a path cannot be read, or "" when it is a readable regular file.
std::string file_problem(const char *path)
{
    struct stat st;
    if (!path || !*path)
        return "empty path";
    if (stat(path, &st) != 0)
        return errno == ENOENT ? "no such file" : std::strerror(errno);
    if (S_ISDIR(st.st_mode))
        return "is a directory";
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    if (access(path, R_OK) != 0)
        return std::strerror(errno);
    return "";
}

// Whether the file's bytes are a JPEG whose markers stop before the
// end-of-image marker: a copy or download cut short. libjpeg decodes such a
// file without an error, the missing rows gray, and only warns on stderr
// ("Corrupt JPEG data: premature end of data segment"), so the picture
// would pass as whole, and caught here the warning is not printed either
// (libjpeg still warns about damage inside a whole file). Segments are skipped by
// their lengths, so an EXIF thumbnail's end marker does not count, nor does
// anything appended after the real one (phones append video to "motion
// photos").
bool jpeg_cut_short(const std::vector<uchar> &f)
{
    size_t n = f.size(), i = 2;
    if (n < 2 || f[0] != 0xFF || f[1] != 0xD8)
        return false;
    while (i < n) {
        if (f[i] != 0xFF) { // entropy-coded data between markers
            i++;
            continue;
        }
        while (i < n && f[i] == 0xFF) // fill bytes
            i++;
        if (i >= n)
            return true;
        uchar m = f[i++];
        if (m == 0xD9)
            return false;
        // Stuffed 0xFF, restart markers and TEM stand alone.
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7))
            continue;
        if (i + 2 > n)
            return true;
        size_t len = (size_t)f[i] << 8 | f[i + 1];
        if (len < 2)
            return true;
        i += len; // past the end when the segment ran past it
    }
    return true;
}

uint32_t be32(const uchar *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// CRC-32 as PNG's chunks carry it (ISO 3309, reflected 0xEDB88320).
uint32_t png_crc(const uchar *p, size_t n)
{
    static const std::vector<uint32_t> table = [] {
        std::vector<uint32_t> t(256);
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

// libpng's default handlers, which OpenCV keeps, print every error and
// warning to stderr ("libpng error: ...", "libpng warning: iCCP: known
// incorrect sRGB profile"). So a PNG is checked before it is decoded: its
// chunks whole (lengths within the file, every CRC right, a valid header
// first, image data, an end), which gives a damaged or cut-short file its
// own one-line reason; and only the chunks the picture needs (IHDR, PLTE
// for a palette, IDAT, IEND) are handed to the decoder, in *clean: the
// ancillary ones (colour profiles, gamma, text, transparency, which the
// BGR result does not use) are where libpng's warnings about files that
// decode come from. Returns "" for a PNG fit to decode, or the reason;
// bytes that are not a PNG are left to the other decoders ("", clean
// empty).
std::string png_problem(const std::vector<uchar> &f, std::vector<uchar> &clean)
{
    static const uchar sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    clean.clear();
    size_t n = f.size(), i = 8;
    if (n < 8 || std::memcmp(f.data(), sig, 8) != 0)
        return "";
    const std::string cut = "truncated PNG (the file ends before the picture does)";
    clean.assign(f.begin(), f.begin() + 8);
    bool header = false, palette = false, data = false;
    int colour = 0;
    for (;;) {
        if (n - i < 12)
            return cut;
        uint32_t len = be32(&f[i]);
        const uchar *type = &f[i + 4];
        for (int k = 0; k < 4; k++)
            if (!std::isalpha(type[k]) || type[k] > 'z')
                return "damaged PNG (no chunk where one should start)";
        if (len > 0x7FFFFFFFu)
            return "damaged PNG (a chunk of impossible length)";
        if (n - i - 12 < len)
            return cut;
        if (be32(type + 4 + len) != png_crc(type, len + 4))
            return "damaged PNG (a chunk's checksum does not match: a bad copy or disk)";
        std::string t(reinterpret_cast<const char *>(type), 4);
        bool keep = false;
        if (!header) {
            const uchar *h = type + 4;
            uint32_t w = len == 13 ? be32(h) : 0, ht = len == 13 ? be32(h + 4) : 0;
            int depth = len == 13 ? h[8] : 0;
            colour = len == 13 ? h[9] : -1;
            bool depth_ok = (colour == 0 && (depth == 1 || depth == 2 || depth == 4 ||
                                             depth == 8 || depth == 16)) ||
                            (colour == 3 && (depth == 1 || depth == 2 || depth == 4 ||
                                             depth == 8)) ||
                            ((colour == 2 || colour == 4 || colour == 6) &&
                             (depth == 8 || depth == 16));
            if (t != "IHDR" || len != 13 || !w || !ht || w > 0x7FFFFFFFu || ht > 0x7FFFFFFFu ||
                !depth_ok || h[10] != 0 || h[11] != 0 || h[12] > 1)
                return "damaged PNG (its header is not a valid one)";
            // libpng's own limit (PNG_USER_WIDTH_MAX and _HEIGHT_MAX).
            if (w > 1000000 || ht > 1000000)
                return "PNG too large to decode (" + std::to_string(w) + "x" +
                       std::to_string(ht) + ")";
            header = keep = true;
        } else if (t == "IHDR") {
            return "damaged PNG (a second header)";
        } else if (t == "PLTE") {
            if (colour == 3) {
                if (palette || data || len == 0 || len % 3 != 0 || len > 768)
                    return "damaged PNG (its palette is not a valid one)";
                palette = keep = true;
            }
        } else if (t == "IDAT") {
            if (colour == 3 && !palette)
                return "damaged PNG (a palette image without its palette)";
            data = keep = true;
        } else if (t == "IEND") {
            keep = true;
        } else if (std::isupper(type[0])) {
            return "damaged PNG (a chunk '" + t + "' no decoder knows)";
        }
        if (keep)
            clean.insert(clean.end(), f.begin() + (long)i, f.begin() + (long)(i + 12 + len));
        i += 12 + (size_t)len;
        if (t == "IEND")
            break;
    }
    if (!data)
        return "damaged PNG (no image data)";
    return "";
}

// Why a file cannot be created at path, or "" when it probably can.
std::string write_problem(const char *path)
{
    std::string dir(path);
    size_t slash = dir.find_last_of('/');
    dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : dir.substr(0, slash));
    struct stat st;
    if (stat(dir.c_str(), &st) != 0)
        return "directory '" + dir + "' does not exist";
    if (!S_ISDIR(st.st_mode))
        return "'" + dir + "' is not a directory";
    if (access(dir.c_str(), W_OK) != 0)
        return "directory '" + dir + "' is not writable";
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return "is a directory";
    return "";
}

// Copy a frame of any depth/channels into packed 8-bit BGR: 16-bit values
// over 257 (65535 is white), floats (a float TIFF) taken as 0..1 and
// clipped. Signed integers are refused before (cvw_read_bgr).
void to_bgr8(const cv::Mat &in, cv::Mat &out)
{
    cv::Mat m = in;
    if (m.depth() != CV_8U) {
        const int d = m.depth();
        double scale = d == CV_16U ? 1.0 / 257 : d == CV_32F || d == CV_64F ? 255.0 : 1.0;
        m.convertTo(m, CV_8U, scale);
    }
    if (m.channels() == 1)
        cv::cvtColor(m, out, cv::COLOR_GRAY2BGR);
    else if (m.channels() == 4)
        cv::cvtColor(m, out, cv::COLOR_BGRA2BGR);
    else
        out = m.isContinuous() ? m : m.clone();
}

// What a file that did not decode is, when its first bytes say so: the
// formats people have pictures in that this OpenCV has no decoder for
// (GIF; HEIC, a phone's photos; AVIF), which "not an image file" misnamed.
std::string undecoded_format(const std::vector<uchar> &f)
{
    auto at = [&](size_t off, const char *s) {
        size_t n = std::strlen(s);
        return f.size() >= off + n && !std::memcmp(f.data() + off, s, n);
    };
    if (at(0, "GIF87a") || at(0, "GIF89a"))
        return "a GIF";
    if (at(4, "ftypheic") || at(4, "ftypheix") || at(4, "ftypmif1") || at(4, "ftypmsf1") ||
        at(4, "ftyphevc"))
        return "a HEIC/HEIF picture";
    if (at(4, "ftypavif"))
        return "an AVIF picture";
    return "";
}

} // namespace

struct cvw_capture {
    cv::VideoCapture vc;
    cv::Mat frame;    // last decoded frame, packed BGR
    bool pending;     // frame holds the first frame, not yet returned
    bool camera;
    int index;
    int w, h;
    double pos_ms;
    std::string name; // for messages
};

struct cvw_cascade {
    cv::CascadeClassifier cc;
    std::vector<cv::Rect> found;
};

struct cvw_writer {
    cv::VideoWriter vw;
    int w, h;
    long frames = 0;
    std::string path; // the file written (read back at the end)
    std::string name; // what messages call it
};

// The first frame proves the source delivers video and fixes its size.
static cvw_capture *capture_finish(cvw_capture *c)
{
    cv::Mat raw;
    if (!c->vc.read(raw) || raw.empty()) {
        cvw::set_error(c->name + (c->camera ? ": camera delivers no frames"
                                            : ": no video frames (not a video file?)"));
        delete c;
        return nullptr;
    }
    to_bgr8(raw, c->frame);
    c->pending = true;
    c->w = c->frame.cols;
    c->h = c->frame.rows;
    c->pos_ms = c->camera ? -1 : c->vc.get(cv::CAP_PROP_POS_MSEC);
    return c;
}

// --camera-fps: asked of every camera opened from then on.
static std::atomic<double> camera_fps{0};

extern "C" void cvw_camera_request_fps(double fps)
{
    camera_fps = fps > 0 ? fps : 0;
}

extern "C" cvw_capture *cvw_capture_open_camera(int index, int width, int height)
{
    quiet_opencv();
    return cvw::guard("camera", (cvw_capture *)nullptr, [&]() -> cvw_capture * {
        std::string name = "camera " + std::to_string(index);
        if (index < 0) {
            fail(name + ": bad camera index");
            return nullptr;
        }
#ifdef __linux__
        // Checking the device node first makes a missing camera fail at once
        // with a clear reason instead of a backend probing every API.
        std::string dev = "/dev/video" + std::to_string(index);
        struct stat st;
        if (stat(dev.c_str(), &st) != 0) {
            fail(name + ": no such camera (" + dev + " does not exist)");
            return nullptr;
        }
        if (access(dev.c_str(), R_OK | W_OK) != 0) {
            fail(name + ": cannot open " + dev + ": " + std::strerror(errno));
            return nullptr;
        }
        int api = cv::CAP_V4L2;
#else
        int api = cv::CAP_ANY;
#endif
        auto *c = new cvw_capture();
        c->camera = true;
        c->index = index;
        c->name = name;
        if (!c->vc.open(index, api)) {
            fail(name + ": cannot open the camera");
            delete c;
            return nullptr;
        }
        if (width > 0 && height > 0) {
            c->vc.set(cv::CAP_PROP_FRAME_WIDTH, width);
            c->vc.set(cv::CAP_PROP_FRAME_HEIGHT, height);
        }
        if (camera_fps > 0)
            c->vc.set(cv::CAP_PROP_FPS, camera_fps.load());
        // A camera should hand over its newest frame, not a queue of old ones.
        c->vc.set(cv::CAP_PROP_BUFFERSIZE, 1);
        return capture_finish(c);
    });
}

/* Whether path is an MP4/MOV file (an 'ftyp' box first) whose top-level
 * boxes hold no 'moov', the index written when the file is finished: one
 * cut short while written, which no player reads. */
static bool mp4_without_index(const char *path)
{
    FILE *f = std::fopen(path, "rb");
    if (!f)
        return false;
    unsigned char b[16];
    bool ftyp = false, moov = false;
    for (long long at = 0, n = 0; n < 4096; n++) {
        if (std::fseek(f, (long)at, SEEK_SET) != 0 || std::fread(b, 1, 8, f) != 8)
            break;
        unsigned long long size = (unsigned long long)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
        if (n == 0)
            ftyp = !std::memcmp(b + 4, "ftyp", 4);
        if (!ftyp)
            break;
        if (!std::memcmp(b + 4, "moov", 4)) {
            moov = true;
            break;
        }
        if (size == 1) { /* a 64-bit size follows the type */
            if (std::fread(b + 8, 1, 8, f) != 8)
                break;
            size = 0;
            for (int i = 8; i < 16; i++)
                size = size << 8 | b[i];
        }
        if (size < 8 || size > (unsigned long long)LONG_MAX - (unsigned long long)at)
            break; /* 0: the box runs to the end of the file */
        at += (long long)size;
    }
    std::fclose(f);
    return ftyp && !moov;
}

extern "C" cvw_capture *cvw_capture_open_file(const char *path)
{
    quiet_opencv();
    return cvw::guard("video", (cvw_capture *)nullptr, [&]() -> cvw_capture * {
        std::string name = std::string("'") + (path ? path : "") + "'";
        std::string why = file_problem(path);
        if (!why.empty()) {
            fail(name + ": " + why);
            return nullptr;
        }
        auto *c = new cvw_capture();
        c->camera = false;
        c->index = -1;
        c->name = name;
        // FFmpeg explicitly: CAP_ANY could treat a name with '%' as an
        // image-sequence pattern.
        if (!c->vc.open(path, cv::CAP_FFMPEG)) {
            fail(name + (mp4_without_index(path)
                             ? ": an MP4 file without its index ('moov'): cut short while it was "
                               "written (a recording stopped by a kill or a full disk?); no "
                               "player can read it"
                             : ": not a video file (cannot be decoded)"));
            delete c;
            return nullptr;
        }
        return capture_finish(c);
    });
}

extern "C" int cvw_capture_read(cvw_capture *c, uint8_t *bgr, size_t cap_bytes, int *w, int *h)
{
    if (!c || !bgr)
        return fail("capture read: null argument");
    return cvw::guard("capture read", -1, [&]() -> int {
        if (!c->pending) {
            cv::Mat raw;
            if (!c->vc.read(raw) || raw.empty()) {
                if (c->camera)
                    return fail(c->name + ": no frame (camera disconnected?)");
                return 0;
            }
            to_bgr8(raw, c->frame);
            if (!c->camera)
                c->pos_ms = c->vc.get(cv::CAP_PROP_POS_MSEC);
        }
        c->pending = false;
        size_t need = (size_t)c->frame.cols * c->frame.rows * 3;
        if (w)
            *w = c->frame.cols;
        if (h)
            *h = c->frame.rows;
        if (need > cap_bytes) {
            c->pending = true; // the caller grows its buffer and asks again
            return fail(c->name + ": frame larger than the buffer");
        }
        std::memcpy(bgr, c->frame.data, need);
        return 1;
    });
}

extern "C" int cvw_capture_width(const cvw_capture *c) { return c ? c->w : 0; }
extern "C" int cvw_capture_height(const cvw_capture *c) { return c ? c->h : 0; }

extern "C" double cvw_capture_fps(const cvw_capture *c)
{
    if (!c)
        return 0;
    return cvw::guard("capture fps", 0.0, [&]() -> double {
        return const_cast<cv::VideoCapture &>(c->vc).get(cv::CAP_PROP_FPS);
    });
}

extern "C" long cvw_capture_frame_count(const cvw_capture *c)
{
    if (!c || c->camera)
        return -1;
    return cvw::guard("capture frame count", -1L, [&]() -> long {
        double n = const_cast<cv::VideoCapture &>(c->vc).get(cv::CAP_PROP_FRAME_COUNT);
        return n > 0 ? (long)(n + 0.5) : -1;
    });
}

extern "C" double cvw_capture_pos_ms(const cvw_capture *c) { return c ? c->pos_ms : -1; }

extern "C" void cvw_capture_close(cvw_capture *c)
{
    if (!c)
        return;
    try {
        c->vc.release();
    } catch (...) {
    }
    delete c;
}

extern "C" int cvw_read_bgr(const char *path, uint8_t **pixels, int *w, int *h)
{
    if (!pixels || !w || !h)
        return fail("read image: null argument");
    *pixels = nullptr;
    return cvw::guard("read image", -1, [&]() -> int {
        std::string name = std::string("'") + (path ? path : "") + "'";
        std::string why = file_problem(path);
        if (!why.empty())
            return fail(name + ": " + why);
        // Read once: the bytes are checked, then decoded from memory.
        std::vector<uchar> bytes;
        {
            FILE *f = std::fopen(path, "rb");
            if (!f)
                return fail(name + ": " + std::strerror(errno));
            uchar buf[1 << 16];
            size_t got;
            while ((got = std::fread(buf, 1, sizeof buf, f)) > 0)
                bytes.insert(bytes.end(), buf, buf + got);
            bool bad = std::ferror(f) != 0;
            std::fclose(f);
            if (bad)
                return fail(name + ": read error");
        }
        if (bytes.empty()) // imdecode asserts on no bytes
            return fail(name + ": not an image file (cannot be decoded)");
        if (jpeg_cut_short(bytes))
            return fail(name + ": truncated JPEG (the file ends before the picture does)");
        std::vector<uchar> png;
        std::string bad = png_problem(bytes, png);
        if (!bad.empty())
            return fail(name + ": " + bad);
        quiet_decoders();
        // Any depth and colour, but not IMREAD_UNCHANGED: that one also
        // ignores the EXIF orientation, and a phone's upright portrait is
        // stored sideways with a tag saying so (faces then went unseen).
        // The alpha channel it would keep is dropped by to_bgr8 anyway.
        cv::Mat raw, m;
        // A header may claim any size (a 1 KB JPEG can say 30000x30000):
        // OpenCV throws past its pixel limit or when memory runs out, and
        // the guard's text named neither the file nor the reason plainly.
        try {
            raw = cv::imdecode(png.empty() ? bytes : png,
                               cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
            if (raw.empty()) {
                std::string what = undecoded_format(bytes);
                if (!what.empty())
                    return fail(name + ": " + what + ", which is not decoded here (save it as "
                                       "PNG or JPEG)");
                return fail(name + ": not an image file (cannot be decoded)");
            }
            const int d = raw.depth();
            if (d == CV_8S || d == CV_16S || d == CV_32S) // no one scale is right for them
                return fail(name + ": a picture of signed integers, which is not read (give "
                                   "it as 8-bit, 16-bit or float)");
            to_bgr8(raw, m);
        } catch (const cv::Exception &e) {
            if (e.code == cv::Error::StsNoMem)
                return fail(name + ": too large to decode here (out of memory)");
            if (e.err.find("CV_IO_MAX_IMAGE") != std::string::npos)
                return fail(name + ": too large to decode (its header claims more than " +
                            "OpenCV's limit of 2^30 pixels or 2^20 a side)");
            return fail(name + ": cannot be decoded (" + e.err + ")");
        } catch (const std::bad_alloc &) {
            return fail(name + ": too large to decode here (out of memory)");
        }
        size_t n = (size_t)m.cols * m.rows * 3;
        auto *p = (uint8_t *)std::malloc(n);
        if (!p)
            return fail(name + ": out of memory");
        std::memcpy(p, m.data, n);
        *pixels = p;
        *w = m.cols;
        *h = m.rows;
        return 0;
    });
}

extern "C" cvw_cascade *cvw_cascade_load(const char *path)
{
    quiet_opencv();
    std::string name = std::string("cascade '") + (path ? path : "") + "'";
    std::string why = file_problem(path);
    if (!why.empty()) {
        fail(name + ": " + why);
        return nullptr;
    }
    auto *c = new (std::nothrow) cvw_cascade();
    if (!c) {
        fail(name + ": out of memory");
        return nullptr;
    }
    bool ok = false;
    try {
        ok = c->cc.load(path) && !c->cc.empty();
    } catch (...) {
        // A malformed XML file throws from the parser with a long message;
        // the user only needs to know it is not a cascade.
        ok = false;
    }
    if (!ok) {
        fail(name + ": not a valid cascade file");
        delete c;
        return nullptr;
    }
    return c;
}

extern "C" int cvw_cascade_detect(cvw_cascade *c, const uint8_t *gray, int w, int h,
                                  double scale_factor, int min_neighbors,
                                  int min_size, int max_size, cvw_rect *out, int max_out)
{
    if (!c || !gray || w <= 0 || h <= 0 || (max_out > 0 && !out))
        return fail("detect: bad argument");
    if (!(scale_factor > 1.0))
        return fail("detect: scale factor must be greater than 1");
    return cvw::guard("detect", -1, [&]() -> int {
        cv::Mat img(h, w, CV_8UC1, const_cast<uint8_t *>(gray));
        c->found.clear();
        cv::Size mn(std::max(0, min_size), std::max(0, min_size));
        cv::Size mx(std::max(0, max_size), std::max(0, max_size));
        c->cc.detectMultiScale(img, c->found, scale_factor, std::max(0, min_neighbors), 0, mn, mx);
        std::sort(c->found.begin(), c->found.end(),
                  [](const cv::Rect &a, const cv::Rect &b) { return a.area() > b.area(); });
        int n = (int)c->found.size();
        for (int i = 0; i < n && i < max_out; i++)
            out[i] = cvw_rect{c->found[i].x, c->found[i].y, c->found[i].width, c->found[i].height};
        return n;
    });
}

extern "C" void cvw_cascade_free(cvw_cascade *c) { delete c; }

extern "C" int cvw_cascade_feature_type(const cvw_cascade *c)
{
    if (!c)
        return -1;
    return cvw::guard("cascade feature type", -1, [&]() -> int {
        return c->cc.getFeatureType();
    });
}

extern "C" void cvw_set_threads(int n)
{
    try {
        cv::setNumThreads(n > 0 ? n : -1);
    } catch (...) {
    }
}

extern "C" cvw_writer *cvw_writer_open(const char *path, double fps, int w, int h)
{
    return cvw_writer_open_as(path, path, fps, w, h);
}

extern "C" cvw_writer *cvw_writer_open_as(const char *path, const char *shown, double fps, int w,
                                          int h)
{
    quiet_opencv();
    return cvw::guard("video writer", (cvw_writer *)nullptr, [&]() -> cvw_writer * {
        std::string name = std::string("'") + (shown ? shown : path ? path : "") + "'";
        if (!path || !*path || w <= 0 || h <= 0) {
            fail("video writer: bad argument");
            return nullptr;
        }
        std::string why = write_problem(path);
        if (!why.empty()) {
            fail(name + ": cannot write: " + why);
            return nullptr;
        }
        std::string p(path), ext;
        size_t dot = p.find_last_of('.');
        if (dot != std::string::npos)
            for (char ch : p.substr(dot + 1))
                ext += (char)std::tolower((unsigned char)ch);
        int fourcc;
        if (ext == "avi")
            fourcc = cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
        else if (ext == "mp4" || ext == "mkv" || ext == "mov" || ext == "m4v")
            fourcc = cv::VideoWriter::fourcc('m', 'p', '4', 'v');
        else {
            fail(name + ": unsupported video extension (use .mp4 or .avi)");
            return nullptr;
        }
        auto *wr = new cvw_writer();
        wr->w = w;
        wr->h = h;
        wr->path = p;
        wr->name = name;
        /* Matroska's millisecond clock and FFmpeg's AVI writer hold no
         * more than 1000 frames/s. */
        fps = fps > 1000 && fps <= CVW_FPS_MAX ? 1000 : fps > 0 && fps <= 1000 ? fps : 25;
        /* FFmpeg's encoders refuse larger frames, saying so only on the
         * console that quiet_opencv silences. */
        int most = ext == "avi" ? 65500 : 8191;
        if (w > most || h > most) {
            fail(name + ": frames of " + std::to_string(w) + "x" + std::to_string(h) +
                 " are too large for " + (ext == "avi" ? "MJPG" : "MPEG-4") + " (" +
                 std::to_string(most) + " pixels a side at most)" +
                 (ext == "avi" ? "" : ": record to .avi (MJPG) instead"));
            delete wr;
            return nullptr;
        }
        if (!wr->vw.open(p, cv::CAP_FFMPEG, fourcc, fps, cv::Size(w, h), true)) {
            fail(name + ": cannot open a video writer");
            delete wr;
            return nullptr;
        }
        return wr;
    });
}

extern "C" int cvw_writer_write(cvw_writer *wr, const uint8_t *bgr)
{
    if (!wr || !bgr)
        return fail("video write: null argument");
    return cvw::guard("video write", -1, [&]() -> int {
        cv::Mat m(wr->h, wr->w, CV_8UC3, const_cast<uint8_t *>(bgr));
        wr->vw.write(m);
        wr->frames++;
        return 0;
    });
}

extern "C" void cvw_writer_moved(cvw_writer *wr, const char *path)
{
    if (wr && path)
        wr->path = path;
}

extern "C" int cvw_writer_close(cvw_writer *wr)
{
    if (!wr)
        return 0;
    int rc = cvw::guard("video writer close", -1, [&]() -> int {
        wr->vw.release();
        // VideoWriter reports no write errors (a full disk passes
        // silently), so the finished file is read back: it must open and
        // its last frame must decode.
        const std::string &name = wr->name;
        struct stat st;
        if (stat(wr->path.c_str(), &st) != 0 || (S_ISREG(st.st_mode) && st.st_size == 0))
            return fail(name + ": nothing was written (disk full?)");
        if (wr->frames == 0)
            return 0;
        cv::VideoCapture cap;
        if (!cap.open(wr->path, cv::CAP_FFMPEG))
            return fail(name + ": the finished video does not open: it is incomplete (disk full?)");
        cv::Mat m;
        if (wr->frames > 1)
            cap.set(cv::CAP_PROP_POS_FRAMES, (double)(wr->frames - 1));
        // A file cut short has no index (AVI) or cues (Matroska) to seek
        // by: the seek fails quietly and the read returns its first frame,
        // so the position after the read must be past the last frame.
        if (!cap.read(m) || m.empty() ||
            (wr->frames > 1 && cap.get(cv::CAP_PROP_POS_FRAMES) != (double)wr->frames))
            return fail(name + ": the finished video lacks frames that were written (disk full?)");
        return 0;
    });
    delete wr;
    return rc;
}
