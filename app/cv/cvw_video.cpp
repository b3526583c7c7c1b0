// cvw_video.cpp - capture, detection, video writing (on its way).
#include "cvw.h"
#include "cvw_internal.hpp"
