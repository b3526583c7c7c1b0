// cvw_session.cpp - the session report's pictures (cvw_session.h): the
// emotion timeline and the contact sheet of faces, drawn with the helpers
// the trainer's report uses (cvw_drawing.hpp).
#include "cvw_session.h"
#include "cvw_drawing.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace cvw::draw;

namespace {

// The legend: colour swatches and names in rows no wider than width,
// each row centred on cx, the first at y. A model's many or long class
// names take more rows rather than run off the picture's edges.
const int LEGEND_ROW_H = 24;

int legend_item_w(const char *name)
{
    return 22 + text_size(name ? name : "?", 0.5, 1).width + 18;
}

// The first class of each row; returns the number of rows.
int legend_rows(const char *const *names, int k, int width, std::vector<int> &starts)
{
    starts.clear();
    int w = 0;
    for (int c = 0; c < k; c++) {
        int iw = legend_item_w(names[c]);
        if (c == 0 || w + iw > width) {
            starts.push_back(c);
            w = 0;
        }
        w += iw;
    }
    return (int)starts.size();
}

void legend(cv::Mat &img, int cx, int y, int width, const char *const *names, const uint32_t *rgb,
            int k)
{
    std::vector<int> starts;
    int n = legend_rows(names, k, width, starts);
    for (int r = 0; r < n; r++) {
        int end = r + 1 < n ? starts[r + 1] : k, total = 0;
        for (int c = starts[r]; c < end; c++)
            total += legend_item_w(names[c]);
        int x = cx - total / 2, ry = y + r * LEGEND_ROW_H;
        for (int c = starts[r]; c < end; c++) {
            std::string s = names[c] ? names[c] : "?";
            cv::rectangle(img, cv::Rect(x, ry - 6, 16, 12), bgr(rgb[c]), cv::FILLED);
            text(img, s, x + 22, ry - 7, 0.5, BLACK);
            x += legend_item_w(names[c]);
        }
    }
}

// Text that fits in width pixels at scale, or at a smaller one (down to
// 0.32), or cut short with ".." (whole UTF-8 characters kept): a tile's
// label no wider than its tile, not written over its neighbour's.
// Lowers scale (down to 0.32) until s fits in width; whether it does.
bool shrink_to_fit(const std::string &s, double &scale, int width)
{
    while (scale > 0.32 && text_size(s, scale, 1).width > width)
        scale -= 0.02;
    return text_size(s, scale, 1).width <= width;
}

std::string fit_text(const std::string &s, double &scale, int width)
{
    if (shrink_to_fit(s, scale, width))
        return s;
    std::string cut = s;
    while (!cut.empty() && text_size(cut + "..", scale, 1).width > width) {
        // The last character: its continuation bytes, then its first.
        while (!cut.empty() && ((unsigned char)cut.back() & 0xC0) == 0x80)
            cut.pop_back();
        if (!cut.empty())
            cut.pop_back();
    }
    return cut + "..";
}

// fit_text, keeping the last word whole (a share: "surprised_with_.. 100%").
std::string fit_tail(const std::string &s, double &scale, int width)
{
    const size_t sp = s.rfind(' ');
    if (sp == std::string::npos || sp == 0)
        return fit_text(s, scale, width);
    if (shrink_to_fit(s, scale, width))
        return s;
    const std::string tail = s.substr(sp);
    double head_scale = scale; // already as small as it goes
    return fit_text(s.substr(0, sp), head_scale,
                    std::max(1, width - text_size(tail, scale, 1).width)) + tail;
}

} // namespace

extern "C" int cvw_draw_timeline(const char *path, const char *title,
                                 const cvw_timeline_row *rows, int n_rows,
                                 const char *const *names, const uint32_t *rgb, int k,
                                 double t0, double t1, double gap, double frame)
{
    return cvw::guard("cvw_draw_timeline", -1, [&]() -> int {
        if (!path || n_rows < 0 || n_rows > 64 || !names || !rgb || k <= 0 || k > 64 ||
            !std::isfinite(t0) || !std::isfinite(t1) || (n_rows > 0 && !rows))
            return fail("cvw_draw_timeline: bad arguments");
        for (int r = 0; r < n_rows; r++)
            if (rows[r].n < 0 || (rows[r].n > 0 && (!rows[r].t || !rows[r].p || !rows[r].band)))
                return fail("cvw_draw_timeline: a row has no values");
        if (!(t1 > t0))
            t1 = t0 + 1;
        const int W = 1200, left = 120, right = 24, row_h = 150, band_h = 14, foot = 56;
        std::vector<int> starts;
        int head = 92 + (legend_rows(names, k, W - 40, starts) - 1) * LEGEND_ROW_H;
        int rows_h = std::max(1, n_rows) * row_h;
        cv::Mat img(head + rows_h + foot, W, CV_8UC3, WHITE);
        text_c(img, title_or(title), W / 2, 24, 0.75, BLACK, 2);
        legend(img, W / 2, 62, W - 40, names, rgb, k);
        int pw = W - left - right;
        auto X = [&](double t) {
            return left + (int)std::lround((t - t0) / (t1 - t0) * (pw - 1));
        };
        double xs = nice_step(t1 - t0, 10);
        if (n_rows == 0)
            text_c(img, "no faces were tracked", W / 2, head + row_h / 2, 0.6, AXIS);
        for (int r = 0; r < n_rows; r++) {
            const cvw_timeline_row &row = rows[r];
            int top = head + r * row_h;
            cv::Rect band(left, top + 6, pw, band_h);
            cv::Rect plot(left, band.y + band_h + 6, pw, row_h - band_h - 32);
            auto Y = [&](double p) {
                return plot.y + plot.height - 1 - (int)std::lround(p * (plot.height - 1));
            };
            // Grid: time ticks and 0, 0.5, 1.
            for (double t = std::ceil(t0 / xs) * xs; t <= t1 + xs * 1e-6; t += xs)
                cv::line(img, {X(t), plot.y}, {X(t), plot.y + plot.height - 1}, GRID, 1);
            for (int q = 0; q <= 2; q++) {
                int y = Y(q * 0.5);
                cv::line(img, {plot.x, y}, {plot.x + plot.width - 1, y}, GRID, 1);
                std::string s = q == 0 ? "0" : q == 1 ? "0.5" : "1";
                cv::Size sz = text_size(s, 0.38, 1);
                text(img, s, plot.x - 6 - sz.width, y - sz.height / 2, 0.38, AXIS);
            }
            cv::rectangle(img, plot, AXIS, 1);
            cv::rectangle(img, band, cv::Scalar(246, 246, 246), cv::FILLED); // no face
            text(img, title_or(row.label), 8, plot.y + 4, 0.55, BLACK, 2);
            if (row.sublabel) { // the dominant class: left of the plot, whatever its name
                double ss = 0.42;
                const std::string sub = fit_tail(row.sublabel, ss, left - 8 - 8);
                text(img, sub, 8, plot.y + 28, ss, AXIS); // ss as fit_tail left it
            }
            // The band: each sample's class from its time to the next
            // sample's.
            for (int i = 0; i < row.n; i++) {
                int c = row.band[i];
                if (c < 0 || c >= k || !std::isfinite(row.t[i]))
                    continue;
                double ta = row.t[i];
                double tb = i + 1 < row.n && row.t[i + 1] - ta <= gap ? row.t[i + 1]
                                                                        : ta + frame;
                int xa = X(ta), xb = std::max(xa + 1, X(tb));
                cv::Rect cell = cv::Rect(xa, band.y, xb - xa, band_h) & band;
                if (cell.area() > 0)
                    cv::rectangle(img, cell, bgr(rgb[c]), cv::FILLED);
            }
            cv::rectangle(img, band, AXIS, 1);
            cv::Size dsz = text_size("dominant", 0.36, 1);
            text(img, "dominant", band.x - 6 - dsz.width, band.y + (band_h - dsz.height) / 2 - 1,
                 0.36, AXIS);
            // Lines per class, clipped to the plot.
            cv::Mat roi = img(plot);
            for (int c = 0; c < k; c++) {
                cv::Scalar col = bgr(rgb[c]);
                cv::Point prev;
                bool have = false;
                double tprev = 0;
                for (int i = 0; i < row.n; i++) {
                    float v = row.p[(size_t)i * k + c];
                    if (!std::isfinite(v) || !std::isfinite(row.t[i])) {
                        have = false;
                        continue;
                    }
                    cv::Point pt(X(row.t[i]) - plot.x, Y(std::min(1.0f, std::max(0.0f, v))) - plot.y);
                    if (have && row.t[i] - tprev <= gap)
                        cv::line(roi, prev, pt, col, 2, cv::LINE_AA);
                    else if (row.n < 3 || (i + 1 < row.n && row.t[i + 1] - row.t[i] > gap) ||
                             i + 1 == row.n)
                        cv::circle(roi, pt, 2, col, cv::FILLED, cv::LINE_AA);
                    prev = pt;
                    tprev = row.t[i];
                    have = true;
                }
            }
        }
        // The time axis under the last row.
        int ay = head + rows_h;
        for (double t = std::ceil(t0 / xs) * xs; t <= t1 + xs * 1e-6; t += xs) {
            cv::line(img, {X(t), ay - 4}, {X(t), ay + 2}, AXIS, 1);
            text_c(img, fmt_num(std::fabs(t) < xs * 1e-6 ? 0 : t, xs), X(t), ay + 14, 0.42, AXIS);
        }
        text_c(img, "time (s)", left + pw / 2, img.rows - 16, 0.5, BLACK);
        write(path, img);
        return 0;
    });
}

extern "C" int cvw_draw_contact_sheet(const char *path, const char *title,
                                      const cvw_tile *tiles, int n)
{
    return cvw::guard("cvw_draw_contact_sheet", -1, [&]() -> int {
        if (!path || n < 0 || n > 1024 || (n > 0 && !tiles))
            return fail("cvw_draw_contact_sheet: bad arguments");
        for (int i = 0; i < n; i++)
            if (!tiles[i].bgr || tiles[i].w <= 0 || tiles[i].h <= 0 || tiles[i].w > 8192 ||
                tiles[i].h > 8192)
                return fail("cvw_draw_contact_sheet: a tile has no picture");
        const int cell = 144, tw = 176, th = cell + 56, head = 56;
        int cols = std::max(1, std::min(n, 6)), rows = std::max(1, (n + cols - 1) / cols);
        int title_w = text_size(title_or(title), 0.65, 2).width + 40;
        cv::Mat img(head + rows * th + 8, std::max({cols * tw + 16, 360, title_w}), CV_8UC3,
                    WHITE);
        text_c(img, title_or(title), img.cols / 2, 24, 0.65, BLACK, 2);
        int x0 = (img.cols - cols * tw) / 2;
        for (int i = 0; i < n; i++) {
            const cvw_tile &t = tiles[i];
            cv::Mat src(t.h, t.w, CV_8UC3, const_cast<uint8_t *>(t.bgr)), pic;
            double z = std::min((double)cell / t.w, (double)cell / t.h);
            int w = std::max(1, (int)std::lround(t.w * z)), h = std::max(1, (int)std::lround(t.h * z));
            cv::resize(src, pic, cv::Size(w, h), 0, 0, z < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
            int cx = x0 + (i % cols) * tw + tw / 2, y = head + (i / cols) * th;
            int px = cx - w / 2, py = y + (cell - h) / 2;
            paste(img, pic, px, py);
            cv::rectangle(img, cv::Rect(px - 3, py - 3, w + 6, h + 6), bgr(t.rgb), 3);
            double s1 = 0.5, s2 = 0.45;
            std::string l1 = fit_text(title_or(t.line1), s1, tw - 8),
                        l2 = fit_text(title_or(t.line2), s2, tw - 8);
            text_c(img, l1, cx, y + cell + 18, s1, BLACK, 1);
            text_c(img, l2, cx, y + cell + 38, s2, bgr(t.rgb), 1);
        }
        if (n == 0)
            text_c(img, "no faces were tracked", img.cols / 2, head + th / 2, 0.6, AXIS);
        write(path, img);
        return 0;
    });
}
