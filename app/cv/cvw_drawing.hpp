// cvw_drawing.hpp - the drawing helpers the report pictures share (the
// trainer's in cvw_draw.cpp, the detector's session report in
// cvw_session.cpp): colours, text placed by its corner or centre or
// turned upright, tick steps and labels, pasting, writing.
#ifndef CVW_DRAWING_HPP
#define CVW_DRAWING_HPP

#include "asciify.h"
#include "cvw_internal.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

namespace cvw {
namespace draw {

const cv::Scalar WHITE(255, 255, 255), BLACK(0, 0, 0), GRID(225, 225, 225),
    AXIS(90, 90, 90), GREEN(40, 150, 40), RED(30, 30, 210);
const int FONT = cv::FONT_HERSHEY_SIMPLEX;

inline int fail(const std::string &msg)
{
    cvw::set_error(msg);
    return -1;
}

inline cv::Scalar bgr(uint32_t rgb)
{
    return cv::Scalar(rgb & 255, (rgb >> 8) & 255, (rgb >> 16) & 255);
}

// The font draws ASCII only: a UTF-8 name as it can show it (asciify.h),
// so that sizes are measured on the text that is drawn.
inline std::string drawable(const std::string &s)
{
    std::string out(s.size() * 2 + 1, '\0');
    out.resize(asciify(s.c_str(), &out[0], out.size()));
    return out;
}

inline cv::Size text_size(const std::string &s, double scale, int thick)
{
    int base = 0;
    return cv::getTextSize(drawable(s), FONT, scale, thick, &base);
}

// Text with its top-left corner at (x, y) (putText anchors the baseline).
inline void text(cv::Mat &img, const std::string &s, int x, int y, double scale,
                 const cv::Scalar &c, int thick = 1)
{
    cv::Size sz = text_size(s, scale, thick);
    cv::putText(img, drawable(s), cv::Point(x, y + sz.height), FONT, scale, c, thick, cv::LINE_AA);
}

// Text centred on (cx, cy).
inline void text_c(cv::Mat &img, const std::string &s, int cx, int cy, double scale,
                   const cv::Scalar &c, int thick = 1)
{
    cv::Size sz = text_size(s, scale, thick);
    text(img, s, cx - sz.width / 2, cy - sz.height / 2, scale, c, thick);
}

// Text turned 90 degrees counter-clockwise (reads bottom to top), centred
// on (cx, cy): drawn flat on a patch, rotated, then copied in.
inline void text_v(cv::Mat &img, const std::string &s, int cx, int cy, double scale,
                   const cv::Scalar &c, int thick = 1)
{
    cv::Size sz = text_size(s, scale, thick);
    cv::Mat patch(sz.height + 8, sz.width + 4, img.type(), WHITE);
    text(patch, s, 2, 3, scale, c, thick);
    cv::Mat rot;
    cv::rotate(patch, rot, cv::ROTATE_90_COUNTERCLOCKWISE);
    cv::Rect r(cx - rot.cols / 2, cy - rot.rows / 2, rot.cols, rot.rows);
    r &= cv::Rect(0, 0, img.cols, img.rows);
    if (r.area() > 0)
        rot(cv::Rect(r.x - (cx - rot.cols / 2), r.y - (cy - rot.rows / 2), r.width,
                     r.height))
            .copyTo(img(r));
}

inline void write(const char *path, const cv::Mat &img)
{
    cvw::write_image(path, img);
}

// A "nice" tick step (1, 2 or 5 times a power of ten) for about n ticks.
inline double nice_step(double range, int n)
{
    if (!(range > 0))
        return 1;
    double raw = range / n, p = std::pow(10.0, std::floor(std::log10(raw)));
    double f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

inline std::string fmt_num(double v, double step)
{
    char buf[32];
    int dec = step >= 1 ? 0 : (int)std::ceil(-std::log10(step) - 1e-9);
    std::snprintf(buf, sizeof buf, "%.*f", std::min(dec, 6), v);
    return buf;
}

inline void paste(cv::Mat &dst, const cv::Mat &src, int x, int y)
{
    cv::Rect r(x, y, src.cols, src.rows);
    r &= cv::Rect(0, 0, dst.cols, dst.rows);
    if (r.area() > 0)
        src(cv::Rect(r.x - x, r.y - y, r.width, r.height)).copyTo(dst(r));
}

inline std::string title_or(const char *t) { return t ? t : ""; }

} // namespace draw
} // namespace cvw

#endif
