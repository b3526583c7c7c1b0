// cvw_draw.cpp - the training report's pictures (charts, confusion matrix,
// filters, feature maps, sample predictions) drawn with OpenCV, behind the
// C functions of cvw.h's drawing section. Every entry point runs inside
// cvw::guard, so no C++ exception reaches C. The helpers they share with
// the session report are in cvw_drawing.hpp.
#include "cvw.h"
#include "cvw_drawing.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace cvw::draw; // the shared helpers (cvw_drawing.hpp)

void draw_panel(cv::Mat &img, cv::Rect area, const cvw_panel &p)
{
    const int left = 78, right = 18, top = 58, bottom = 58;
    cv::Rect plot(area.x + left, area.y + top, area.width - left - right,
                  area.height - top - bottom);
    if (p.title)
        text(img, p.title, area.x + left, area.y + 10, 0.6, BLACK, 2);

    // Ranges.
    int n = 1;
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < p.n_series; s++) {
        n = std::max(n, p.series[s].n);
        for (int i = 0; i < p.series[s].n; i++) {
            float v = p.series[s].y[i];
            if (std::isfinite(v)) {
                lo = std::min(lo, (double)v);
                hi = std::max(hi, (double)v);
            }
        }
    }
    if (p.ymin != p.ymax) {
        lo = p.ymin;
        hi = p.ymax;
    } else if (!(lo <= hi)) {
        lo = 0;
        hi = 1;
    } else {
        double pad = (hi - lo) * 0.06;
        if (pad == 0)
            pad = std::max(std::fabs(hi) * 0.1, 0.05);
        lo -= pad;
        hi += pad;
    }
    // A little room either side so end points are not cut by the frame.
    double x0 = 1, x1 = std::max(n, 2), xpad = (x1 - x0) * 0.03;
    x0 -= xpad;
    x1 += xpad;
    auto X = [&](double x) {
        return plot.x + (int)std::lround((x - x0) / (x1 - x0) * (plot.width - 1));
    };
    auto Y = [&](double y) {
        return plot.y + plot.height - 1 -
               (int)std::lround((y - lo) / (hi - lo) * (plot.height - 1));
    };

    // Grid and ticks.
    double ys = nice_step(hi - lo, 6);
    for (double t = std::ceil(lo / ys) * ys; t <= hi + ys * 1e-6; t += ys) {
        int y = Y(t);
        cv::line(img, {plot.x, y}, {plot.x + plot.width - 1, y}, GRID, 1);
        std::string s = fmt_num(std::fabs(t) < ys * 1e-6 ? 0 : t, ys);
        cv::Size sz = text_size(s, 0.42, 1);
        text(img, s, plot.x - 8 - sz.width, y - sz.height / 2, 0.42, AXIS);
    }
    double xs = std::max(1.0, nice_step(x1 - x0, 8));
    // Epoch 1, then round multiples of the step.
    for (double t = 1; t <= x1 + 1e-9; t = (t == 1 && xs > 1) ? xs : t + xs) {
        int x = X(t);
        cv::line(img, {x, plot.y}, {x, plot.y + plot.height - 1}, GRID, 1);
        text_c(img, fmt_num(t, 1), x, plot.y + plot.height + 14, 0.42, AXIS);
    }
    cv::rectangle(img, plot, AXIS, 1);
    if (p.xlabel)
        text_c(img, p.xlabel, plot.x + plot.width / 2, area.y + area.height - 14, 0.5,
               BLACK);
    if (p.ylabel)
        text_v(img, p.ylabel, area.x + 16, plot.y + plot.height / 2, 0.5, BLACK);

    // Lines (markers when there are few points), clipped to the plot.
    cv::Mat roi = img(plot);
    for (int s = 0; s < p.n_series; s++) {
        const cvw_series &se = p.series[s];
        cv::Scalar c = bgr(se.rgb);
        cv::Point prev;
        bool have = false;
        for (int i = 0; i < se.n; i++) {
            float v = se.y[i];
            if (!std::isfinite(v)) {
                have = false;
                continue;
            }
            cv::Point pt(X(i + 1) - plot.x, Y(v) - plot.y);
            if (have)
                cv::line(roi, prev, pt, c, 2, cv::LINE_AA);
            if (se.n <= 40)
                cv::circle(roi, pt, 3, c, cv::FILLED, cv::LINE_AA);
            prev = pt;
            have = true;
        }
    }

    // Legend in the top margin, right-aligned.
    int x = plot.x + plot.width;
    for (int s = p.n_series - 1; s >= 0; s--) {
        const char *lab = p.series[s].label ? p.series[s].label : "";
        cv::Size sz = text_size(lab, 0.45, 1);
        x -= sz.width;
        int y = plot.y - 20;
        text(img, lab, x, y - sz.height / 2, 0.45, BLACK);
        x -= 30;
        cv::line(img, {x, y}, {x + 24, y}, bgr(p.series[s].rgb), 3, cv::LINE_AA);
        x -= 16;
    }
}

// White to dark blue, by share 0..1 (a "Blues"-like scale).
cv::Scalar blues(double t)
{
    t = std::min(1.0, std::max(0.0, t));
    const double a[3] = {255, 251, 247}, b[3] = {107, 48, 8}; // BGR
    return cv::Scalar(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t,
                      a[2] + (b[2] - a[2]) * t);
}

// An 8-bit gray image as a BGR tile enlarged by a whole factor.
cv::Mat gray_tile(const uint8_t *px, int w, int h, int scale, int interp)
{
    cv::Mat g(h, w, CV_8UC1, const_cast<uint8_t *>(px)), big, out;
    cv::resize(g, big, cv::Size(w * scale, h * scale), 0, 0, interp);
    cv::cvtColor(big, out, cv::COLOR_GRAY2BGR);
    return out;
}

} // namespace

extern "C" int cvw_draw_plots(const char *path, const char *title,
                              const cvw_panel *panels, int n_panels)
{
    return cvw::guard("cvw_draw_plots", -1, [&]() -> int {
        if (!path || !panels || n_panels <= 0 || n_panels > 8)
            return fail("cvw_draw_plots: bad arguments");
        for (int i = 0; i < n_panels; i++)
            for (int s = 0; s < panels[i].n_series; s++)
                if (!panels[i].series || (panels[i].series[s].n > 0 && !panels[i].series[s].y))
                    return fail("cvw_draw_plots: a series has no values");
        const int pw = 640, ph = 440, head = 52;
        cv::Mat img(head + ph, pw * n_panels, CV_8UC3, WHITE);
        if (title)
            text_c(img, title, img.cols / 2, 26, 0.75, BLACK, 2);
        for (int i = 0; i < n_panels; i++)
            draw_panel(img, cv::Rect(i * pw, head, pw, ph), panels[i]);
        write(path, img);
        return 0;
    });
}

extern "C" int cvw_draw_confusion(const char *path, const char *title,
                                  const int *counts, int k, const char *const *names)
{
    return cvw::guard("cvw_draw_confusion", -1, [&]() -> int {
        if (!path || !counts || !names || k <= 0 || k > 256)
            return fail("cvw_draw_confusion: bad arguments");
        const double ls = 0.5;
        int cell = std::max(26, std::min(84, 600 / k));
        int name_w = 0, name_h = 0;
        for (int i = 0; i < k; i++) {
            cv::Size sz = text_size(names[i] ? names[i] : "?", ls, 1);
            name_w = std::max(name_w, sz.width);
            name_h = std::max(name_h, sz.height);
        }
        // Column names flat when they fit their cells, else turned upright.
        bool upright = name_w > cell - 6;
        int head = 60, left = 44 + name_w + 12;
        int below = (upright ? name_w + 16 : name_h + 18) + 34;
        int bar_w = 20, right = 30 + bar_w + 50;
        int mw = cell * k;
        // Wide enough for the title; the matrix is centred under it.
        int tw = text_size(title_or(title), 0.7, 2).width + 40;
        int extra = std::max(0, tw - (left + mw + right));
        left += extra / 2;
        cv::Mat img(head + mw + below, left + mw + right + (extra - extra / 2), CV_8UC3,
                    WHITE);
        text_c(img, title_or(title), img.cols / 2, 26, 0.7, BLACK, 2);

        double cell_scale = std::min(0.55, cell / 90.0);
        for (int t = 0; t < k; t++) {
            long row = 0;
            for (int p = 0; p < k; p++)
                row += counts[t * k + p];
            for (int p = 0; p < k; p++) {
                cv::Rect r(left + p * cell, head + t * cell, cell, cell);
                int c = counts[t * k + p];
                double share = row > 0 ? (double)c / row : 0;
                cv::rectangle(img, r, row > 0 ? blues(share) : cv::Scalar(235, 235, 235),
                              cv::FILLED);
                cv::Scalar tc = share > 0.5 ? WHITE : BLACK;
                char buf[32];
                if (row == 0)
                    std::snprintf(buf, sizeof buf, "-");
                else if (share >= 0.995 || share == 0)
                    std::snprintf(buf, sizeof buf, "%.0f%%", share * 100);
                else
                    std::snprintf(buf, sizeof buf, "%.*f%%", cell >= 60 ? 1 : 0, share * 100);
                bool two = cell >= 56 && row > 0;
                int cy = r.y + cell / 2 - (two ? 8 : 0);
                text_c(img, buf, r.x + cell / 2, cy, cell_scale, tc, p == t ? 2 : 1);
                if (two) {
                    std::snprintf(buf, sizeof buf, "(%d)", c);
                    text_c(img, buf, r.x + cell / 2, cy + 18, cell_scale * 0.8, tc);
                }
            }
        }
        cv::rectangle(img, cv::Rect(left, head, mw, mw), AXIS, 1);
        for (int i = 0; i < k; i++) {
            std::string s = names[i] ? names[i] : "?";
            cv::Size sz = text_size(s, ls, 1);
            text(img, s, left - 8 - sz.width, head + i * cell + cell / 2 - sz.height / 2, ls,
                 BLACK);
            int cx = left + i * cell + cell / 2;
            if (upright)
                text_v(img, s, cx, head + mw + 8 + sz.width / 2, ls, BLACK);
            else
                text_c(img, s, cx, head + mw + 8 + name_h / 2, ls, BLACK);
        }
        text_v(img, "true class", left - name_w - 32, head + mw / 2, 0.55, BLACK);
        text_c(img, "predicted class", left + mw / 2, img.rows - 18, 0.55, BLACK);

        // Colour scale: 0% at the bottom, 100% at the top.
        int bx = left + mw + 30;
        for (int y = 0; y < mw; y++)
            cv::line(img, {bx, head + y}, {bx + bar_w - 1, head + y},
                     blues(1.0 - (double)y / std::max(1, mw - 1)), 1);
        cv::rectangle(img, cv::Rect(bx, head, bar_w, mw), AXIS, 1);
        for (int t = 0; t <= 100; t += 25) {
            int y = head + (int)std::lround((1.0 - t / 100.0) * (mw - 1));
            cv::line(img, {bx + bar_w, y}, {bx + bar_w + 4, y}, AXIS, 1);
            text(img, std::to_string(t) + "%", bx + bar_w + 7, y - 5, 0.4, AXIS);
        }
        write(path, img);
        return 0;
    });
}

extern "C" int cvw_draw_filters(const char *path, const char *title, const float *w,
                                int n_out, int n_in, int kh, int kw)
{
    return cvw::guard("cvw_draw_filters", -1, [&]() -> int {
        if (!path || !w || n_out <= 0 || n_in <= 0 || kh <= 0 || kw <= 0 ||
            n_out > 4096 || n_in > 64 || kh > 64 || kw > 64)
            return fail("cvw_draw_filters: bad arguments");
        int z = std::max(2, 48 / std::max(kh, kw)); // pixels per weight
        int fw = n_in * kw * z + (n_in - 1) * 4, fh = kh * z;
        // Columns: the power of two at or above sqrt(n), so 32 filters
        // make 8 x 4 and 64 make 8 x 8.
        int cols = 1;
        while (cols * cols < n_out)
            cols *= 2;
        cols = std::min(cols, n_out);
        cols = std::min(cols, std::max(1, 1200 / (fw + 14)));
        int rows = (n_out + cols - 1) / cols;
        int tw = fw + 14, th = fh + 24, head = 56, foot = 44;
        int title_w = text_size(title_or(title), 0.65, 2).width + 40;
        cv::Mat img(head + rows * th + foot, std::max({cols * tw + 20, 360, title_w}), CV_8UC3,
                    WHITE);
        text_c(img, title_or(title), img.cols / 2, 24, 0.65, BLACK, 2);
        int x0 = (img.cols - cols * tw) / 2;
        for (int o = 0; o < n_out; o++) {
            const float *f = w + (size_t)o * n_in * kh * kw;
            float m = 0;
            for (int i = 0; i < n_in * kh * kw; i++)
                if (std::isfinite(f[i]))
                    m = std::max(m, std::fabs(f[i]));
            int tx = x0 + (o % cols) * tw + 7, ty = head + (o / cols) * th;
            for (int c = 0; c < n_in; c++)
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++) {
                        float v = f[((size_t)c * kh + y) * kw + x];
                        double t = (m > 0 && std::isfinite(v)) ? v / m : 0;
                        // White at zero, towards red (+) or blue (-).
                        double a = std::fabs(t) * 255;
                        cv::Scalar col = t >= 0 ? cv::Scalar(255 - a, 255 - a, 255)
                                                : cv::Scalar(255, 255 - a, 255 - a);
                        cv::rectangle(img,
                                      cv::Rect(tx + c * (kw * z + 4) + x * z, ty + y * z, z, z),
                                      col, cv::FILLED);
                    }
            cv::rectangle(img, cv::Rect(tx - 1, ty - 1, fw + 2, fh + 2), AXIS, 1);
            text_c(img, std::to_string(o), tx + fw / 2, ty + fh + 11, 0.38, AXIS);
        }
        // Legend strip.
        int lw = 200, lx = (img.cols - lw) / 2, ly = img.rows - foot + 12;
        for (int i = 0; i < lw; i++) {
            double t = 2.0 * i / (lw - 1) - 1, a = std::fabs(t) * 255;
            cv::Scalar col = t >= 0 ? cv::Scalar(255 - a, 255 - a, 255)
                                    : cv::Scalar(255, 255 - a, 255 - a);
            cv::line(img, {lx + i, ly}, {lx + i, ly + 10}, col, 1);
        }
        cv::rectangle(img, cv::Rect(lx, ly, lw, 11), AXIS, 1);
        text(img, "-max|w|", lx - 62, ly - 1, 0.4, AXIS);
        text(img, "+max|w|", lx + lw + 6, ly - 1, 0.4, AXIS);
        text_c(img, "0", lx + lw / 2, ly + 20, 0.4, AXIS);
        write(path, img);
        return 0;
    });
}

extern "C" int cvw_draw_feature_maps(const char *path, const char *title,
                                     const uint8_t *faces, int n, int fw, int fh,
                                     const float *maps, int c, int mh, int mw,
                                     int max_maps)
{
    return cvw::guard("cvw_draw_feature_maps", -1, [&]() -> int {
        if (!path || !faces || !maps || n <= 0 || n > 64 || fw <= 0 || fh <= 0 ||
            c <= 0 || mh <= 0 || mw <= 0 || fw > 1024 || fh > 1024 || mh > 1024 || mw > 1024)
            return fail("cvw_draw_feature_maps: bad arguments");
        int m = max_maps > 0 ? std::min(max_maps, c) : c;
        const int tile = 72, gap = 6, left = 10, head = 90;
        int title_w = text_size(title_or(title), 0.65, 2).width + 40;
        cv::Mat img(head + n * (tile + gap) + 10,
                    std::max(left + (m + 1) * (tile + gap) + 10 + gap * 2, title_w), CV_8UC3,
                    WHITE);
        text_c(img, title_or(title), img.cols / 2, 22, 0.65, BLACK, 2);
        text_c(img, "face", left + tile / 2, head - 14, 0.42, BLACK);
        for (int j = 0; j < m; j++)
            text_c(img, std::to_string(j), left + (j + 1) * (tile + gap) + 2 * gap + tile / 2,
                   head - 14, 0.42, AXIS);
        text_c(img, "channel (each scaled to its own min..max, viridis colour map)",
               img.cols / 2, 50, 0.42, AXIS);
        for (int i = 0; i < n; i++) {
            int y = head + i * (tile + gap);
            cv::Mat g(fh, fw, CV_8UC1, const_cast<uint8_t *>(faces + (size_t)i * fw * fh)), big,
                face;
            cv::resize(g, big, cv::Size(tile, tile), 0, 0, cv::INTER_AREA);
            cv::cvtColor(big, face, cv::COLOR_GRAY2BGR);
            paste(img, face, left, y);
            for (int j = 0; j < m; j++) {
                const float *mp = maps + (((size_t)i * c + j) * mh) * mw;
                cv::Mat f(mh, mw, CV_32FC1, const_cast<float *>(mp)), f8, col, tileimg;
                cv::Mat clean;
                f.copyTo(clean);
                cv::patchNaNs(clean, 0);
                double lo, hi;
                cv::minMaxLoc(clean, &lo, &hi);
                clean.convertTo(f8, CV_8U, hi > lo ? 255.0 / (hi - lo) : 0,
                                hi > lo ? -lo * 255.0 / (hi - lo) : 0);
                cv::applyColorMap(f8, col, cv::COLORMAP_VIRIDIS);
                cv::resize(col, tileimg, cv::Size(tile, tile), 0, 0, cv::INTER_NEAREST);
                paste(img, tileimg, left + (j + 1) * (tile + gap) + 2 * gap, y);
            }
        }
        write(path, img);
        return 0;
    });
}

extern "C" int cvw_draw_samples(const char *path, const char *title, const uint8_t *faces,
                                int n, int w, int h, const int *truth, const int *pred,
                                const float *conf, const char *const *names, int k)
{
    return cvw::guard("cvw_draw_samples", -1, [&]() -> int {
        if (!path || !faces || !truth || !pred || !names || n <= 0 || n > 1024 || w <= 0 ||
            h <= 0 || w > 1024 || h > 1024 || k <= 0)
            return fail("cvw_draw_samples: bad arguments");
        int z = std::max(1, (96 + w - 1) / w);
        // Tiles as wide as the widest caption, so captions never touch.
        int text_w = 0;
        for (int i = 0; i < k; i++)
            text_w = std::max(text_w, text_size(std::string("pred: ") +
                                                    (names[i] ? names[i] : "?") + " 100%",
                                                0.42, 1).width);
        int tw = std::max(w * z, text_w) + 12, th = h * z + 46, head = 66;
        int cols = std::min(n, 8), rows = (n + cols - 1) / cols;
        int title_w = text_size(title_or(title), 0.65, 2).width + 40;
        cv::Mat img(head + rows * th + 8, std::max({cols * tw + 12, 420, title_w}), CV_8UC3,
                    WHITE);
        text_c(img, title_or(title), img.cols / 2, 22, 0.65, BLACK, 2);
        int right = 0;
        for (int i = 0; i < n; i++)
            right += truth[i] == pred[i];
        char buf[128];
        std::snprintf(buf, sizeof buf, "%d shown right (green), %d wrong (red)", right,
                      n - right);
        text_c(img, buf, img.cols / 2, 48, 0.45, AXIS);
        int x0 = (img.cols - cols * tw) / 2;
        for (int i = 0; i < n; i++) {
            int x = x0 + (i % cols) * tw + 6, y = head + (i / cols) * th;
            cv::Mat face = gray_tile(faces + (size_t)i * w * h, w, h, z, cv::INTER_LINEAR);
            int fx = x + (tw - 12 - face.cols) / 2;
            paste(img, face, fx, y);
            bool ok = truth[i] == pred[i];
            cv::Scalar c = ok ? GREEN : RED;
            cv::rectangle(img, cv::Rect(fx - 2, y - 2, face.cols + 4, face.rows + 4), c, 2);
            auto nm = [&](int l) {
                return std::string(l >= 0 && l < k && names[l] ? names[l] : "?");
            };
            text_c(img, "true: " + nm(truth[i]), x + (tw - 12) / 2, y + face.rows + 13, 0.42,
                   BLACK);
            std::string ps = "pred: " + nm(pred[i]);
            if (conf) {
                std::snprintf(buf, sizeof buf, " %.0f%%", conf[i] * 100);
                ps += buf;
            }
            text_c(img, ps, x + (tw - 12) / 2, y + face.rows + 31, 0.42, c);
        }
        write(path, img);
        return 0;
    });
}
