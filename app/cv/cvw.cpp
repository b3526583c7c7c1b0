// cvw.cpp - errors, images (reading, and the pipeline's pixel operations:
// gray conversion, equalization, warps, resizes, crops) and DNN over OpenCV, behind the C API in cvw.h.
// Every extern "C" function runs its body inside cvw::guard so that no C++
// exception crosses into C; failures leave a message for cvw_error().
#include "cvw.h"
#include "cvw_internal.hpp"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <vector>

extern "C" {
#include "app_err.h"
#include "outpath.h"
}

static thread_local std::string last_error;
void cvw::set_error(const std::string &msg) { last_error = msg; }
extern "C" const char *cvw_error(void) { return last_error.c_str(); }

namespace {

int fail(const std::string &msg)
{
    cvw::set_error(msg);
    return -1;
}

bool size_ok(int w, int h)
{
    return w > 0 && h > 0 && w <= INT_MAX / h;
}

} // namespace

// ---- images ---------------------------------------------------------------

extern "C" int cvw_read_gray(const char *path, uint8_t **pixels, int *w, int *h)
{
    return cvw::guard("cvw_read_gray", -1, [&]() -> int {
        if (!pixels || !w || !h)
            return fail("cvw_read_gray: NULL argument");
        *pixels = nullptr;
        // Decode through cvw_read_bgr: one decoder path (with its checks
        // and its silencing of decoder chatter) for the detector and the
        // trainer, then the camera path's cvtColor, so a picture and a
        // video frame of the same scene give the same gray pixels.
        uint8_t *bgr = nullptr;
        int bw = 0, bh = 0;
        if (cvw_read_bgr(path, &bgr, &bw, &bh) != 0)
            return fail(std::string("cannot read image ") + cvw_error());
        uint8_t *gray = static_cast<uint8_t *>(std::malloc(static_cast<size_t>(bw) * bh));
        if (!gray) {
            std::free(bgr);
            return fail(std::string("cannot read image '") + path + "': out of memory");
        }
        try {
            cv::Mat src(bh, bw, CV_8UC3, bgr), dst(bh, bw, CV_8UC1, gray);
            cv::cvtColor(src, dst, cv::COLOR_BGR2GRAY);
        } catch (...) {
            std::free(bgr);
            std::free(gray);
            throw; // guard turns it into the message
        }
        std::free(bgr);
        *pixels = gray;
        *w = bw;
        *h = bh;
        return 0;
    });
}

extern "C" int cvw_resize_gray(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh)
{
    return cvw::guard("cvw_resize_gray", -1, [&]() -> int {
        if (!src || !dst || !size_ok(sw, sh) || !size_ok(dw, dh))
            return fail("cvw_resize_gray: bad arguments");
        cv::Mat s(sh, sw, CV_8UC1, const_cast<uint8_t *>(src));
        cv::Mat d(dh, dw, CV_8UC1, dst);
        // Area averaging does not alias when shrinking; linear is smoother
        // than area's nearest-like behaviour when enlarging.
        int interp = (dw <= sw && dh <= sh) ? cv::INTER_AREA : cv::INTER_LINEAR;
        cv::resize(s, d, cv::Size(dw, dh), 0, 0, interp);
        if (d.data != dst)
            return fail("cvw_resize_gray: output reallocated");
        return 0;
    });
}

void cvw::write_image(const char *path, const cv::Mat &img)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        throw std::runtime_error(std::string("cannot write image '") + path +
                                 "': no extension to choose the format by");
    std::vector<uint8_t> bytes;
    bool ok = false;
    try {
        ok = cv::imencode(dot, img, bytes);
    } catch (const cv::Exception &e) {
        // Typically "could not find a writer for the specified extension".
        throw std::runtime_error(std::string("cannot write image '") + path + "': " + e.err);
    }
    if (!ok)
        throw std::runtime_error(std::string("cannot write image '") + path + "'");
    if (outpath_write_mem(path, bytes.data(), bytes.size()) != 0)
        throw std::runtime_error(app_error());
}

extern "C" int cvw_write_image(const char *path, const uint8_t *pixels, int w, int h, int channels)
{
    return cvw::guard("cvw_write_image", -1, [&]() -> int {
        if (!path || !*path || !pixels || !size_ok(w, h))
            return fail("cvw_write_image: bad arguments");
        if (channels != 1 && channels != 3 && channels != 4)
            return fail("cvw_write_image: channels must be 1, 3 or 4");
        cv::Mat m(h, w, CV_8UC(channels), const_cast<uint8_t *>(pixels));
        cvw::write_image(path, m);
        return 0;
    });
}

// ---- dnn ------------------------------------------------------------------

struct cvw_dnn {
    cv::dnn::Net net;
};

extern "C" cvw_dnn *cvw_dnn_load_onnx(const char *path)
{
    return cvw::guard("cvw_dnn_load_onnx", static_cast<cvw_dnn *>(nullptr), [&]() -> cvw_dnn * {
        if (!path || !*path) {
            fail("cvw_dnn_load_onnx: empty path");
            return nullptr;
        }
        struct stat st;
        if (stat(path, &st) != 0) {
            fail(std::string("cannot read ONNX model '") + path + "': " + std::strerror(errno));
            return nullptr;
        }
        cvw_dnn *d = new cvw_dnn;
        try {
            d->net = cv::dnn::readNetFromONNX(path);
        } catch (const cv::Exception &e) {
            delete d;
            fail(std::string("cannot load ONNX model '") + path + "': " + e.err);
            return nullptr;
        }
        if (d->net.empty()) {
            delete d;
            fail(std::string("cannot load ONNX model '") + path + "': empty network");
            return nullptr;
        }
        // Plain CPU float path: the reference we compare the engine against.
        d->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        d->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        return d;
    });
}

extern "C" int cvw_dnn_forward(cvw_dnn *net, const float *in, int n, int c, int h, int w,
                               float *out, int k)
{
    return cvw::guard("cvw_dnn_forward", -1, [&]() -> int {
        if (!net || !in || !out || n <= 0 || c <= 0 || h <= 0 || w <= 0 || k <= 0)
            return fail("cvw_dnn_forward: bad arguments");
        int dims[4] = {n, c, h, w};
        // Wraps the caller's buffer; setInput copies it.
        cv::Mat blob(4, dims, CV_32F, const_cast<float *>(in));
        net->net.setInput(blob, "input");
        cv::Mat y = net->net.forward();
        if (y.depth() != CV_32F)
            return fail("cvw_dnn_forward: output is not float32");
        if (y.dims < 1 || y.size[0] != n || y.total() != static_cast<size_t>(n) * k)
            return fail("cvw_dnn_forward: output has " + std::to_string(y.total()) +
                        " values, expected " + std::to_string(n) + " x " + std::to_string(k));
        if (!y.isContinuous())
            y = y.clone();
        std::memcpy(out, y.ptr<float>(), static_cast<size_t>(n) * k * sizeof(float));
        return 0;
    });
}

extern "C" void cvw_dnn_free(cvw_dnn *net)
{
    cvw::guard("cvw_dnn_free", 0, [&]() -> int {
        delete net;
        return 0;
    });
}

extern "C" int cvw_bgr_to_gray(const uint8_t *bgr, int w, int h, uint8_t *gray)
{
    if (!bgr || !gray || w <= 0 || h <= 0)
        return fail("bgr to gray: bad argument");
    return cvw::guard("bgr to gray", -1, [&]() -> int {
        cv::Mat src(h, w, CV_8UC3, const_cast<uint8_t *>(bgr)), dst(h, w, CV_8UC1, gray);
        cv::cvtColor(src, dst, cv::COLOR_BGR2GRAY);
        return 0;
    });
}

extern "C" int cvw_equalize_gray(uint8_t *gray, int w, int h)
{
    if (!gray || w <= 0 || h <= 0)
        return fail("equalize: bad argument");
    return cvw::guard("equalize", -1, [&]() -> int {
        cv::Mat m(h, w, CV_8UC1, gray), tmp;
        cv::equalizeHist(m, tmp);
        tmp.copyTo(m);
        return 0;
    });
}

extern "C" int cvw_clahe_gray(uint8_t *gray, int w, int h)
{
    if (!gray || w <= 0 || h <= 0)
        return fail("clahe: bad argument");
    return cvw::guard("clahe", -1, [&]() -> int {
        cv::Mat m(h, w, CV_8UC1, gray), tmp;
        cv::Ptr<cv::CLAHE> cl = cv::createCLAHE(2.0, cv::Size(8, 8));
        cl->apply(m, tmp);
        tmp.copyTo(m);
        return 0;
    });
}

extern "C" int cvw_warp_gray(const uint8_t *src, int sw, int sh, double cx, double cy,
                             double angle_deg, double scale, uint8_t *dst, int dw, int dh)
{
    if (!src || !dst || sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || !(scale > 0))
        return fail("warp: bad argument");
    return cvw::guard("warp", -1, [&]() -> int {
        cv::Mat s(sh, sw, CV_8UC1, const_cast<uint8_t *>(src)), d(dh, dw, CV_8UC1, dst);
        cv::Mat area;
        if (scale > 1.5) {
            /* Bilinear sampling would skip pixels: average the part of the
             * source the output covers down to about the output's scale
             * first, then warp that. */
            double half = 0.5 * std::hypot((double)dw, (double)dh) * scale + 2;
            cv::Rect need((int)std::floor(cx - half), (int)std::floor(cy - half),
                          (int)std::ceil(2 * half) + 1, (int)std::ceil(2 * half) + 1);
            need &= cv::Rect(0, 0, sw, sh);
            if (need.width > 0 && need.height > 0) {
                int aw = std::max(1, (int)std::lround(need.width / scale));
                int ah = std::max(1, (int)std::lround(need.height / scale));
                cv::resize(s(need), area, cv::Size(aw, ah), 0, 0, cv::INTER_AREA);
                double fx = (double)need.width / aw, fy = (double)need.height / ah;
                cx = (cx - need.x + 0.5) / fx - 0.5;
                cy = (cy - need.y + 0.5) / fy - 0.5;
                scale /= 0.5 * (fx + fy);
                s = area;
            }
        }
        /* dst (u, v) <- src (cx, cy) + scale * R(angle) * (u - u0, v - v0) */
        double a = angle_deg * CV_PI / 180, c = std::cos(a) * scale, sn = std::sin(a) * scale;
        double u0 = (dw - 1) / 2.0, v0 = (dh - 1) / 2.0;
        cv::Matx23d m(c, -sn, cx - c * u0 + sn * v0, sn, c, cy - sn * u0 - c * v0);
        cv::warpAffine(s, d, m, d.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                       cv::BORDER_REPLICATE);
        return 0;
    });
}

extern "C" int cvw_resize_bgr(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh)
{
    if (!src || !dst || sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0)
        return fail("resize: bad argument");
    return cvw::guard("resize", -1, [&]() -> int {
        cv::Mat s(sh, sw, CV_8UC3, const_cast<uint8_t *>(src)), d(dh, dw, CV_8UC3, dst);
        int interp = (dw < sw || dh < sh) ? cv::INTER_AREA : cv::INTER_LINEAR;
        cv::resize(s, d, d.size(), 0, 0, interp);
        return 0;
    });
}

extern "C" int cvw_crop_resize_gray(const uint8_t *src, int sw, int sh, cvw_rect r,
                                    uint8_t *dst, int dw, int dh)
{
    if (!src || !dst || sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0)
        return fail("crop: bad argument");
    return cvw::guard("crop", -1, [&]() -> int {
        cv::Rect roi = cv::Rect(r.x, r.y, r.w, r.h) & cv::Rect(0, 0, sw, sh);
        if (roi.width <= 0 || roi.height <= 0)
            return fail("crop: box outside the image");
        cv::Mat s(sh, sw, CV_8UC1, const_cast<uint8_t *>(src)), d(dh, dw, CV_8UC1, dst);
        int interp = (dw < roi.width || dh < roi.height) ? cv::INTER_AREA : cv::INTER_LINEAR;
        cv::resize(s(roi), d, d.size(), 0, 0, interp);
        return 0;
    });
}

extern "C" int cvw_paste_bgr(uint8_t *dst, int dw, int dh, const uint8_t *src, int sw, int sh,
                             cvw_rect r)
{
    if (!src || !dst || sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || r.w <= 0 || r.h <= 0)
        return fail("paste: bad argument");
    return cvw::guard("paste", -1, [&]() -> int {
        cv::Mat s(sh, sw, CV_8UC3, const_cast<uint8_t *>(src)), d(dh, dw, CV_8UC3, dst), scaled;
        int interp = (r.w < sw || r.h < sh) ? cv::INTER_AREA : cv::INTER_LINEAR;
        cv::resize(s, scaled, cv::Size(r.w, r.h), 0, 0, interp);
        cv::Rect full(r.x, r.y, r.w, r.h), vis = full & cv::Rect(0, 0, dw, dh);
        if (vis.width <= 0 || vis.height <= 0)
            return 0;
        scaled(cv::Rect(vis.x - r.x, vis.y - r.y, vis.width, vis.height)).copyTo(d(vis));
        return 0;
    });
}
