// cvw_internal.hpp - shared by the app/cv/*.cpp files: the per-thread error
// message and the exception guard every extern "C" entry point uses.
#ifndef CVW_INTERNAL_HPP
#define CVW_INTERNAL_HPP

#include <exception>
#include <string>

namespace cv {
class Mat;
}

namespace cvw {
void set_error(const std::string &msg);

// img encoded by path's extension and written whole through a temporary
// file (app/common/outpath.h); throws with the reason on failure.
void write_image(const char *path, const cv::Mat &img);

// Run f, turning any C++ exception into an error message and `fail`.
template <typename R, typename F>
R guard(const char *what, R fail, F &&f)
{
    try {
        return f();
    } catch (const std::exception &e) {
        set_error(std::string(what) + ": " + e.what());
    } catch (...) {
        set_error(std::string(what) + ": unknown C++ exception");
    }
    return fail;
}
} // namespace cvw

#endif
